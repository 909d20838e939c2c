"""Who runs an import job, and what is left when a run stops: a job is run by one process at a
time (a second task, a second ``--resume``, is refused and writes nothing); however a run stops
(an error, Ctrl-C, ``sys.exit`` from a worker told to stop twice) the job is not left "running";
a job left "running" by a worker that was killed is recognised, and carried on from the web by
the user who started it."""

import importlib
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from guanxi.customers.models import Customer
from guanxi.imports import customer_import, tasks
from guanxi.imports.interaction_import import InteractionImporter
from guanxi.imports.job_locks import job_lock, job_runner_present
from guanxi.imports.models import ImportJob
from guanxi.imports.order_import import OrderImporter
from guanxi.imports.services import (
    ImportJobUnavailable,
    import_job_abandoned,
    import_job_create,
    import_job_discard,
    import_job_run,
    resumable_job,
)
from guanxi.imports.tasks import run_import_job

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads writing at once need PostgreSQL"
)

CUSTOMERS = "external_id,name,phone\n"
INTERACTIONS = "external_id,customer_external_id,channel,subject,occurred_at\n"
ORDERS = "external_id,customer_external_id,ordered_on,amount\n"


def _file(tmp_path, kind: str, count: int, prefix: str = "K") -> tuple:
    if kind == "customers":
        text = CUSTOMERS + "".join(
            f"{prefix}{i},客户{prefix}{i:03d},{13600000000 + i}\n" for i in range(count)
        )
    elif kind == "interactions":
        text = INTERACTIONS + "".join(f"I{i},C9,phone,来电,2026-03-02\n" for i in range(count))
    else:
        text = ORDERS + "".join(f"O{i},C9,2026-03-02,100\n" for i in range(count))
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return path, path.name


def _web_job(actor, tmp_path, kind="customers", count=30, prefix="K", **options) -> ImportJob:
    path, name = _file(tmp_path, kind, count, prefix)
    job = import_job_create(
        actor=actor, path=path, filename=name, kind=kind, via="web", keep_copy=True, **options
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)  # "start"
    job.refresh_from_db()
    return job


def _stop_after_the_first_batch(monkeypatch, kind: str, stop: BaseException) -> None:
    """The run stops as the second batch comes: ``stop`` raised where a signal would land."""
    if kind == "customers":
        monkeypatch.setattr(customer_import, "BATCH_SIZE", 10)
        original = customer_import.CustomerImporter._prepared_batches

        def stopping(self, *args):
            for number, item in enumerate(original(self, *args)):
                if number == 1:
                    raise stop
                yield item

        monkeypatch.setattr(customer_import.CustomerImporter, "_prepared_batches", stopping)
    else:
        monkeypatch.setattr(customer_import, "BATCH_SIZE", 10)
        importer = InteractionImporter if kind == "interactions" else OrderImporter
        original = importer._run_batch
        batches = []

        def stopping(self, batch):
            batches.append(batch)
            if len(batches) == 2:
                raise stop
            return original(self, batch)

        monkeypatch.setattr(importer, "_run_batch", stopping)


