"""A dry run keeps nobody waiting: on SQLite it writes to a copy of the database, so a rep saving
a customer while it runs is not held up until the whole file is done (and refused with "database
is locked"), and it still counts what the real import then does, rows that follow earlier rows
of the same file included. PostgreSQL runs it in the real database, as before."""

import pytest
from django.db import connection

from guanxi.core.testing.factories import CustomerFactory
from guanxi.core.testing.threads import in_thread
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_update
from guanxi.imports import customer_import
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.readers import TableFile
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

from .test_customer_import import BAD_FILE

# The writer between two batches is another connection: it sees only what has committed.
pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 4
FILES = {
    # The same customer again in the second batch (an update) and typed again in the third
    # (a merge): only found by looking at what the batches before wrote.
    "customers": BAD_FILE + "A10,吴刚,,13600001111,,,,,,,,\n",
    "interactions": "external_id,customer_external_id,channel,subject,occurred_at\n"
    + "".join(f"I{i},C9,phone,来电{i},2026-03-02\n" for i in range(6))
    + "I1,C9,phone,再次来电,2026-03-03\n"  # imported in the first batch: an update
    + "I9,NOBODY,phone,来电,2026-03-02\n",  # no such customer
    "orders": "external_id,customer_external_id,ordered_on,amount\n"
    + "".join(f"O{i},C9,2026-03-02,{100 + i}\n" for i in range(6))
    + "O2,C9,2026-03-02,250\n"  # imported in the first batch: an update
    + "O9,C9,not a day,100\n",
}


def _job(actor, tmp_path, kind: str, *, dry_run: bool) -> ImportJob:
    path = tmp_path / f"{kind}.csv"
    path.write_text(FILES[kind], encoding="utf-8")
    return import_job_create(actor=actor, path=path, filename=path.name, kind=kind, dry_run=dry_run)


def _saved_between_batches(monkeypatch, save) -> dict:
    """As the importer reads the first row of its second batch (the first is written by then),
    ``save`` runs on a thread and connection of its own, as a rep's request would; its outcome
    is returned, ``("ok", …)`` or ``("error", exception, traceback)``."""
    monkeypatch.setattr(customer_import, "BATCH_SIZE", BATCH)
    original = TableFile.rows
    results: dict = {}

    def rows(self, *, start_after=0):
        for number, row in enumerate(original(self, start_after=start_after)):
            if number == BATCH and not results:
                in_thread(save, results, "save").join(60)
            yield row

    monkeypatch.setattr(TableFile, "rows", rows)
    return results


def _outcome(job: ImportJob) -> tuple:
    job.refresh_from_db()
    return (
        job.status,
        job.rows_read,
        job.created,
        job.updated,
        job.merged,
        job.rejected,
        job.unchanged,
        job.queued_for_review,
        sorted(ImportRowError.objects.filter(job=job).values_list("row_number", "reason")),
    )


def _imported(kind: str) -> int:
    if kind == "customers":
        return Customer.objects.filter(external_id__regex=r"^A\d+$").count()
    model = Interaction if kind == "interactions" else Order
    return model.objects.filter(external_id__regex=r"^[IO]\d+$").count()


@pytest.mark.parametrize("kind", ["customers", "interactions", "orders"])
def test_a_dry_run_lets_others_write_between_its_batches_and_counts_what_the_import_does(
    company, tmp_path, monkeypatch, kind
):
    CustomerFactory(name="Linked", external_id="C9", owner=company.admin)
    customer = company.rep_customer

    def rep_saves_a_customer():
        return customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"notes": "Called back during the dry run"},
        )

    dry = _job(company.admin, tmp_path, kind, dry_run=True)
    saved = _saved_between_batches(monkeypatch, rep_saves_a_customer)
    dry = import_job_run(job=dry)

    assert saved["save"][0] == "ok", saved["save"]
    customer.refresh_from_db()
    assert customer.notes == "Called back during the dry run"
    assert _imported(kind) == 0  # the dry run wrote nothing here
    # The same batches (the writer between them is not called again).
    real = import_job_run(job=_job(company.admin, tmp_path, kind, dry_run=False))
    dry_outcome, real_outcome = _outcome(dry), _outcome(real)
    assert dry_outcome == real_outcome
    assert dry_outcome[0] == ImportJob.Status.FINISHED
    assert dry_outcome[3] >= 1  # a row updating one of an earlier batch was seen as such
    if kind == "customers":
        assert dry_outcome[2:6] == (3, 1, 1, 6)
    assert _imported(kind) == real.created


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's copy of the database")
def test_a_dry_run_inside_a_transaction_runs_there(company, tmp_path):
    # A caller's open transaction holds SQLite's write lock to its end anyway: the dry run
    # runs in it, rolled back, and leaves the caller's connection as it found it.
    from django.db import transaction

    job = _job(company.admin, tmp_path, "customers", dry_run=True)
    with transaction.atomic():
        connection_before = connection.connection
        job = import_job_run(job=job)
        assert connection.connection is connection_before
    assert _outcome(job)[2:6] == (3, 1, 1, 6)
    assert _imported("customers") == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's copy of the database")
def test_the_copy_is_removed_after_the_dry_run_however_it_ends(company, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()

    def fail(self, *args):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(customer_import.CustomerImporter, "_run_batch", fail)
    job = _job(company.admin, tmp_path, "customers", dry_run=True)
    with pytest.raises(RuntimeError):
        import_job_run(job=job)
    assert list((tmp_path / "scratch").iterdir()) == []
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "the disk is full" in job.message
