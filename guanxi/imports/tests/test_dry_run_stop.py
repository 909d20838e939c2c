"""Stopping a dry run from its page: it stops between two batches, as an import does, and ends
cancelled with nothing kept (all it wrote is undone anyway); asked too late, after its last
batch, it finishes and the request stays on record. On SQLite the dry run writes to a copy of
the database while the request is written to the real one, which is where it must look."""

import threading

import pytest
from django.db import connection

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import (
    CancelOutcome,
    import_job_cancel,
    import_job_create,
    import_job_run,
)
from guanxi.imports.tests.test_import_cancel import _imported
from guanxi.imports.tests.test_import_job_runs import CUSTOMERS, INTERACTIONS, ORDERS, _file

# A request to stop comes from another connection, which sees only what has committed.
pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 10
ROWS = 3 * BATCH
KINDS = ["customers", "interactions", "orders"]
# One row of the first batch each importer rejects, so that there are rejected rows to keep or
# to throw away.
REJECTED = {
    "customers": CUSTOMERS + "K99,,not a phone\n",
    "interactions": INTERACTIONS + "I99,NOBODY,phone,来电,2026-03-02\n",
    "orders": ORDERS + "O99,C9,not a day,100\n",
}


def _dry_run(actor, tmp_path, kind: str) -> ImportJob:
    """A queued web dry run of ``ROWS`` rows, the first of them rejected."""
    path, name = _file(tmp_path, kind, ROWS - 1)
    good = path.read_text(encoding="utf-8").splitlines(keepends=True)[1:]
    path.write_text(REJECTED[kind] + "".join(good), encoding="utf-8")
    job = import_job_create(
        actor=actor, path=path, filename=name, kind=kind, via="web", keep_copy=True, dry_run=True
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)  # "start"
    job.refresh_from_db()
    return job


def _asked_to_stop_after(job: ImportJob, actor, rows: int, outcomes: list):
    """A progress callback: once the run has done ``rows`` rows, ``actor`` asks it to stop from
    the job's page, a request on a connection of its own."""
    done = 0

    def cancel():
        try:
            outcomes.append(import_job_cancel(actor=actor, job=ImportJob.objects.get(pk=job.pk)))
        finally:
            connection.close()

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if done == rows and not outcomes:
            thread = threading.Thread(target=cancel)
            thread.start()
            thread.join(30)

    return progress


def _audit(job) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="import", object_id=job.pk).order_by("occurred_at")
    )


@pytest.fixture
def linked(company):
    return CustomerFactory(name="Linked", external_id="C9", owner=company.rep)


@pytest.mark.parametrize("kind", KINDS)
def test_a_dry_run_asked_to_stop_stops_between_batches_and_keeps_nothing(
    company, linked, tmp_path, kind
):
    job = _dry_run(company.rep, tmp_path, kind)
    outcomes = []
    progress = _asked_to_stop_after(job, company.rep, BATCH, outcomes)
    import_job_run(job=job, progress=progress, batch_size=BATCH)

    assert outcomes == [CancelOutcome.STOPPING]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert job.finished_at is not None
    assert job.stopped_by == company.rep and job.cancel_requested_at is not None
    # What it counted went with what it wrote: nothing of it is kept, its rejected rows neither.
    assert (job.rows_read, job.created, job.rejected, job.last_row) == (0, 0, 0, 0)
    assert not ImportRowError.objects.filter(job=job).exists()
    assert _imported(kind) == 0
    asked, stopped = _audit(job)
    assert asked.actor == company.rep and "cancel_requested_at" in asked.changes
    assert stopped.actor == company.rep
    assert stopped.changes["status"] == {"before": "running", "after": "cancelled"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_dry_run_asked_to_stop_after_its_last_batch_finishes_and_keeps_the_request(
    company, linked, tmp_path, kind
):
    job = _dry_run(company.rep, tmp_path, kind)
    outcomes = []
    progress = _asked_to_stop_after(job, company.rep, ROWS, outcomes)
    import_job_run(job=job, progress=progress, batch_size=BATCH)

    assert outcomes == [CancelOutcome.STOPPING]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED
    assert (job.rows_read, job.created, job.rejected) == (ROWS, ROWS - 1, 1)
    assert ImportRowError.objects.filter(job=job).count() == 1
    assert _imported(kind) == 0
    # The request is on record, as its audit row says: the run's end did not write it away.
    assert job.stopped_by == company.rep and job.cancel_requested_at is not None
    (asked,) = _audit(job)
    assert "cancel_requested_at" in asked.changes


@pytest.mark.parametrize(
    ("language", "running", "stopped", "not_said"),
    [
        (
            "en",
            "It stops once the batch being checked is done. A dry run writes nothing.",
            "stopped this dry run before the end of the file. It wrote nothing",
            "stay imported",
        ),
        (
            "zh-hans",
            "正在检查的这一批完成后即停止。试运行不写入任何数据。",
            "在文件结束前停止了此试运行。它没有写入任何数据",
            "保持已导入",
        ),
    ],
)
def test_the_page_of_a_dry_run_says_stopping_it_keeps_nothing(
    client, company, linked, tmp_path, back_to_english, language, running, stopped, not_said
):
    job = _dry_run(company.rep, tmp_path, "customers")
    client.force_login(company.rep)
    client.cookies["django_language"] = language
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert running in page and not_said not in page

    import_job_run(
        job=job,
        progress=_asked_to_stop_after(job, company.rep, BATCH, []),
        batch_size=BATCH,
    )
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert stopped in page and not_said not in page
    assert company.rep.label in page