class _Runner:
    """Another process running the job: holds its lock in a thread of its own (a connection of
    its own) until told to let go."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.holding, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        try:
            with job_lock(self.job_id):
                self.holding.set()
                self.release.wait(30)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)


# --- a run that stops is not left "running" -------------------------------------------------


@pytest.mark.parametrize("kind", ["customers", "interactions", "orders"])
def test_a_web_import_stopped_by_the_workers_second_signal_is_left_interrupted(
    company, tmp_path, monkeypatch, kind
):
    """``guanxi db_worker`` told to stop a second time (Ctrl-C on ``guanxi serve``, whose
    ``finally`` then terminates it) calls ``sys.exit(1)`` inside the running task."""
    job = _web_job(company.admin, tmp_path, kind)
    _stop_after_the_first_batch(monkeypatch, kind, SystemExit(1))
    with pytest.raises(SystemExit):
        run_import_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED
    assert (job.rows_read, job.last_row) == (10, 11)  # the first batch, the header is row 1
    assert job.message == "Stopped after row 11."
    assert not job_runner_present(job.pk)


def test_a_job_stopped_by_an_error_is_failed_and_its_lock_let_go(company, tmp_path, monkeypatch):
    job = _web_job(company.admin, tmp_path)
    _stop_after_the_first_batch(monkeypatch, "customers", RuntimeError("disk full"))
    with pytest.raises(RuntimeError):
        run_import_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.message == "RuntimeError: disk full"
    assert not job_runner_present(job.pk)


def test_a_job_left_running_by_a_killed_worker_is_abandoned_and_carried_on_when_queued_again(
    company, tmp_path, monkeypatch
):
    job = _web_job(company.admin, tmp_path)
    _stop_after_the_first_batch(monkeypatch, "customers", SystemExit(1))
    with pytest.raises(SystemExit):
        run_import_job.call(job.pk)
    monkeypatch.undo()
    # What SIGKILL leaves: the status says running, and nothing holds the job's lock.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job.refresh_from_db()
    assert import_job_abandoned(job)

    run_import_job.enqueue(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED
    assert (job.rows_read, job.created) == (30, 30)
    assert Customer.objects.filter(name__startswith="客户K").count() == 30


# --- one run at a time ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["customers", "interactions", "orders"])
def test_a_job_being_run_elsewhere_is_not_run_again(company, tmp_path, kind):
    job = _web_job(company.admin, tmp_path, kind)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with _Runner(job.pk):
        job.refresh_from_db()
        assert not import_job_abandoned(job)
        run_import_job.call(job.pk)  # a second task for the job: nothing
        with pytest.raises(ImportJobUnavailable, match="being run by another process"):
            import_job_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.rows_read) == (ImportJob.Status.RUNNING, 0)
    assert not Customer.objects.filter(name__startswith="客户K").exists()


def test_a_job_queued_again_after_it_finished_is_not_run_again(company, tmp_path):
    job = _web_job(company.admin, tmp_path)
    run_import_job.call(job.pk)
    run_import_job.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.FINISHED, 30, 30)
    assert Customer.objects.filter(name__startswith="客户K").count() == 30
    with pytest.raises(ImportJobUnavailable, match="its status is “Finished”"):
        import_job_run(job=job)


def test_a_refusal_is_a_sentence_in_the_language_of_the_request(company, tmp_path):
    job = _web_job(company.admin, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FINISHED)
    with translation.override("zh-hans"), pytest.raises(ImportJobUnavailable) as refused:
        import_job_run(job=job)
    assert str(refused.value) == f"导入 #{job.pk} 不会运行：其状态为“已完成”。"


def test_resume_says_the_refusal_of_a_job_discarded_meanwhile_as_it_is(
    company, tmp_path, monkeypatch
):
    """The status names in the refusal keep their capitals; the command once lowercased all
    of the refusal but its first letter."""
    job = _web_job(company.admin, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    path, _name = _file(tmp_path, "customers", 30)  # the same file, on the command line
    command = importlib.import_module("guanxi.imports.management.commands.import")
    found_by_the_command = command.resumable_job

    def discarded_as_it_is_found(**kwargs):
        # An administrator discards the import in the browser as the command is about to run it.
        found = found_by_the_command(**kwargs)
        assert import_job_discard(actor=company.admin, job=found)
        return found

    monkeypatch.setattr(command, "resumable_job", discarded_as_it_is_found)
    with pytest.raises(CommandError) as error:
        call_command("import", "customers", str(path), "--resume", "--user", "admin")
    assert error.value.returncode == 2
    assert str(error.value) == f"Import #{job.pk} is not run: its status is “Discarded”."
    assert not Customer.objects.filter(name__startswith="客户K").exists()


def test_resume_refuses_a_job_still_being_run_with_exit_status_2(company, tmp_path):
    path, name = _file(tmp_path, "customers", 30)
    job = import_job_create(actor=company.admin, path=path, filename=name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with (
        _Runner(job.pk),
        pytest.raises(CommandError, match="being run by another process") as error,
    ):
        call_command("import", "customers", str(path), "--resume", "--user", "admin")
    assert error.value.returncode == 2
    assert f"Import #{job.pk}" in str(error.value)
    assert not Customer.objects.filter(name__startswith="客户K").exists()
    # Once its runner has gone, the same command carries it on.
    call_command("import", "customers", str(path), "--resume", "--user", "admin")
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_resuming_a_job_while_its_first_run_goes_on_imports_no_row_twice(
    company, tmp_path, monkeypatch
):
    """``guanxi import … --resume`` in a second terminal while the first import still runs."""
    path, name = _file(tmp_path, "customers", 40, prefix="S")
    job = import_job_create(
        actor=company.admin, path=path, filename=name, kind="customers", dedup="off"
    )
    first_batch_done, go_on = threading.Event(), threading.Event()
    original = customer_import.CustomerImporter._prepared_batches

    def pausing(self, *args):
        for number, item in enumerate(original(self, *args)):
            if number == 1 and threading.current_thread().name == "first":
                first_batch_done.set()
                go_on.wait(60)
            yield item

    monkeypatch.setattr(customer_import.CustomerImporter, "_prepared_batches", pausing)
    results = {}

    def first_run():
        try:
            results["first"] = import_job_run(job=job, batch_size=10).status
        finally:
            connection.close()

    first = threading.Thread(target=first_run, name="first")
    first.start()
    try:
        assert first_batch_done.wait(30)
        found = resumable_job(actor=company.admin, path=path, kind="customers")
        assert found is not None and found.pk == job.pk
        with pytest.raises(ImportJobUnavailable, match="being run by another process"):
            import_job_run(job=found, batch_size=10)
    finally:
        go_on.set()
        first.join(60)
    assert results["first"] == ImportJob.Status.FINISHED
    job.refresh_from_db()
    assert (job.rows_read, job.created) == (40, 40)
    assert Customer.objects.filter(name__startswith="客户S").count() == 40


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_job_queued_twice_and_started_by_two_workers_at_once_is_run_once(
    company, tmp_path, monkeypatch
):
    """Two tasks for one job (two workers, or two clicks): both get past the task's start
    before either has marked the job running."""
    job = _web_job(company.admin, tmp_path, dedup="off")
    barrier = threading.Barrier(2, timeout=20)
    run = tasks.import_job_run

    def both_started(**kwargs):
        barrier.wait()
        return run(**kwargs)

    monkeypatch.setattr(tasks, "import_job_run", both_started)
    errors = []

    def worker():
        try:
            run_import_job.call(job.pk)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.FINISHED, 30, 30)
    assert Customer.objects.filter(name__startswith="客户K").count() == 30


def _queue(monkeypatch) -> list:
    """What the pages queue, kept instead of run."""
    queued = []

    class Queue:
        def enqueue(self, *args):
            queued.append(args)

    monkeypatch.setattr("guanxi.imports.views.run_import_job", Queue())
    return queued


# --- carrying on from the web ---------------------------------------------------------------


def _interrupted(company, tmp_path, monkeypatch, actor=None) -> ImportJob:
    job = _web_job(actor or company.rep, tmp_path)
    _stop_after_the_first_batch(monkeypatch, "customers", SystemExit(1))
    with pytest.raises(SystemExit):
        run_import_job.call(job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED
    return job


def test_the_uploader_carries_on_with_an_interrupted_web_import(
    client, company, tmp_path, monkeypatch
):
    job = _interrupted(company, tmp_path, monkeypatch)
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'action="/imports/{job.pk}/resume/"' in page and "Carry on with the import" in page

    response = client.post(f"/imports/{job.pk}/resume/", follow=True)
    assert response.redirect_chain == [(f"/imports/{job.pk}/", 302)]
    assert "The import will carry on after row 11." in response.content.decode()
    job.refresh_from_db()  # the test settings run tasks at once
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.FINISHED, 30, 30)
    assert Customer.objects.filter(name__startswith="客户K").count() == 30
    assert "Carry on with the import" not in client.get(f"/imports/{job.pk}/").content.decode()

    # A second click (the page was open twice) queues nothing.
    queued = _queue(monkeypatch)
    again = client.post(f"/imports/{job.pk}/resume/", follow=True)
    assert "queued, running or finished already" in again.content.decode() and queued == []


def test_the_uploader_carries_on_with_a_failed_web_import(client, company, tmp_path, monkeypatch):
    # The database went away during the second batch, say: the first stays, and once the
    # trouble has passed the import carries on from there.
    job = _web_job(company.rep, tmp_path)
    _stop_after_the_first_batch(
        monkeypatch, "customers", RuntimeError("server closed the connection")
    )
    with pytest.raises(RuntimeError):
        run_import_job.call(job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "server closed" in job.message
    client.force_login(company.rep)
    assert "Carry on with the import" in client.get(f"/imports/{job.pk}/").content.decode()
    client.post(f"/imports/{job.pk}/resume/")
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportJob.Status.FINISHED, 30, 30)
    assert Customer.objects.filter(name__startswith="客户K").count() == 30


def test_an_abandoned_web_import_is_shown_as_such_and_carried_on(
    client, company, tmp_path, monkeypatch
):
    job = _interrupted(company, tmp_path, monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Nothing is running this import any more" in page
    assert "Carry on with the import" in page
    # The progress the page polls brings the button along, into its place outside it.
    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="import-resume" hx-swap-oob="true"' in fragment and "Carry on" in fragment

    client.post(f"/imports/{job.pk}/resume/")
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)


def test_the_page_of_an_abandoned_import_stops_refreshing_itself(
    client, company, tmp_path, monkeypatch
):
    # Nothing changes until someone carries it on; polling every second would only load the
    # server (and each poll looks for the job's runner).
    job = _interrupted(company, tmp_path, monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "every 1s" not in page and 'http-equiv="refresh"' not in page
    assert 'id="refresh-progress"' not in page
    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and "Carry on with the import" in fragment
    # Its heading does not say "Running" any more, nor does the list of imports.
    assert "<h2>Interrupted</h2>" in page
    listed = client.get("/imports/").content.decode()
    assert 'badge-status-interrupted">Interrupted<' in listed
    assert 'badge-status-running">' not in listed


def test_the_page_of_a_stopped_import_says_who_carries_it_on_and_how(
    client, company, tmp_path, monkeypatch
):
    # Nothing re-queues a stopped import by itself (it runs in its starter's name): whoever
    # looks at it is told what will carry it on.
    job = _interrupted(company, tmp_path, monkeypatch)
    client.force_login(company.admin)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f"Only {company.rep.label}, who started it, can carry it on" in page

    path, name = _file(tmp_path, "customers", 30, prefix="L")
    command_line = import_job_create(actor=company.rep, path=path, filename=name, kind="customers")
    ImportJob.objects.filter(pk=command_line.pk).update(status=ImportJob.Status.RUNNING)
    client.force_login(company.rep)
    page = client.get(f"/imports/{command_line.pk}/").content.decode()
    assert "Nothing is running this import any more" in page
    assert f"guanxi import customers {name} --resume --user {company.rep.username}" in page


def test_a_running_web_import_offers_no_resume_and_is_not_queued_again(
    client, company, tmp_path, monkeypatch
):
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    queued = _queue(monkeypatch)
    client.force_login(company.rep)
    with _Runner(job.pk):
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "Carry on with the import" not in page and "Nothing is running" not in page
        response = client.post(f"/imports/{job.pk}/resume/", follow=True)
        assert "queued, running or finished already" in response.content.decode()
    assert queued == []
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING


def test_only_the_uploader_may_carry_on_and_only_by_post(client, company, tmp_path, monkeypatch):
    job = _interrupted(company, tmp_path, monkeypatch)
    client.force_login(company.admin)  # sees every import, but it runs as the rep
    assert "Carry on with the import" not in client.get(f"/imports/{job.pk}/").content.decode()
    assert client.post(f"/imports/{job.pk}/resume/").status_code == 403
    client.force_login(company.teammate)
    assert client.post(f"/imports/{job.pk}/resume/").status_code == 404
    client.force_login(company.rep)
    assert client.get(f"/imports/{job.pk}/resume/").status_code == 405
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED


def test_a_command_line_import_is_resumed_from_the_command_line_not_the_web(
    client, company, tmp_path, monkeypatch
):
    path, name = _file(tmp_path, "customers", 30)
    job = import_job_create(actor=company.rep, path=path, filename=name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    client.force_login(company.rep)
    assert "Carry on with the import" not in client.get(f"/imports/{job.pk}/").content.decode()
    assert client.post(f"/imports/{job.pk}/resume/").status_code == 403


def test_starting_from_the_mapping_page_twice_queues_the_job_once(
    client, company, tmp_path, monkeypatch
):
    path, name = _file(tmp_path, "customers", 5)
    job = import_job_create(
        actor=company.rep,
        path=path,
        filename=name,
        kind="customers",
        via="web",
        keep_copy=True,
        check_mapping=False,
    )
    queued = _queue(monkeypatch)
    client.force_login(company.rep)
    form = {"map_0": "external_id", "map_1": "name", "map_2": "phone", "action": "start"}
    # Both clicks read the draft before either queued it: the page each one got was a draft's.
    drafts = [ImportJob.objects.get(pk=job.pk) for _ in range(2)]
    monkeypatch.setattr("guanxi.imports.views.access_import_job", lambda user, job_id: drafts.pop())
    for _ in range(2):
        response = client.post(f"/imports/{job.pk}/mapping/", form)
        assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert queued == [(job.pk,)]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
