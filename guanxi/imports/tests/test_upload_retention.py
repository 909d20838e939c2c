"""Uploaded files are not kept for ever: they hold personal data. The scheduler's hourly
clean-up deletes a web import's file once every job reading it ended (finished, cancelled,
discarded; dry runs too) more than ``GUANXI_IMPORT_UPLOAD_RETENTION_DAYS`` ago, and keeps a file
another job still needs. The jobs stay, with their counts and rejected rows: the error file is
still downloaded, and the job's page says the file was deleted."""

import csv
import datetime as dt
import io
import logging
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_discard
from guanxi.imports.tasks import remove_expired_import_uploads
from guanxi.imports.tests.test_dry_run_pages import FORM, _draft, _dry_run
from guanxi.imports.tests.test_import_job_runs import _file

pytestmark = pytest.mark.django_db


def _ended(job: ImportJob, days: float) -> None:
    """As if the job had ended ``days`` ago."""
    ago = timezone.now() - dt.timedelta(days=days)
    ImportJob.objects.filter(pk=job.pk).update(finished_at=ago, created_at=ago)
    job.refresh_from_db()


def _imported(client, user) -> ImportJob:
    """A finished web import of the upload test file (one row created, one rejected)."""
    job = _draft(client, user)
    client.post(f"/imports/{job.pk}/mapping/", {**FORM, "action": "start"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and job.rejected == 1
    return job


def test_a_finished_imports_file_is_deleted_after_the_retention_and_its_rejected_rows_stay(
    client, company, uploads
):
    job = _imported(client, company.rep)
    upload = Path(job.path)
    _ended(job, days=6.9)
    assert remove_expired_import_uploads.call() == 0 and upload.exists()
    _ended(job, days=7.1)
    assert remove_expired_import_uploads.call() == 1 and not upload.exists()
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert (
        "The uploaded file has been deleted: uploads are kept 7 days after their import ends. "
        "The rejected rows can still be downloaded above." in page
    )
    assert 'id="count-created">1<' in page and "Row 3" in page
    errors = client.get(f"/imports/{job.pk}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert [(row["姓名"], row["手机"], row["import_row"]) for row in rows] == [
        ("李四", "12345", "3")
    ]
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == (ImportJob.Status.FINISHED, 1, 1)
    assert remove_expired_import_uploads.call() == 0  # nothing left to delete


def test_the_retention_is_the_settings(client, company, uploads, settings, back_to_english):
    settings.GUANXI_IMPORT_UPLOAD_RETENTION_DAYS = 1
    job = _imported(client, company.rep)
    _ended(job, days=1.1)
    assert remove_expired_import_uploads.call() == 1 and not Path(job.path).exists()
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "uploads are kept 1 day after their import ends." in page
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "上传的文件已删除：导入结束后，上传的文件只保留 1 天。" in page
    assert "被拒绝的行仍可在上方下载。" in page


def test_an_old_finished_dry_runs_file_is_deleted_and_its_page_says_so(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    _ended(dry_run, days=8)
    assert remove_expired_import_uploads.call() == 1 and not Path(dry_run.path).exists()
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert "so it cannot be imported for real from here: upload the file again." in page
    assert "/for-real/" not in page
    assert f'href="/imports/{dry_run.pk}/errors.csv"' in page


def test_a_recent_dry_runs_file_is_kept_to_be_imported_for_real(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    _ended(dry_run, days=3)
    assert remove_expired_import_uploads.call() == 0 and Path(dry_run.path).exists()


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        ("draft", True),
        ("queued", True),
        ("running", True),
        ("interrupted", True),  # may be carried on
        ("failed", True),
        ("finished", False),
        ("cancelled", False),
        ("discarded", False),
    ],
)
def test_a_file_another_job_still_needs_is_kept(client, company, uploads, status, kept):
    dry_run = _dry_run(client, company.rep)
    _ended(dry_run, days=30)
    # The import made from it, long ago too, and left in ``status``.
    client.post(f"/imports/{dry_run.pk}/for-real/")
    other = ImportJob.objects.latest("pk")
    assert other.path == dry_run.path
    ImportJob.objects.filter(pk=other.pk).update(status=status)
    _ended(other, days=20)
    assert remove_expired_import_uploads.call() == (0 if kept else 1)
    assert Path(dry_run.path).exists() is kept


def test_a_file_is_kept_until_the_last_job_reading_it_has_ended_its_days(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    _ended(dry_run, days=30)
    client.post(f"/imports/{dry_run.pk}/for-real/")
    made = ImportJob.objects.latest("pk")
    client.post(f"/imports/{made.pk}/mapping/", {**FORM, "action": "start"})
    made.refresh_from_db()
    assert made.status == ImportJob.Status.FINISHED
    _ended(made, days=2)  # finished two days ago, from a dry run of a month ago
    assert remove_expired_import_uploads.call() == 0 and Path(made.path).exists()
    _ended(made, days=8)
    assert remove_expired_import_uploads.call() == 1 and not Path(made.path).exists()
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert f'import for real: <a href="/imports/{made.pk}/">' in page
    assert "cannot be imported for real" not in page


def test_a_draft_discarded_from_an_old_dry_run_takes_the_file_with_it(
    client, company, uploads, django_capture_on_commit_callbacks
):
    # A finished dry run past the retention no longer keeps its file alive.
    dry_run = _dry_run(client, company.rep)
    client.post(f"/imports/{dry_run.pk}/for-real/")
    draft = ImportJob.objects.latest("pk")
    _ended(dry_run, days=8)
    with django_capture_on_commit_callbacks(execute=True):
        assert import_job_discard(actor=company.rep, job=draft)
    assert not Path(dry_run.path).exists()


def test_a_command_line_imports_own_file_is_never_touched(company, uploads, tmp_path):
    path, name = _file(tmp_path, "customers", 3)
    job = import_job_create(actor=company.admin, path=path, filename=name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FINISHED)
    _ended(job, days=100)
    uploads.mkdir(parents=True)
    assert remove_expired_import_uploads.call() == 0 and path.exists()


def test_the_clean_up_is_scheduled_hourly_and_logs_how_many_it_deleted(
    client, company, uploads, caplog
):
    entry = settings.GUANXI_SCHEDULE["import-uploads-cleanup"]
    assert entry["task"] == "guanxi.imports.tasks.remove_expired_import_uploads"
    assert entry["every_minutes"] == 60
    job = _imported(client, company.rep)
    _ended(job, days=10)
    with caplog.at_level(logging.INFO, logger="guanxi.imports.services"):
        assert remove_expired_import_uploads.call() == 1
    assert (
        "Deleted 1 uploaded import files of imports that ended more than 7 days ago" in caplog.text
    )
