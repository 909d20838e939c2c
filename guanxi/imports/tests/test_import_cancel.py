"""Stopping a web import and discarding one that stopped: a running import asked to stop stops
between two batches with the batches before written and every row read accounted for; a queued
one stopped before its task runs never runs; double clicks do it once; its starter and
administrators may; neither the web nor ``--resume`` carries on a cancelled or discarded one."""

import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.imports import customer_import, views
from guanxi.imports.job_locks import job_runner_present
from guanxi.imports.models import ImportJob
from guanxi.imports.readers import TableFile
from guanxi.imports.services import (
    CancelOutcome,
    import_job_cancel,
    import_job_create,
    import_job_discard,
)
from guanxi.imports.tasks import run_import_job
from guanxi.imports.tests.test_import_job_runs import _file, _queue, _Runner, _web_job
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db
# A request to stop comes from another connection, which sees only what has committed.
THREADS = pytest.mark.django_db(transaction=True)

BATCH = 10


def _when_the_second_batch_is_read(monkeypatch, *, cancel_as=None, stop=None) -> list:
    """As the importer reads the first row of the second batch (the first batch has committed
    by then: every importer reads a batch only once the one before is written), ``cancel_as``
    asks the job to stop, from a connection of its own as a web request would (on PostgreSQL
    the runner's own session could take the job's lock again), and ``stop`` is raised where a
    signal would land. Returns what the request to stop returned."""
    monkeypatch.setattr(customer_import, "BATCH_SIZE", BATCH)
    original = TableFile.rows
    returned = []

    def cancel():
        try:
            returned.append(import_job_cancel(actor=cancel_as, job=ImportJob.objects.get()))
        finally:
            connection.close()

    def rows(self, *, start_after=0):
        for number, row in enumerate(original(self, start_after=start_after)):
            if number == BATCH:
                if cancel_as is not None and not returned:
                    thread = threading.Thread(target=cancel)
                    thread.start()
                    thread.join(30)
                if stop is not None:
                    raise stop
            yield row

    monkeypatch.setattr(TableFile, "rows", rows)
    return returned


def _imported(kind: str) -> int:
    if kind == "customers":
        return Customer.objects.filter(name__startswith="客户K").count()
    return (
        {"interactions": Interaction, "orders": Order}[kind]
        .objects.filter(external_id__regex=r"^[IO]\d+$")
        .count()
    )


def _audit(job) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="import", object_id=job.pk).order_by("occurred_at")
    )


# --- stopping a running import -------------------------------------------------------------


@THREADS
@pytest.mark.parametrize("kind", ["customers", "interactions", "orders"])
def test_a_running_import_asked_to_stop_stops_after_the_batch_in_hand(
    company, tmp_path, monkeypatch, kind
):
    CustomerFactory(name="Linked", external_id="C9", owner=company.rep)
    job = _web_job(company.rep, tmp_path, kind)
    # A real request to stop, through the service, while the task holds the job.
    outcomes = _when_the_second_batch_is_read(monkeypatch, cancel_as=company.rep)
    run_import_job.call(job.pk)

    assert outcomes == [CancelOutcome.STOPPING]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert (job.rows_read, job.last_row) == (BATCH, BATCH + 1)  # the header is row 1
    assert job.accounted == job.rows_read == job.created + job.rejected
    assert job.created == BATCH and _imported(kind) == BATCH
    assert job.stopped_by == company.rep and job.finished_at is not None
    assert not job_runner_present(job.pk)
    asked, stopped = _audit(job)
    assert asked.actor == company.rep
    assert "cancel_requested_at" in asked.changes
    assert stopped.actor == company.rep
    assert stopped.changes["status"] == {"before": "running", "after": "cancelled"}
    assert stopped.changes["rows_read"]["after"] == BATCH
    assert stopped.changes["created"]["after"] == BATCH


