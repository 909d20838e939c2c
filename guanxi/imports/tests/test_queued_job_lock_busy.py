"""A queued import whose task finds the job's lock held is run all the same, a moment later.

The lock is held a moment by whoever discards, cancels or queues a job again. A discard clicked
as the job was started from its mapping page holds it while it finds the job queued (and so
changes nothing): the task, taking the job up then, used to give up, and the job said "queued"
for ever with nothing behind it. Now the task tries again: queued again for a few seconds later
by the database worker, or waiting where tasks run at once. A job found running (its runner
holds the lock) is left to that runner, and nothing is imported twice."""

import datetime as dt
import threading
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from guanxi.customers.models import Customer
from guanxi.imports import services, tasks
from guanxi.imports.job_locks import job_lock
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_discard
from guanxi.imports.tasks import run_import_job
from guanxi.imports.tests.test_import_job_runs import _Runner, _web_job

pytestmark = pytest.mark.django_db

QUEUED_LATER = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def _queued_later() -> list:
    """The tasks queued for later (the backend that keeps them, as the database's does)."""
    return run_import_job.get_backend().results


def _imported() -> int:
    return Customer.objects.filter(name__startswith="客户K").count()


@pytest.mark.django_db(transaction=True)
def test_a_queued_job_found_locked_is_queued_again_and_run_once_free(company, tmp_path, settings):
    settings.TASKS = QUEUED_LATER
    job = _web_job(company.rep, tmp_path, dedup="off")
    with _Runner(job.pk):  # another connection holds the job's lock
        before = timezone.now()
        run_import_job.call(job.pk)
        job.refresh_from_db()
        assert job.status == ImportJob.Status.QUEUED and job.rows_read == 0
        (again,) = _queued_later()
        assert again.args == [job.pk] and again.task.func is run_import_job.func
        assert again.task.run_after >= before + dt.timedelta(seconds=tasks.RETRY_SECONDS)
    # The lock let go, the task queued again runs the job; the first task run again (a queue
    # that delivered it twice) finds it finished and does nothing.
    again.task.call(*again.args)
    run_import_job.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.FINISHED, 30, 30)
    assert _imported() == 30
    assert len(_queued_later()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_running_job_found_locked_is_left_to_its_runner(company, tmp_path, settings):
    settings.TASKS = QUEUED_LATER
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with _Runner(job.pk):
        run_import_job.call(job.pk)
    assert _queued_later() == []
    job.refresh_from_db()
    assert (job.status, job.rows_read) == (ImportJob.Status.RUNNING, 0)
    assert _imported() == 0


@pytest.mark.django_db(transaction=True)
def test_where_tasks_run_at_once_the_task_waits_for_the_lock_and_runs_the_job(
    company, tmp_path, monkeypatch
):
    monkeypatch.setattr(tasks, "RETRY_SECONDS", 0.2)
    job = _web_job(company.rep, tmp_path, dedup="off")
    runner = _Runner(job.pk).__enter__()
    # Let go while the task waits (past the second it first tries for).
    timer = threading.Timer(1.5, runner.__exit__)
    timer.start()
    try:
        run_import_job.call(job.pk)
    finally:
        timer.join(10)
        runner.__exit__()
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)
    assert _imported() == 30


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a discard and a start at once need PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_discard_and_a_start_at_once_leave_the_job_run_not_queued_for_ever(
    company, tmp_path, settings, monkeypatch
):
    """The race as it happens: the mapping page has marked the draft queued (not committed
    yet) when the discard takes the job's lock and waits for the row; the task is taken up as
    the start commits, while the discard still holds the lock (held here until the task has
    tried for it, which makes the moment last)."""
    settings.TASKS = QUEUED_LATER
    job = _web_job(company.rep, tmp_path, dedup="off")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DRAFT)
    job.refresh_from_db()
    started, commit_start = threading.Event(), threading.Event()
    discarding, task_tried = threading.Event(), threading.Event()
    outcome = {}

    @contextmanager
    def held_by_the_discard_until_the_task_tried(job_id, **kwargs):
        with job_lock(job_id, **kwargs):
            if threading.current_thread().name != "discard":
                yield
                return
            discarding.set()
            yield
            task_tried.wait(20)

    monkeypatch.setattr(services, "job_lock", held_by_the_discard_until_the_task_tried)

    def start():  # the mapping page's "Start": the status, then the task, in one transaction
        try:
            with transaction.atomic():
                ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
                    status=ImportJob.Status.QUEUED
                )
                started.set()
                commit_start.wait(20)
        finally:
            connection.close()

    def discard():
        try:
            outcome["discarded"] = import_job_discard(actor=company.rep, job=job)
        finally:
            connection.close()

    starter = threading.Thread(target=start)
    starter.start()
    assert started.wait(10)
    discarder = threading.Thread(target=discard, name="discard")
    discarder.start()
    assert discarding.wait(10)
    commit_start.set()
    starter.join(20)
    try:
        run_import_job.call(job.pk)  # the task the start queued, taken up at once
    finally:
        task_tried.set()
        discarder.join(20)
    assert outcome == {"discarded": False}  # it found the job queued: nothing to discard
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    (again,) = _queued_later()
    again.task.call(*again.args)
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)
    assert _imported() == 30


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_the_task_queued_again_once_it_falls_due(
    company, tmp_path, settings
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    job = _web_job(company.rep, tmp_path, dedup="off")
    with _Runner(job.pk):
        run_import_job.call(job.pk)
    (again,) = DBTaskResult.objects.filter(task_path="guanxi.imports.tasks.run_import_job")
    assert again.args_kwargs == {"args": [job.pk], "kwargs": {}}
    assert again.run_after > timezone.now()
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED  # not due yet
    DBTaskResult.objects.filter(pk=again.pk).update(run_after=timezone.now())
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)
    assert _imported() == 30


