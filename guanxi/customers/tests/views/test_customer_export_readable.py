"""The export form's choice between a file for re-import and one for reading, and the
background export of a long list for reading."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.test import override_settings

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import EXPORT_COLUMNS
from guanxi.customers.models import CustomerExportJob
from guanxi.customers.services import customer_create
from guanxi.customers.tasks import run_customer_export_job

from .test_customer_export_background import QUEUED_ONLY

pytestmark = pytest.mark.django_db


def _header(response) -> list[str]:
    if response["Content-Type"].startswith("text/csv"):
        content = b"".join(response.streaming_content).decode("utf-8-sig")
        return next(csv.reader(io.StringIO(content)))
    sheet = openpyxl.load_workbook(io.BytesIO(response.getvalue())).worksheets[0]
    return [cell.value for cell in sheet[1]]


def test_the_form_offers_both_layouts_for_re_import_first(client, company):
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get("/customers/", {"layout": "readable"}).content.decode()
    form = html[html.index('action="/customers/export/"') :]
    form = form[: form.index("</form>")]
    assert '<label class="visually-hidden" for="id_layout">文件用途</label>' in form
    assert '<option value="importable" selected>用于重新导入</option>' in form
    assert '<option value="readable">便于阅读</option>' in form
    assert 'type="hidden" name="layout"' not in form


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_readable_export_is_headed_and_filled_in_the_users_language(
    client, company, export_format
):
    customer_create(actor=company.rep, data={"name": "王芳", "kind": "signed"})
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post(
        "/customers/export/", {"format": export_format, "layout": "readable", "q": "王芳"}
    )
    assert response.status_code == 200
    header = _header(response)
    assert header[:6] == ["Guanxi 编号", "外部编号", "个人或组织", "名称", "公司", "客户类别"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.changes["layout"]["after"] == "readable"


@pytest.mark.parametrize("posted", [{}, {"layout": ""}, {"layout": "importable"}])
def test_without_a_layout_the_export_is_for_re_import_as_before(client, company, posted):
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post("/customers/export/", {"format": "csv", **posted})
    assert _header(response) == list(EXPORT_COLUMNS)
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.changes["layout"]["after"] == "importable"


def test_an_unknown_layout_is_a_bad_request_and_exports_nothing(client, company):
    client.force_login(company.rep)
    response = client.post("/customers/export/", {"format": "csv", "layout": "pretty"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_a_long_readable_list_is_written_in_the_background_in_the_requesters_language(
    client, company, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 1
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with override_settings(TASKS=QUEUED_ONLY):
        client.post("/customers/export/", {"format": "xlsx"})
        response = client.post("/customers/export/", {"format": "xlsx", "layout": "readable"})
        again = client.post("/customers/export/", {"format": "xlsx", "layout": "readable"})
    assert response.status_code == again.status_code == 302
    # Not the importable export still waiting: another file. Asked twice, it is one export.
    importable, readable = CustomerExportJob.objects.order_by("pk")
    assert (importable.layout, readable.layout) == ("importable", "readable")
    assert again["Location"] == response["Location"] == f"/customers/exports/{readable.pk}/"
    for job in (importable, readable):
        run_customer_export_job.call(job.pk)
    readable.refresh_from_db()
    assert readable.status == CustomerExportJob.Status.READY
    sheet = openpyxl.load_workbook(Path(readable.path)).worksheets[0]
    assert [cell.value for cell in sheet[1]][:4] == [
        "Guanxi 编号",
        "外部编号",
        "个人或组织",
        "名称",
    ]
    assert {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"个人"}
    layouts = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).order_by("pk")
    assert [e.changes["layout"]["after"] for e in layouts] == ["importable", "readable"]
