"""The row following a merged row of an earlier batch, in the cases around it: a dry run counts
what the import does at every batch size, the other dedup settings are unaffected, and where the
customer the row went into was merged on, merged and unmerged, deleted or given away between an
interruption and the resume, the row goes where a row naming that customer would, or is
rejected saying why; its update is audited as the importer's."""

import pytest
from django.db import transaction

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.imports.customer_import import CustomerImporter
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_run
from guanxi.imports.tests.test_merged_row_followed_across_batches import (
    FILE,
    interrupted_after_first_batch,
    job_counts,
    new_job,
    stored_k1,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "merged.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


@pytest.mark.parametrize("batch_size", [None, 1, 2, 3])
def test_a_dry_run_counts_what_the_import_does_at_every_batch_size(company, path, batch_size):
    stored_k1(company.admin)
    dry = import_job_run(job=new_job(company.admin, path, dry_run=True), batch_size=batch_size)
    assert dry.status == ImportJob.Status.FINISHED, dry.message
    assert not dry.remembered_ids.exists()
    with transaction.atomic():
        real = import_job_run(job=new_job(company.admin, path), batch_size=batch_size)
        real_counts = job_counts(real)
        transaction.set_rollback(True)
    assert job_counts(dry) == real_counts == (4, 2, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("dedup", ["review", "off"])
def test_the_other_dedup_settings_do_alike_at_every_batch_size(company, path, dedup):
    stored_k1(company.admin)
    outcomes = set()
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup=dedup), batch_size=batch_size
            )
            m1 = Customer.objects.get(external_id="M1")
            outcomes.add((job_counts(job), m1.job_title))
            transaction.set_rollback(True)
    assert len(outcomes) == 1, outcomes
    ((counts, job_title),) = outcomes
    assert counts[1:3] == (3, 1) and job_title == "总监"


def test_merged_on_twice_the_row_goes_into_the_last_survivor(company, path):
    k1 = stored_k1(company.admin)
    k2 = customer_create(actor=company.admin, data={"name": "王芳二", "external_id": "K2"})
    k3 = customer_create(actor=company.admin, data={"name": "王芳三", "external_id": "K3"})
    job = interrupted_after_first_batch(company.admin, path, batch_size=2)
    customers_merge(actor=company.admin, survivor_id=k2.pk, merged_id=k1.pk)
    customers_merge(actor=company.admin, survivor_id=k3.pk, merged_id=k2.pk)
    job = import_job_run(job=job, batch_size=2)
    assert job_counts(job) == (4, 2, 1, 1, 0, 0, 0)
    k3.refresh_from_db()
    assert k3.job_title == "总监"


def test_after_an_undone_merge_the_row_goes_into_the_customer_again(company, path):
    k1 = stored_k1(company.admin)
    k2 = customer_create(actor=company.admin, data={"name": "王芳二", "external_id": "K2"})
    job = interrupted_after_first_batch(company.admin, path, batch_size=2)
    merge = customers_merge(actor=company.admin, survivor_id=k2.pk, merged_id=k1.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    job = import_job_run(job=job, batch_size=2)
    assert job_counts(job) == (4, 2, 1, 1, 0, 0, 0)
    k1.refresh_from_db()
    k2.refresh_from_db()
    assert (k1.job_title, k2.job_title) == ("总监", "")


def _rejected_third_row(job: ImportJob) -> str:
    counts = job_counts(job)
    assert counts[:5] == (4, 2, 0, 1, 1)
    assert sum(counts[1:5]) == counts[0]
    (error,) = job.errors.all()
    assert error.row_number == 4  # the header is row 1
    return error.reason_text


def test_the_row_is_rejected_when_the_customer_was_deleted_meanwhile(company, path):
    k1 = stored_k1(company.admin)
    job = interrupted_after_first_batch(company.admin, path, batch_size=2)
    customer_delete(actor=company.admin, customer_id=k1.pk)
    job = import_job_run(job=job, batch_size=2)
    assert "deleted, merged or given to someone else" in _rejected_third_row(job)
    assert not Customer.objects.filter(external_id="M1").exists()


def test_the_row_is_rejected_when_the_customer_is_no_longer_the_importers(company, path):
    k1 = stored_k1(company.rep)
    job = interrupted_after_first_batch(company.rep, path, batch_size=2)
    Customer.objects.filter(pk=k1.pk).update(owner=company.rep_b)
    job = import_job_run(job=job, batch_size=2)
    assert "deleted, merged or given to someone else" in _rejected_third_row(job)
    k1.refresh_from_db()
    assert k1.job_title == "经理"


def test_the_following_rows_update_is_audited_as_the_importers(company, path):
    k1 = stored_k1(company.rep)
    job = interrupted_after_first_batch(company.rep, path, batch_size=2)
    job = import_job_run(job=job, batch_size=2)
    assert job_counts(job) == (4, 2, 1, 1, 0, 0, 0)
    event = AuditEvent.objects.filter(object_type="customer", object_id=k1.pk).latest("pk")
    assert event.actor_id == company.rep.pk
    assert event.action == AuditEvent.Action.UPDATE
    assert event.changes["job_title"] == {"before": "经理", "after": "总监"}
    summary = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT, object_id=job.pk)
    assert summary.actor_id == company.rep.pk
    assert summary.changes["updated"]["after"] == 1


