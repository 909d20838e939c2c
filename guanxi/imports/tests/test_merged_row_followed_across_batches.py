"""A row with the external id of an earlier row that was merged into a customer keeping another
id follows it into that customer, as an update, whichever batch it is in and whether or not the
import was interrupted between the two. (In a later batch, or after a resume, it was matched on
its own and made a customer of its own.)"""

import pytest
from django.db import transaction

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customers_merge
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.imports.tests.test_batch_boundaries import Stop

pytestmark = pytest.mark.django_db

FILE = (
    "external_id,name,phone,email,job_title\n"
    # Merged into K1, which keeps its id: it fills the job title K1 lacks.
    "M1,王芳,+86 138 1234 5678,WF@example.com,经理\n"
    "N1,李雷,13700000001,,\n"  # a new customer
    # Follows the merged row into K1: a phone added, the job title replaced.
    "M1,王芳,13900000001,,总监\n"
    "N2,韩梅梅,13700000002,,\n"  # a new customer
)


def stored_k1(owner) -> Customer:
    """The stored customer the file's first row merges into, keeping its own external id."""
    return customer_create(
        actor=owner,
        data={
            "name": "王芳",
            "external_id": "K1",
            "phones": ["13812345678"],
            "emails": ["wf@example.com"],
        },
    )


@pytest.fixture
def path(company, tmp_path):
    stored_k1(company.admin)
    path = tmp_path / "merged.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


def job_counts(job: ImportJob) -> tuple:
    """The job's counts, as stored."""
    job.refresh_from_db()
    return (
        job.rows_read,
        job.created,
        job.updated,
        job.merged,
        job.rejected,
        job.unchanged,
        job.queued_for_review,
    )


def _outcome(job: ImportJob) -> tuple:
    """The job's counts and rejected rows, and every customer as it was left."""
    counts = job_counts(job)
    reasons = {error.row_number: error.reason_text for error in job.errors.all()}
    customers = sorted(
        (
            customer.external_id or "",
            customer.name,
            customer.job_title,
            sorted(customer.phones.values_list("number", flat=True)),
            sorted(customer.emails.values_list("address", flat=True)),
        )
        for customer in Customer.objects.filter(deleted_at__isnull=True)
    )
    return counts, reasons, customers


def new_job(actor, path, **extra) -> ImportJob:
    return import_job_create(actor=actor, path=path, filename=path.name, kind="customers", **extra)


def interrupted_after_first_batch(actor, path, batch_size) -> ImportJob:
    """A ``--dedup auto`` import of the file, stopped after its first batch."""
    job = new_job(actor, path, dedup="auto")
    batches = []

    def interrupt(count):
        # Called in the batch's transaction: raised at the second, the first batch stays.
        batches.append(count)
        if len(batches) > 1:
            raise Stop

    with pytest.raises(Stop):
        import_job_run(job=job, batch_size=batch_size, progress=interrupt)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED
    return job


def _imported(actor, path, batch_size=None) -> tuple:
    """The outcome of importing the file, undone afterwards."""
    with transaction.atomic():
        job = import_job_run(job=new_job(actor, path, dedup="auto"), batch_size=batch_size)
        assert job.status == ImportJob.Status.FINISHED, job.message
        outcome = _outcome(job)
        transaction.set_rollback(True)
    return outcome


def _resumed(actor, path, batch_size) -> tuple:
    """The outcome of importing the file, interrupted after its first batch and resumed."""
    with transaction.atomic():
        job = interrupted_after_first_batch(actor, path, batch_size)
        assert (job.status, job.rows_read) == (ImportJob.Status.INTERRUPTED, batch_size)
        job = import_job_run(job=job, batch_size=batch_size)
        assert job.status == ImportJob.Status.FINISHED, job.message
        outcome = _outcome(job)
        transaction.set_rollback(True)
    return outcome


def test_the_row_follows_the_merged_one_whichever_batch_it_is_in(company, path):
    whole = _imported(company.admin, path)
    counts, reasons, customers = whole
    assert counts == (4, 2, 1, 1, 0, 0, 0)
    assert reasons == {}
    assert ("K1", "王芳", "总监", ["+8613812345678", "+8613900000001"], ["wf@example.com"]) in (
        customers
    )
    assert not [c for c in customers if c[0] == "M1"]
    assert _imported(company.admin, path, batch_size=2) == whole
    assert _imported(company.admin, path, batch_size=1) == whole


def test_a_resumed_import_follows_the_merged_row_as_an_uninterrupted_one(company, path):
    whole = _imported(company.admin, path)
    assert _resumed(company.admin, path, batch_size=2) == whole
    assert _resumed(company.admin, path, batch_size=1) == whole


def test_the_customer_merged_away_since_stands_for_the_one_it_was_merged_into(company, path):
    """K1 merged into another customer between the interruption and the resume: the following
    row goes where K1 lives on, as a row naming K1's external id would."""
    survivor = customer_create(
        actor=company.admin, data={"name": "王芳芳", "external_id": "K2", "phones": ["13600000000"]}
    )
    job = interrupted_after_first_batch(company.admin, path, batch_size=2)
    k1 = Customer.objects.get(external_id="K1")
    customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=k1.pk)
    job = import_job_run(job=job, batch_size=2)
    assert job.status == ImportJob.Status.FINISHED, job.message
    assert (job.created, job.updated, job.merged, job.rejected) == (2, 1, 1, 0)
    survivor.refresh_from_db()
    assert survivor.job_title == "总监"
    assert "+8613900000001" in survivor.phones.values_list("number", flat=True)
    assert not Customer.objects.filter(external_id="M1").exists()


def test_a_row_naming_a_customer_by_guanxi_id_with_the_merged_rows_id_is_refused_alike(
    company, tmp_path
):
    """A row with a Guanxi id and the external id of a merged row is refused as in the merged
    row's batch, rather than giving that id to the customer it names once in a later batch."""
    stored_k1(company.admin)
    other = customer_create(actor=company.admin, data={"name": "赵敏", "phones": ["13500000000"]})
    path = tmp_path / "by-id.csv"
    path.write_text(
        "id,external_id,name,phone,email\n"
        ",M1,王芳,+86 138 1234 5678,WF@example.com\n"  # merged into K1, which keeps its id
        f"{other.pk},M1,赵敏,,\n",  # names another customer than the one M1 went into
        encoding="utf-8",
    )
    whole = _imported(company.admin, path)
    counts, reasons, customers = whole
    assert counts[4] == 1 and list(reasons) == [3]
    assert not [c for c in customers if c[0] == "M1"]
    assert _imported(company.admin, path, batch_size=1) == whole