@THREADS
@pytest.mark.parametrize("stop", [SystemExit(1), OSError("No space left on device")])
def test_a_run_asked_to_stop_and_then_interrupted_is_left_cancelled_not_to_carry_on(
    company, tmp_path, monkeypatch, stop
):
    # The worker is shut down (or the run fails) before the runner reaches the end of the
    # batch in hand: the request to stop still stands, so the job is not offered to carry on.
    job = _web_job(company.rep, tmp_path)
    _when_the_second_batch_is_read(monkeypatch, cancel_as=company.rep, stop=stop)
    with pytest.raises(type(stop)):
        run_import_job.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.CANCELLED, BATCH, BATCH)
    # Recorded as one stopped between two batches is: when it ended, and with its counts.
    assert job.finished_at is not None
    _asked, stopped = _audit(job)
    assert stopped.actor == company.rep
    assert stopped.changes["status"] == {"before": "running", "after": "cancelled"}
    assert stopped.changes["rows_read"]["after"] == BATCH
    assert stopped.changes["created"]["after"] == BATCH


@THREADS
def test_an_import_that_finishes_before_its_runner_sees_the_request_stays_finished(
    company, tmp_path, monkeypatch
):
    job = _web_job(company.rep, tmp_path, count=BATCH)
    monkeypatch.setattr(customer_import, "BATCH_SIZE", BATCH)
    original = customer_import.CustomerImporter._prepared_batches
    outcomes = []

    def cancel():
        try:
            outcomes.append(import_job_cancel(actor=company.rep, job=ImportJob.objects.get()))
        finally:
            connection.close()

    def then_asked_to_stop(self, *args):
        yield from original(self, *args)
        # The last batch has committed: the request comes too late to stop anything.
        thread = threading.Thread(target=cancel)
        thread.start()
        thread.join(30)

    monkeypatch.setattr(customer_import.CustomerImporter, "_prepared_batches", then_asked_to_stop)
    run_import_job.call(job.pk)
    job.refresh_from_db()
    assert outcomes == [CancelOutcome.STOPPING]
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, BATCH)
    # Nor is it said to have been cancelled when asked to carry it on: it finished.
    monkeypatch.undo()
    path, _name = _file(tmp_path, "customers", BATCH)
    with pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(path), "--resume", "--user", "rep")
    assert "There is no unfinished import of this file to resume" in str(refusal.value)
    assert "cancelled" not in str(refusal.value)


# --- stopping a queued import --------------------------------------------------------------


def test_a_queued_import_stopped_before_its_task_runs_never_runs(client, company, tmp_path):
    job = _web_job(company.rep, tmp_path)
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'action="/imports/{job.pk}/cancel/"' in page and "Stop this import" in page

    response = client.post(f"/imports/{job.pk}/cancel/", follow=True)
    assert response.redirect_chain == [(f"/imports/{job.pk}/", 302)]
    page = response.content.decode()
    assert "The import is cancelled." in page
    assert f"{company.rep.label} cancelled this import before it imported any row." in page
    assert "Stop this import" not in page and "Carry on" not in page

    run_import_job.call(job.pk)  # the task queued when it was started
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.started_at) == (ImportJob.Status.CANCELLED, 0, None)
    assert _imported("customers") == 0
    (event,) = _audit(job)
    assert (event.actor, event.via) == (company.rep, "web")
    assert event.changes["status"] == {"before": "queued", "after": "cancelled"}


def test_a_queued_import_asked_to_stop_while_its_task_takes_it_up_imports_nothing(
    company, tmp_path
):
    # The task has just taken the job's lock: the request is left for it, and it stops before
    # reading a row.
    job = _web_job(company.rep, tmp_path)
    with _Runner(job.pk):
        assert import_job_cancel(actor=company.rep, job=job) == CancelOutcome.STOPPING
    run_import_job.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.CANCELLED, 0, 0)
    assert _imported("customers") == 0


# --- double clicks -------------------------------------------------------------------------