def _waiting_for_a_row_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_where_tasks_run_at_once_a_discard_waiting_for_the_start_does_not_hang_it(
    company, tmp_path, monkeypatch
):
    """Tasks run at once run inside the start's transaction, which has marked the job queued:
    the discard holding the job's lock waits for that row, so waiting there for the lock would
    wait for ever (the request never answered). The task tries again once the start commits,
    which lets the discard go on, and runs the job."""
    monkeypatch.setattr(tasks, "RETRY_SECONDS", 0.2)
    job = _web_job(company.rep, tmp_path, dedup="off")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DRAFT)
    job.refresh_from_db()
    queued, go_on = threading.Event(), threading.Event()
    discarder_pid, outcome = [], {}

    def start():  # the mapping page's "Start": the status, then the task, in one transaction
        try:
            with transaction.atomic():
                ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
                    status=ImportJob.Status.QUEUED
                )
                queued.set()
                go_on.wait(20)
                run_import_job.enqueue(job.pk)
            outcome["started"] = True
        finally:
            connection.close()

    def discard():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                discarder_pid.append(cursor.fetchone()[0])
            outcome["discarded"] = import_job_discard(actor=company.rep, job=job)
        except Exception as error:  # cancelled below when the start hangs
            outcome["discard_error"] = error
        finally:
            connection.close()

    starter = threading.Thread(target=start, daemon=True)
    starter.start()
    assert queued.wait(10)
    discarder = threading.Thread(target=discard, daemon=True)
    discarder.start()
    deadline = timezone.now() + dt.timedelta(seconds=10)
    while not (discarder_pid and _waiting_for_a_row_lock(discarder_pid[0])):
        assert timezone.now() < deadline, "the discard never waited for the started job's row"
    go_on.set()
    starter.join(15)
    hung = starter.is_alive()
    if hung:  # let the test end: the discard's wait is broken off, which lets go of the lock
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [discarder_pid[0]])
        starter.join(30)
    discarder.join(30)
    assert not hung, "the start's request waited for ever for the job's lock"
    assert outcome == {"started": True, "discarded": False}
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)
    assert _imported() == 30
