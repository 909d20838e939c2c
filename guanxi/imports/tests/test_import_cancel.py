"""Stopping a web import and discarding one that stopped: a running import asked to stop stops
between two batches with the batches before written and every row read accounted for; a queued
one stopped before its task runs never runs; double clicks do it once; its starter and
administrators may; neither the web nor ``--resume`` carries on a cancelled or discarded one."""

import threading

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.imports import customer_import
from guanxi.imports.job_locks import job_runner_present
from guanxi.imports.models import ImportJob
from guanxi.imports.readers import TableFile
from guanxi.imports.services import CancelOutcome, import_job_cancel, import_job_discard
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


@pytest.fixture
def back_to_english():
    # The language a request activates stays active in the thread after it.
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
