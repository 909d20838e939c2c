"""Excel exports of long lists, written in the background and downloaded from their own page."""

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.utils import timezone, translation

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.export_jobs import EXPORT_KEPT_DAYS, customer_exports_remove_expired
from guanxi.customers.models import CustomerExportJob
from guanxi.customers.services import customer_create
from guanxi.customers.tasks import remove_expired_customer_exports, run_customer_export_job

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The task is queued, not run, so that a test can change the world before it runs.
QUEUED_ONLY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    # Every list of the test company is "long": the rep sees two customers.
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 1


def _rows(content: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def _exports():
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)


def test_a_long_list_is_written_in_the_background_and_downloaded_when_ready(client, company):
    client.force_login(company.rep)
    response = client.post("/customers/export/", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/exports/{job.pk}/"
    # The test settings run tasks at once: the workbook is written by now.
    job.refresh_from_db()
    assert job.status == CustomerExportJob.Status.READY
    assert job.rows == 2 and job.requested_by == company.rep
    path = Path(job.path)
    assert path.parent.name == "exports" and path.exists()
    assert len(path.stem) >= 32  # a random name, not one anybody can guess

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ready to download" in html and f"/customers/exports/{job.pk}/download/" in html

    download = client.get(f"/customers/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == XLSX
    assert "attachment" in download["Content-Disposition"]
    rows = _rows(b"".join(download.streaming_content))
    assert {row["name"] for row in rows} == {company.customers[n].name for n in EXPECTED["rep"][0]}
    # One audit row for the export, written with the workbook; downloading adds none.
    client.get(f"/customers/exports/{job.pk}/download/")
    [event] = _exports()
    assert event.actor == company.rep
    assert event.via == "web"
    assert event.changes["format"]["after"] == "xlsx"
    assert event.changes["rows"]["after"] == 2


def test_filters_and_reveal_carry_over_to_the_job(client, company):
    customer_create(
        actor=company.rep, data={"name": "李娜", "phones": ["13900001111"], "tags": ["展会2026"]}
    )
    customer_create(
        actor=company.rep, data={"name": "王芳", "phones": ["13900003333"], "tags": ["展会2026"]}
    )
    customer_create(actor=company.rep, data={"name": "Not tagged", "phones": ["13900002222"]})
    client.force_login(company.manager)
    posted = {"format": "xlsx", "tag": "展会2026", "reveal": "1"}
    response = client.post("/customers/export/", posted)
    assert response.status_code == 302
    job = CustomerExportJob.objects.get()
    assert job.filters == {"tag": "展会2026"} and job.reveal
    content = b"".join(client.get(f"/customers/exports/{job.pk}/download/").streaming_content)
    rows = sorted(_rows(content), key=lambda row: row["phones"])
    assert [(row["name"], row["phones"]) for row in rows] == [
        ("李娜", "'+86 139 0000 1111"),
        ("王芳", "'+86 139 0000 3333"),
    ]
    [event] = _exports()
    assert event.changes["revealed"]["after"] is True
    assert event.changes["filters"]["after"] == {"tag": "展会2026"}
    assert event.changes["rows"]["after"] == 2


def test_asking_to_reveal_without_the_permission_makes_no_job(client, company):
    client.force_login(company.rep)
    response = client.post("/customers/export/", {"format": "xlsx", "reveal": "1"})
    assert response.status_code == 403
    assert not CustomerExportJob.objects.exists()
    assert not _exports().exists()


@pytest.mark.parametrize("other", ["teammate", "admin", "manager"])
def test_nobody_else_sees_the_job_or_its_workbook(client, company, other):
    client.force_login(company.rep)
    client.post("/customers/export/", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    client.force_login(company.users[other])
    assert client.get(f"/customers/exports/{job.pk}/").status_code == 404
    assert client.get(f"/customers/exports/{job.pk}/download/").status_code == 404
    assert client.get("/customers/exports/999999/").status_code == 404


def test_a_short_list_and_csv_are_sent_at_once(client, company, settings):
    client.force_login(company.rep)
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 2  # the rep's two customers are not more
    response = client.post("/customers/export/", {"format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert {row["name"] for row in _rows(b"".join(response.streaming_content))} == {
        company.customers[n].name for n in EXPECTED["rep"][0]
    }
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 1
    csv = client.post("/customers/export/", {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert not CustomerExportJob.objects.exists()
    assert _exports().count() == 2


def test_the_page_waits_until_the_worker_has_written_the_workbook(client, company):
    client.force_login(company.rep)
    with override_settings(TASKS=QUEUED_ONLY):
        client.post("/customers/export/", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    page = client.get(f"/customers/exports/{job.pk}/").content.decode()
    assert "Waiting to start" in page and 'hx-trigger="every 2s"' in page
    assert client.get(f"/customers/exports/{job.pk}/download/").status_code == 404
    assert not _exports().exists()

    run_customer_export_job.call(job.pk)
    fragment = client.get(f"/customers/exports/{job.pk}/", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "Ready to download" in html and "hx-trigger" not in html and "<html" not in html
    # Queued twice (a double click, a retried task): written once.
    run_customer_export_job.call(job.pk)
    assert _exports().count() == 1
    assert len(list(Path(CustomerExportJob.objects.get().path).parent.iterdir())) == 1


def test_asking_again_while_the_same_export_waits_goes_to_it(client, company):
    client.force_login(company.rep)
    with override_settings(TASKS=QUEUED_ONLY):
        first = client.post("/customers/export/", {"format": "xlsx"})
        second = client.post("/customers/export/", {"format": "xlsx"})
        assert CustomerExportJob.objects.count() == 1
        assert first["Location"] == second["Location"]
        # Another list is another export.
        for name, phone in (("李娜", "13900001111"), ("王芳", "13900003333")):
            customer_create(
                actor=company.rep, data={"name": name, "phones": [phone], "tags": ["展会2026"]}
            )
        client.post("/customers/export/", {"format": "xlsx", "tag": "展会2026"})
        assert CustomerExportJob.objects.count() == 2
    # Once written, asking again writes the list again (it may have changed).
    for job in CustomerExportJob.objects.all():
        run_customer_export_job.call(job.pk)
    client.post("/customers/export/", {"format": "xlsx"})
    assert CustomerExportJob.objects.count() == 3


def test_the_same_export_asked_for_in_another_language_is_another_file(client, company, settings):
    """A workbook for re-import holds no translated values, but its sheet names and header
    notes are in the language it was asked for in; a colleague reading Chinese who asks while an
    English one waits gets a Chinese workbook, not the English one."""
    client.force_login(company.rep)
    with override_settings(TASKS=QUEUED_ONLY):
        english = client.post("/customers/export/", {"format": "xlsx"})
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        chinese = client.post("/customers/export/", {"format": "xlsx"})
        again = client.post("/customers/export/", {"format": "xlsx"})
    assert english["Location"] != chinese["Location"] == again["Location"]
    jobs = CustomerExportJob.objects.order_by("pk")
    assert [job.language for job in jobs] == ["en", "zh-hans"]
    for job in jobs:
        run_customer_export_job.call(job.pk)
    titles = [
        openpyxl.load_workbook(Path(job.path)).sheetnames
        for job in CustomerExportJob.objects.order_by("pk")
    ]
    assert titles[0] != titles[1]


def test_a_failing_export_says_why_and_leaves_no_audit_row_or_file(client, company):
    client.force_login(company.manager)
    with override_settings(TASKS=QUEUED_ONLY):
        client.post("/customers/export/", {"format": "xlsx", "reveal": "1"})
    job = CustomerExportJob.objects.get()
    # The permission to see numbers in full is taken away before the export runs.
    company.manager.user_permissions.remove(Permission.objects.get(codename="view_sensitive_data"))
    run_customer_export_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == CustomerExportJob.Status.FAILED
    assert job.path == "" and job.rows is None
    html = client.get(f"/customers/exports/{job.pk}/").content.decode()
    assert "Failed" in html and "You may not export sensitive data in full." in html
    assert client.get(f"/customers/exports/{job.pk}/download/").status_code == 404
    assert not _exports().exists()


def test_a_failure_is_told_in_the_requesters_language(client, company, settings):
    client.force_login(company.manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with override_settings(TASKS=QUEUED_ONLY):
        client.post("/customers/export/", {"format": "xlsx", "reveal": "1"})
    company.manager.user_permissions.remove(Permission.objects.get(codename="view_sensitive_data"))
    job = CustomerExportJob.objects.get()
    assert job.language == "zh-hans"
    run_customer_export_job.call(job.pk)
    html = client.get(f"/customers/exports/{job.pk}/").content.decode()
    assert "失败" in html and "You may not" not in html


def test_workbooks_are_removed_after_their_days(client, company):
    client.force_login(company.rep)
    client.post("/customers/export/", {"format": "xlsx"})
    client.post("/customers/export/", {"format": "xlsx"})
    old, recent = CustomerExportJob.objects.order_by("id")
    old_file = Path(old.path)
    CustomerExportJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - dt.timedelta(days=EXPORT_KEPT_DAYS, minutes=1)
    )
    # Past its days, it is no longer offered even before the clean-up has run.
    assert client.get(f"/customers/exports/{old.pk}/download/").status_code == 404
    assert "has been removed" in client.get(f"/customers/exports/{old.pk}/").content.decode()

    assert remove_expired_customer_exports.call() == 1
    old.refresh_from_db()
    assert old.status == CustomerExportJob.Status.EXPIRED and old.path == ""
    assert not old_file.exists()
    recent.refresh_from_db()
    assert recent.status == CustomerExportJob.Status.READY and Path(recent.path).exists()
    assert sorted(Path(recent.path).parent.iterdir()) == [Path(recent.path)]
    assert "has been removed" in client.get(f"/customers/exports/{old.pk}/").content.decode()
    assert customer_exports_remove_expired() == 0


def test_a_job_whose_worker_died_is_ended_after_the_same_days(client, company):
    client.force_login(company.rep)
    with override_settings(TASKS=QUEUED_ONLY):
        client.post("/customers/export/", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    CustomerExportJob.objects.filter(pk=job.pk).update(
        status=CustomerExportJob.Status.RUNNING,
        created_at=timezone.now() - dt.timedelta(days=EXPORT_KEPT_DAYS + 1),
    )
    assert customer_exports_remove_expired() == 1
    html = client.get(f"/customers/exports/{job.pk}/").content.decode()
    assert "The export did not finish." in html


def test_the_clean_up_is_scheduled(settings):
    entry = settings.GUANXI_SCHEDULE["customer-exports-cleanup"]
    assert entry["task"] == "guanxi.customers.tasks.remove_expired_customer_exports"


def test_the_address_a_job_keeps_is_labelled_as_the_audit_log_labels_its_own():
    # The job keeps the requester's address for the audit row its run writes: wherever both are
    # shown, they read the same, in Chinese too.
    with translation.override("zh-hans"):
        kept = str(CustomerExportJob._meta.get_field("remote_addr").verbose_name)
        named = str(AuditEvent._meta.get_field("remote_addr").verbose_name)
    assert kept == named == "IP 地址"