def _merged_away_as_matched(monkeypatch, actor, merged, survivor) -> None:
    """Have ``merged`` merged into ``survivor`` once the first batch is matched, before it locks
    the customers it writes into, as a merge committed at that moment would."""
    original = CustomerImporter._locked_customers

    def merge_first(self, organisations, changes):
        if not Customer.objects.filter(pk=merged.pk, deleted_at__isnull=False).exists():
            customers_merge(actor=actor, survivor_id=survivor.pk, merged_id=merged.pk)
        return original(self, organisations, changes)

    monkeypatch.setattr(CustomerImporter, "_locked_customers", merge_first)


def test_rows_following_one_whose_customer_was_merged_away_as_it_was_written_are_rejected_alike(
    company, path, monkeypatch
):
    """The merged row is rejected (its customer went away after it was matched), and so are the
    rows following it in its batch: so are those of the later batches, rather than going into
    the customer it was merged into, which the merged row itself never reached."""
    k1 = stored_k1(company.admin)
    k2 = customer_create(actor=company.admin, data={"name": "王芳二", "external_id": "K2"})
    _merged_away_as_matched(monkeypatch, company.admin, k1, k2)
    outcomes = {}
    for batch_size in (None, 1, 2, 3):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            assert job.status == ImportJob.Status.FINISHED, job.message
            k2.refresh_from_db()
            reasons = sorted(job.errors.values_list("row_number", "reason"))
            outcomes[batch_size] = (job_counts(job), k2.job_title, reasons)
            transaction.set_rollback(True)
    assert outcomes[None][:2] == ((4, 2, 0, 0, 2, 0, 0), "")
    assert [row for row, _reason in outcomes[None][2]] == [2, 4]
    assert outcomes[1] == outcomes[2] == outcomes[3] == outcomes[None]


def test_a_row_naming_the_customer_after_the_merged_rows_goes_in_after_them_alike(
    company, tmp_path
):
    """A row naming by its external id the customer earlier rows were merged into (and
    followed into) updates it after them, in the file's order, whichever batches they are in."""
    stored_k1(company.admin)
    path = tmp_path / "then-named.csv"
    path.write_text(
        "external_id,name,phone,email,job_title\n"
        "M1,王芳,+86 138 1234 5678,WF@example.com,经理\n"  # merged into K1
        "M1,王芳,,,总监\n"  # follows it into K1
        "K1,王芳,,,顾问\n",  # names K1 itself, last
        encoding="utf-8",
    )
    outcomes = {}
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            assert job.status == ImportJob.Status.FINISHED, job.message
            outcomes[batch_size] = (
                job_counts(job),
                Customer.objects.get(external_id="K1").job_title,
            )
            transaction.set_rollback(True)
    assert outcomes[None] == ((3, 0, 2, 1, 0, 0, 0), "顾问")
    assert outcomes[1] == outcomes[2] == outcomes[None]


def test_a_row_naming_a_customer_by_guanxi_id_with_the_id_of_a_rejected_leader_is_refused_alike(
    company, tmp_path, monkeypatch
):
    """A row with a Guanxi id and the external id of a row rejected once matched (here merged
    into a customer that went away) is refused as in that row's batch, rather than giving the
    id to the customer it names in a later one."""
    k1 = stored_k1(company.admin)
    k2 = customer_create(actor=company.admin, data={"name": "王芳二", "external_id": "K2"})
    other = customer_create(actor=company.admin, data={"name": "赵敏", "phones": ["13500000000"]})
    _merged_away_as_matched(monkeypatch, company.admin, k1, k2)
    path = tmp_path / "by-id.csv"
    path.write_text(
        "id,external_id,name,phone,email\n"
        ",M1,王芳,+86 138 1234 5678,WF@example.com\n"
        f"{other.pk},M1,赵敏,,\n",
        encoding="utf-8",
    )
    outcomes = {}
    for batch_size in (None, 1):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            other.refresh_from_db()
            outcomes[batch_size] = (job_counts(job), other.external_id)
            transaction.set_rollback(True)
    assert outcomes[None] == ((2, 0, 0, 0, 2, 0, 0), None)
    assert outcomes[1] == outcomes[None]