def test_stopping_twice_stops_once(client, company, tmp_path):
    queued = _web_job(company.rep, tmp_path)
    running = _web_job(company.rep, tmp_path, prefix="R")
    ImportJob.objects.filter(pk=running.pk).update(status=ImportJob.Status.RUNNING)
    client.force_login(company.rep)
    with _Runner(running.pk):
        first = client.post(f"/imports/{running.pk}/cancel/", follow=True).content.decode()
        assert "The import stops once the batch being written is done." in first
        assert "asked this import to stop" in first and "Stop this import" not in first
        again = client.post(f"/imports/{running.pk}/cancel/", follow=True).content.decode()
        assert "stopped, stopping or finished already" in again
    client.post(f"/imports/{queued.pk}/cancel/")
    again = client.post(f"/imports/{queued.pk}/cancel/", follow=True).content.decode()
    assert "stopped, stopping or finished already" in again
    assert len(_audit(queued)) == len(_audit(running)) == 1


def test_discarding_twice_discards_once_and_keeps_what_was_imported(
    client, company, tmp_path, monkeypatch
):
    job = _web_job(company.rep, tmp_path)
    _when_the_second_batch_is_read(monkeypatch, stop=SystemExit(1))
    with pytest.raises(SystemExit):
        run_import_job.call(job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'action="/imports/{job.pk}/discard/"' in page and "Carry on with the import" in page
    assert "discarding does not undo them" in page

    response = client.post(f"/imports/{job.pk}/discard/", follow=True)
    page = response.content.decode()
    assert "The import is discarded. The rows it imported stay." in page
    assert f"{company.rep.label} discarded this import after row 11." in page
    assert "Carry on with the import" not in page and "Discard this import" not in page
    again = client.post(f"/imports/{job.pk}/discard/", follow=True).content.decode()
    assert "discarded, running or finished already" in again
    job.refresh_from_db()
    assert (job.status, job.stopped_by, job.created) == (
        ImportJob.Status.DISCARDED,
        company.rep,
        BATCH,
    )
    assert _imported("customers") == BATCH  # discarding undoes nothing
    (event,) = _audit(job)
    assert event.changes["status"] == {"before": "interrupted", "after": "discarded"}
    listed = client.get("/imports/").content.decode()
    assert 'badge-status-discarded">Discarded<' in listed


def test_a_running_import_is_not_discarded(company, tmp_path):
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with _Runner(job.pk):
        assert not import_job_discard(actor=company.rep, job=job)
    assert job.status == ImportJob.Status.RUNNING


def test_an_abandoned_import_is_discarded(company, tmp_path):
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)  # killed
    assert import_job_discard(actor=company.rep, job=job)
    assert job.status == ImportJob.Status.DISCARDED


def test_an_abandoned_import_asked_to_stop_is_not_said_to_carry_on(client, company, tmp_path):
    # Asked to stop, and then its runner was killed: nobody may carry it on any more.
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, cancel_requested_at=timezone.now(), stopped_by=company.rep
    )
    for user in (company.rep, company.admin):
        client.force_login(user)
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "Carry on with the import" not in page
        assert "can carry it on from this page" not in page
        assert "Nothing is running this import any more" in page


# --- who may ---------------------------------------------------------------------------------


def test_the_starter_and_administrators_may_stop_an_import_and_nobody_else(
    client, company, tmp_path
):
    job = _web_job(company.rep, tmp_path)
    for outsider in (company.teammate, company.manager, company.analyst):
        client.force_login(outsider)  # they do not see it at all
        assert client.post(f"/imports/{job.pk}/cancel/").status_code == 404
        assert client.post(f"/imports/{job.pk}/discard/").status_code == 404
    client.force_login(company.rep)
    assert client.get(f"/imports/{job.pk}/cancel/").status_code == 405
    assert client.get(f"/imports/{job.pk}/discard/").status_code == 405
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and _audit(job) == []

    # An administrator stops a colleague's import (nothing is written in the colleague's
    # name by stopping it), and is named for it.
    client.force_login(company.admin)
    assert "Stop this import" in client.get(f"/imports/{job.pk}/").content.decode()
    page = client.post(f"/imports/{job.pk}/cancel/", follow=True).content.decode()
    assert f"{company.admin.label} cancelled this import" in page
    job.refresh_from_db()
    assert (job.status, job.stopped_by) == (ImportJob.Status.CANCELLED, company.admin)
    assert _audit(job)[0].actor == company.admin


