"""A stopped web import carried on from the command line from the user's own copy of its file
(``--resume`` with the file elsewhere) reads that copy from then on and never deletes it. The
copy of the upload it read until then is deleted when no other job refers to it: no job holds
it as its upload any more, so the hourly clean-up would leave it in the uploads folder for ever.
One that a dry run still refers to stays for the clean-up to delete with the dry run."""

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from guanxi.imports.models import ImportJob
from guanxi.imports.tasks import remove_expired_import_uploads
from guanxi.imports.tests.test_dry_run_pages import _dry_run
from guanxi.imports.tests.test_import_job_runs import _interrupted
from guanxi.imports.tests.test_upload_retention import _ended

pytestmark = pytest.mark.django_db


def _own_copy(tmp_path, job: ImportJob) -> Path:
    mine = tmp_path / "own" / "customers.csv"
    mine.parent.mkdir()
    shutil.copy(job.path, mine)
    return mine


def _carry_on_from(tmp_path, job: ImportJob, user: str, mine: Path | None = None) -> Path:
    mine = mine or _own_copy(tmp_path, job)
    call_command("import", "customers", str(mine), "--resume", "--user", user, stdout=None)
    job.refresh_from_db()
    assert (job.status, job.path, job.uploaded) == (ImportJob.Status.FINISHED, str(mine), False)
    return mine


def test_the_upload_copy_no_job_refers_to_any_more_is_deleted(
    company, uploads, tmp_path, monkeypatch
):
    job = _interrupted(company, tmp_path, monkeypatch)
    copy = Path(job.path)
    assert job.uploaded and copy.parent == uploads
    mine = _carry_on_from(tmp_path, job, "rep")
    assert not copy.exists() and mine.exists()
    assert job.rows_read == 30
    assert list(uploads.iterdir()) == []
    _ended(job, days=100)
    assert remove_expired_import_uploads.call() == 0 and mine.exists()


def test_the_upload_copy_a_dry_run_still_refers_to_is_left_to_the_clean_up(
    client, company, uploads, tmp_path
):
    dry_run = _dry_run(client, company.rep)
    client.post(f"/imports/{dry_run.pk}/for-real/")
    made = ImportJob.objects.latest("pk")
    assert made.path == dry_run.path and made.uploaded
    ImportJob.objects.filter(pk=made.pk).update(status=ImportJob.Status.INTERRUPTED)
    mine = _carry_on_from(tmp_path, made, "rep")
    copy = Path(dry_run.path)
    assert copy.exists()  # the dry run's page may still import it for real
    _ended(dry_run, days=30)
    _ended(made, days=30)
    assert remove_expired_import_uploads.call() == 1
    assert not copy.exists() and mine.exists()


def test_an_import_whose_upload_copy_is_gone_carries_on_from_the_users_own_file(
    company, uploads, tmp_path, monkeypatch
):
    job = _interrupted(company, tmp_path, monkeypatch)
    mine = _own_copy(tmp_path, job)
    Path(job.path).unlink()  # the data directory cleared by hand, say
    _carry_on_from(tmp_path, job, "rep", mine)
    assert job.rows_read == 30
