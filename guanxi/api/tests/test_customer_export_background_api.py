"""XLSX exports of long lists through the API: 202 with the background export, its status, and
its workbook for its requester alone, written by the same jobs as the web's."""

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.export_jobs import EXPORT_KEPT_DAYS
from guanxi.customers.models import CustomerExportJob
from guanxi.customers.services import customer_create
from guanxi.customers.tasks import remove_expired_customer_exports, run_customer_export_job
from guanxi.customers.tests.views.test_customer_export_background import (  # noqa: F401
    QUEUED_ONLY,
    XLSX,
    _data_dir,  # a data directory of the test's own, and every list "long" (autouse)
    _rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(api_as):
    return api_as("rep")


def _ids(content: bytes) -> set[int]:
    return {row["id"] for row in _rows(content)}


def _exports():
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)


def _download(client, job_id: int):
    return client.get(f"/customers/exports/{job_id}/file")


def test_a_long_list_answers_202_and_is_downloaded_when_written(rep, company):
    with override_settings(TASKS=QUEUED_ONLY):
        response = rep.get("/customers/export", {"format": "xlsx"})
    assert response.status_code == 202
    job = CustomerExportJob.objects.get()
    url = f"/api/v1/customers/exports/{job.pk}"
    body = response.json()
    assert body == {
        "id": job.pk,
        "status": "waiting",
        "count": None,
        "reason": None,
        "created_at": body["created_at"],
        "finished_at": None,
        "url": url,
        "file_url": None,
        "layout": "importable",
        "language": "en",
    }
    assert response["Location"] == url
    assert job.requested_by == company.rep and job.via == "api"
    assert rep.get(f"/customers/exports/{job.pk}").json()["status"] == "waiting"
    refused = _download(rep, job.pk)
    assert refused.status_code == 409
    assert refused.json()["status"] == "waiting"
    assert "(status: waiting)" in refused.json()["detail"]
    assert not _exports().exists()

    run_customer_export_job.call(job.pk)
    ready = rep.get(f"/customers/exports/{job.pk}").json()
    assert ready["status"] == "ready" and ready["count"] == 2
    assert ready["finished_at"] is not None
    assert ready["file_url"] == f"{url}/file"
    download = _download(rep, job.pk)
    assert download.status_code == 200
    assert download["Content-Type"] == XLSX
    assert re.fullmatch(
        r'attachment; filename="guanxi-customers-\d{8}-\d{4}\.xlsx"',
        download["Content-Disposition"],
    )
    content = b"".join(download.streaming_content)
    assert _ids(content) == {company.customers[n].pk for n in EXPECTED["rep"][0]}
    # Audited once, when written, through the API; downloading again adds nothing.
    _download(rep, job.pk)
    [event] = _exports()
    assert event.actor == company.rep and event.via == "api"
    assert event.changes["format"]["after"] == "xlsx"
    assert event.changes["rows"]["after"] == 2


def test_filters_and_reveal_carry_over_to_the_export(api_as, company):
    for name, phone in (("李娜", "13900001111"), ("王芳", "13900003333")):
        customer_create(actor=company.rep, data={"name": name, "phones": [phone], "tags": ["VIP"]})
    customer_create(actor=company.rep, data={"name": "Not tagged", "phones": ["13900002222"]})
    manager = api_as("manager")
    response = manager.get("/customers/export", {"format": "xlsx", "tag": "VIP", "reveal": "true"})
    assert response.status_code == 202
    job = CustomerExportJob.objects.get()
    assert job.filters == {"tag": "VIP"} and job.reveal
    assert response.json()["count"] == 2
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(_download(manager, job.pk).streaming_content))
    ).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    phones = sorted(row[rows[0].index("phones")] for row in rows[1:])
    assert phones == ["'+86 139 0000 1111", "'+86 139 0000 3333"]


def test_asking_to_reveal_without_the_permission_makes_no_export(rep):
    response = rep.get("/customers/export", {"format": "xlsx", "reveal": "true"})
    assert response.status_code == 403
    assert response.json()["detail"] == "You may not export sensitive data in full."
    assert not CustomerExportJob.objects.exists()


@pytest.mark.parametrize("other", ["teammate", "manager", "admin"])
def test_nobody_else_sees_the_export_or_its_workbook(api_as, rep, other):
    rep.get("/customers/export", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    someone = api_as(other)
    for path in (f"/customers/exports/{job.pk}", f"/customers/exports/{job.pk}/file"):
        response = someone.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found.", "errors": []}
    assert rep.get("/customers/exports/999999").status_code == 404


def test_an_export_id_that_is_no_number_is_refused_naming_it(rep):
    response = rep.get("/customers/exports/abc")
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["job_id"]


def test_a_short_list_and_csv_are_sent_at_once(rep, company, settings):
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 2  # the rep's two customers are not more
    response = rep.get("/customers/export", {"format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert _ids(response.getvalue()) == {company.customers[n].pk for n in EXPECTED["rep"][0]}
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 1
    csv = rep.get("/customers/export", {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"] == "text/csv; charset=utf-8"
    assert "Location" not in csv
    assert not CustomerExportJob.objects.exists()
    assert _exports().count() == 2


def test_a_failed_export_says_why_and_has_no_workbook(api_as, company):
    manager = api_as("manager")
    with override_settings(TASKS=QUEUED_ONLY):
        manager.get("/customers/export", {"format": "xlsx", "reveal": "true"})
    job = CustomerExportJob.objects.get()
    # The permission to see numbers in full is taken away before the export runs.
    company.manager.user_permissions.remove(Permission.objects.get(codename="view_sensitive_data"))
    run_customer_export_job.call(job.pk)
    body = manager.get(f"/customers/exports/{job.pk}").json()
    assert body["status"] == "failed" and body["count"] is None and body["file_url"] is None
    assert body["reason"] == "You may not export sensitive data in full."
    refused = _download(manager, job.pk)
    assert refused.status_code == 409 and refused.json()["status"] == "failed"
    assert "You may not export sensitive data in full." in refused.json()["detail"]
    assert not _exports().exists()


def test_a_workbook_past_its_days_is_removed(rep):
    rep.get("/customers/export", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    CustomerExportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - dt.timedelta(days=EXPORT_KEPT_DAYS, minutes=1)
    )
    # The same answers before the hourly clean-up has deleted the file and after.
    for clean_up in (False, True):
        if clean_up:
            assert remove_expired_customer_exports.call() == 1
        body = rep.get(f"/customers/exports/{job.pk}").json()
        assert body["status"] == "removed" and body["file_url"] is None
        gone = _download(rep, job.pk)
        assert gone.status_code == 404
        assert gone.json()["detail"].startswith(
            "The workbook was kept 7 days and has been removed."
        )


def test_a_job_whose_worker_died_reads_as_failed(rep):
    with override_settings(TASKS=QUEUED_ONLY):
        rep.get("/customers/export", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    CustomerExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - dt.timedelta(days=EXPORT_KEPT_DAYS + 1)
    )
    remove_expired_customer_exports.call()
    body = rep.get(f"/customers/exports/{job.pk}").json()
    assert body["status"] == "failed" and body["reason"] == "The export did not finish."


def test_the_status_is_told_in_the_callers_language(rep):
    with override_settings(TASKS=QUEUED_ONLY):
        rep.get("/customers/export", {"format": "xlsx"})
    job = CustomerExportJob.objects.get()
    refused = rep.client.get(
        f"/api/v1/customers/exports/{job.pk}/file",
        headers={"Authorization": f"Bearer {rep.token}", "Accept-Language": "zh-hans"},
    )
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("工作簿尚未就绪（状态：waiting）")