def test_command_line_imports_are_stopped_on_the_command_line(client, company, tmp_path):
    path, name = _file(tmp_path, "customers", 30)
    job = ImportJob.objects.create(
        kind="customers", filename=name, path=str(path), started_by=company.rep, via="cli"
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Discard this import" not in page and "Stop this import" not in page
    assert client.post(f"/imports/{job.pk}/cancel/").status_code == 403
    assert client.post(f"/imports/{job.pk}/discard/").status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED


# --- not carried on afterwards ----------------------------------------------------------------


@THREADS
@pytest.mark.parametrize("end", ["cancel", "discard"])
def test_a_cancelled_or_discarded_import_is_not_carried_on(
    client, company, tmp_path, monkeypatch, end
):
    job = _web_job(company.rep, tmp_path)
    if end == "cancel":
        _when_the_second_batch_is_read(monkeypatch, cancel_as=company.rep)
        run_import_job.call(job.pk)
    else:
        _when_the_second_batch_is_read(monkeypatch, stop=SystemExit(1))
        with pytest.raises(SystemExit):
            run_import_job.call(job.pk)
        import_job_discard(actor=company.rep, job=job)
    monkeypatch.undo()
    job.refresh_from_db()
    status = job.status
    assert status in (ImportJob.Status.CANCELLED, ImportJob.Status.DISCARDED)

    # Not from the web ...
    queued = _queue(monkeypatch)
    client.force_login(company.rep)
    assert "Carry on with the import" not in client.get(f"/imports/{job.pk}/").content.decode()
    client.post(f"/imports/{job.pk}/resume/")
    assert queued == []
    # ... nor from the command line with the same file ...
    path, _name = _file(tmp_path, "customers", 30)
    with pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(path), "--resume", "--user", "rep")
    how = "cancelled" if end == "cancel" else "discarded"
    assert f"Import #{job.pk} of this file was {how} by rep after row 11" in str(refusal.value)
    assert "Run without --resume" in str(refusal.value) and refusal.value.returncode == 2
    # ... nor by its task, queued again somehow.
    run_import_job.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_read) == (status, BATCH)
    assert _imported("customers") == BATCH


@THREADS
def test_a_web_import_carried_on_from_the_command_line_and_stopped_from_its_page_fails(
    company, tmp_path, monkeypatch
):
    # --resume takes up the starter's web import too, and its page can still stop it.
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    _when_the_second_batch_is_read(monkeypatch, cancel_as=company.admin)
    path, _name = _file(tmp_path, "customers", 30)
    with pytest.raises(CommandError) as stopped:
        call_command("import", "customers", str(path), "--resume", "--user", "rep")
    assert f"Import #{job.pk} was stopped by admin" in str(stopped.value)
    assert "not carried on" in str(stopped.value) and stopped.value.returncode == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED


def test_the_buttons_and_what_they_say_are_in_chinese(client, company, tmp_path, back_to_english):
    job = _web_job(company.rep, tmp_path)
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Stop this import" not in page and "停止此导入" in page
    page = client.post(f"/imports/{job.pk}/cancel/", follow=True).content.decode()
    assert "导入已取消。" in page and "已取消" in page


def test_stopping_reads_the_job_once_per_batch(company, tmp_path, monkeypatch):
    """The check costs one read of the job's row per batch, not per row."""
    job = _web_job(company.rep, tmp_path)
    monkeypatch.setattr(customer_import, "BATCH_SIZE", BATCH)
    with CaptureQueriesContext(connection) as queries:
        run_import_job.call(job.pk)
    checks = [q for q in queries if '"cancel_requested_at" IS NOT NULL' in q["sql"]]
    assert len(checks) == 1 + 30 // BATCH  # before the file is opened, then before each batch


# --- discarding an upload that was never started ----------------------------------------------


def _draft(actor, tmp_path, rows: int = 3) -> ImportJob:
    """An upload whose columns are not confirmed yet, as the upload page leaves it."""
    path, name = _file(tmp_path, "customers", rows)
    return import_job_create(
        actor=actor,
        path=path,
        filename=name,
        kind="customers",
        via="web",
        keep_copy=True,
        check_mapping=False,
    )


