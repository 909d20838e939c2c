"""Only the copies of web uploads the application keeps are ever deleted (by the hourly clean-up,
a cancel or a discard). A command-line import reads the user's own file, which stays theirs
wherever it lies, the data directory's uploads folder included; so does the file a web import
carried on from the command line reads from then on."""

import datetime as dt
import importlib
import shutil

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_discard
from guanxi.imports.tasks import remove_expired_import_uploads
from guanxi.imports.tests.test_import_cancel import _when_the_second_batch_is_read
from guanxi.imports.tests.test_import_job_runs import _file, _web_job

migration = importlib.import_module("guanxi.imports.migrations.0008_importjob_uploaded")


def _ended_long_ago(job: ImportJob) -> None:
    ago = timezone.now() - dt.timedelta(days=100)
    ImportJob.objects.filter(pk=job.pk).update(finished_at=ago, created_at=ago)


@pytest.mark.django_db
def test_a_command_line_import_of_a_file_in_the_uploads_folder_never_deletes_it(
    company, uploads, tmp_path
):
    uploads.mkdir(parents=True)
    made, _name = _file(tmp_path, "customers", 3)
    path = uploads / "customers.csv"
    shutil.copy(made, path)
    call_command("import", "customers", str(path), "--user", "admin", stdout=None)
    job = ImportJob.objects.get()
    assert (job.status, job.path, job.uploaded) == (ImportJob.Status.FINISHED, str(path), False)
    _ended_long_ago(job)
    assert remove_expired_import_uploads.call() == 0
    assert path.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end", ["cancel", "discard"])
def test_a_web_import_carried_on_from_the_command_line_leaves_the_users_file(
    company, uploads, tmp_path, monkeypatch, end
):
    # The user's own copy of the file, kept in the uploads folder: --resume reads it from then
    # on, and neither stopping the import from its page nor the clean-up may delete it.
    job = _web_job(company.rep, tmp_path)
    assert job.uploaded
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    mine = uploads / "mine.csv"
    shutil.copy(job.path, mine)
    if end == "cancel":
        _when_the_second_batch_is_read(monkeypatch, cancel_as=company.admin)
    else:
        _when_the_second_batch_is_read(monkeypatch, stop=KeyboardInterrupt())
    with pytest.raises((CommandError, SystemExit)):
        call_command("import", "customers", str(mine), "--resume", "--user", "rep")
    job.refresh_from_db()
    assert (job.path, job.uploaded) == (str(mine), False)
    if end == "discard":
        assert job.status == ImportJob.Status.INTERRUPTED
        assert import_job_discard(actor=company.rep, job=job)
    else:
        assert job.status == ImportJob.Status.CANCELLED
    assert mine.exists()
    _ended_long_ago(job)
    assert remove_expired_import_uploads.call() == 0
    assert mine.exists()


@pytest.mark.django_db
def test_the_migration_marks_the_web_uploads_made_before_and_nothing_else(
    company, uploads, tmp_path
):
    uploads.mkdir(parents=True)
    web = _web_job(company.rep, tmp_path)
    resumed = _web_job(company.rep, tmp_path, prefix="R")  # carried on from a file elsewhere
    command_line = ImportJob.objects.create(
        kind="customers", filename="own.csv", path=str(uploads / "own.csv"), started_by=company.rep
    )
    ImportJob.objects.filter(pk=resumed.pk).update(path=str(tmp_path / "customers.csv"))
    ImportJob.objects.update(uploaded=False)
    apps = (
        MigrationExecutor(connection)
        .loader.project_state(("imports", "0008_importjob_uploaded"))
        .apps
    )
    migration.mark_web_uploads(apps, None)
    assert set(ImportJob.objects.filter(uploaded=True)) == {web}
    assert not ImportJob.objects.get(pk=command_line.pk).uploaded