def test_a_draft_is_discarded_from_its_page_once_and_its_file_deleted(
    client, company, tmp_path, monkeypatch, uploads, django_capture_on_commit_callbacks
):
    job = _draft(company.rep, tmp_path)
    upload = Path(job.path)
    assert upload.parent == uploads and upload.exists()
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert f'action="/imports/{job.pk}/discard/"' in page and ">Discard</button>" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/discard/")
    assert response["Location"] == f"/imports/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "The upload is discarded; nothing was imported from it." in page
    assert f"{company.rep.label} discarded this import before it started" in page
    assert "The uploaded file has been deleted" in page
    assert ">Discard</button>" not in page
    assert not upload.exists()
    job.refresh_from_db()
    assert (job.status, job.stopped_by) == (ImportJob.Status.DISCARDED, company.rep)
    (event,) = _audit(job)
    assert (event.actor, event.via) == (company.rep, "web")
    assert event.changes["status"] == {"before": "draft", "after": "discarded"}
    assert "discarded before it started" in event.summary

    # A second click, and the mapping form left open in another tab, change nothing.
    again = client.post(f"/imports/{job.pk}/discard/", follow=True).content.decode()
    assert "discarded, running or finished already" in again
    queued = _queue(monkeypatch)
    form = {"map_0": "external_id", "map_1": "name", "map_2": "phone"}
    response = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "start"})
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert queued == [] and len(_audit(job)) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DISCARDED and _imported("customers") == 0


def test_an_administrator_may_discard_a_colleagues_draft_and_nobody_else(
    client, company, tmp_path, uploads, django_capture_on_commit_callbacks
):
    job = _draft(company.rep, tmp_path)
    for outsider in (company.teammate, company.manager):
        client.force_login(outsider)
        assert client.post(f"/imports/{job.pk}/discard/").status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT and Path(job.path).exists()

    client.force_login(company.admin)
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert "Only" in page and ">Discard</button>" in page  # may not start it, may discard it
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/discard/")
    job.refresh_from_db()
    assert (job.status, job.stopped_by) == (ImportJob.Status.DISCARDED, company.admin)
    assert _audit(job)[0].actor == company.admin and not Path(job.path).exists()


def test_a_draft_started_meanwhile_is_not_discarded(
    company, tmp_path, uploads, django_capture_on_commit_callbacks
):
    # The page showed the draft; its uploader started it in another tab since.
    job = _draft(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        assert not import_job_discard(actor=company.rep, job=job)
    assert job.status == ImportJob.Status.QUEUED and Path(job.path).exists()
    assert _audit(job) == []


# --- the uploaded file of an import that ended -------------------------------------------------


def _rejecting_web_job(actor, tmp_path) -> ImportJob:
    """A web import of 30 rows, every third one rejected (no name)."""
    path = tmp_path / "mixed.csv"
    path.write_text(
        "external_id,name,phone\n"
        + "".join(f"K{i},{'' if i % 3 == 0 else f'客户K{i:03d}'},\n" for i in range(30)),
        encoding="utf-8",
    )
    job = import_job_create(
        actor=actor, path=path, filename=path.name, kind="customers", via="web", keep_copy=True
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    job.refresh_from_db()
    return job


@THREADS
@pytest.mark.parametrize("end", ["stopped while running", "discarded after stopping"])
def test_the_file_of_an_import_that_ended_is_deleted_and_its_rejected_rows_stay(
    client, company, tmp_path, monkeypatch, uploads, end
):
    job = _rejecting_web_job(company.rep, tmp_path)
    upload = Path(job.path)
    if end == "stopped while running":
        _when_the_second_batch_is_read(monkeypatch, cancel_as=company.rep)
        run_import_job.call(job.pk)
    else:
        _when_the_second_batch_is_read(monkeypatch, stop=SystemExit(1))
        with pytest.raises(SystemExit):
            run_import_job.call(job.pk)
        assert upload.exists()  # interrupted: it may be carried on, from this file
        import_job_discard(actor=company.rep, job=job)
    job.refresh_from_db()
    assert job.status in (ImportJob.Status.CANCELLED, ImportJob.Status.DISCARDED)
    assert not upload.exists() and job.rejected == 4  # rows 0, 3, 6, 9 of the first batch

    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "The uploaded file has been deleted" in page
    assert "The rejected rows can still be downloaded above." in page
    assert f'href="/imports/{job.pk}/errors.csv"' in page
    errors = client.get(f"/imports/{job.pk}/errors.csv").content.decode("utf-8-sig")
    lines = errors.splitlines()
    assert lines[0] == "external_id,name,phone,import_row,import_error"
    assert len(lines) == 5 and lines[1].startswith("K0,,,2,")


def test_a_queued_import_cancelled_has_its_file_deleted(
    client, company, tmp_path, uploads, django_capture_on_commit_callbacks
):
    job = _web_job(company.rep, tmp_path)
    client.force_login(company.rep)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/cancel/")
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert not Path(job.path).exists()
    assert "The uploaded file has been deleted, as the import will not be carried on." in page
    assert "rejected rows can still be downloaded" not in page  # there are none


def test_the_file_of_an_import_made_before_headers_were_kept_gives_its_header_first(
    company, tmp_path, uploads, django_capture_on_commit_callbacks
):
    # Its error file was written with the header read from the file: kept before deleting it.
    job = _rejecting_web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(header=[], status=ImportJob.Status.INTERRUPTED)
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert import_job_discard(actor=company.rep, job=job)
    job.refresh_from_db()
    assert job.header == ["external_id", "name", "phone"] and not Path(job.path).exists()


def test_a_file_outside_the_uploads_is_never_deleted(
    company, tmp_path, uploads, django_capture_on_commit_callbacks
):
    # A web import carried on from the command line reads the user's own file from then on.
    job = _web_job(company.rep, tmp_path)
    own, _name = _file(tmp_path, "customers", 30)
    ImportJob.objects.filter(pk=job.pk).update(path=str(own), status=ImportJob.Status.INTERRUPTED)
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert import_job_discard(actor=company.rep, job=job)
    assert own.exists()


# --- command-line imports are stopped where they run ------------------------------------------


def test_a_running_command_line_import_says_it_is_stopped_with_ctrl_c(
    client, company, tmp_path, back_to_english
):
    path, name = _file(tmp_path, "customers", 30)
    job = ImportJob.objects.create(
        kind="customers", filename=name, path=str(path), started_by=company.rep, via="cli"
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    client.force_login(company.rep)
    with _Runner(job.pk):
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "Stop this import" not in page
        assert "cannot be stopped from this page: press Ctrl-C in the terminal" in page
        assert client.post(f"/imports/{job.pk}/cancel/").status_code == 403
        client.cookies["django_language"] = "zh-hans"
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "Ctrl-C" in page and "命令行" in page and "press Ctrl-C" not in page
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and job.cancel_requested_at is None


def test_discarding_an_upload_is_in_chinese(
    client, company, tmp_path, uploads, back_to_english, django_capture_on_commit_callbacks
):
    job = _draft(company.rep, tmp_path)
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert ">Discard</button>" not in page and ">放弃</button>" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/discard/")
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "nothing was imported" not in page and "deleted" not in page
    assert "上传的文件已删除" in page


def test_a_mapping_page_whose_draft_is_discarded_as_it_loads_goes_to_the_job(
    client, company, tmp_path, monkeypatch, uploads, django_capture_on_commit_callbacks
):
    # An administrator discards the upload just after the uploader's request has read the job.
    job = _draft(company.rep, tmp_path)
    open_table = views.open_table

    def discarded_first(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            import_job_discard(actor=company.admin, job=ImportJob.objects.get(pk=job.pk))
        return open_table(*args, **kwargs)

    monkeypatch.setattr(views, "open_table", discarded_first)
    client.force_login(company.rep)
    response = client.post(f"/imports/{job.pk}/mapping/", {"map_0": "name", "action": "check"})
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "discarded, running or finished already" in page
    assert f"{company.admin.label} discarded this import before it started" in page
