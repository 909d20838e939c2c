"""The export form on the customer list and the download it answers with."""

import csv
import io
import re

import openpyxl
import pytest
from django.conf import settings

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.services import customer_create

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILENAME = re.compile(r'attachment; filename="guanxi-customers-\d{8}-\d{4}\.(csv|xlsx)"')


def _rows(response) -> list[dict]:
    """The exported rows as {column: value}, from either format."""
    if response["Content-Type"] == XLSX:
        sheet = openpyxl.load_workbook(io.BytesIO(response.getvalue())).worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        return [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    return list(csv.DictReader(io.StringIO(response.getvalue().decode("utf-8-sig"))))


def test_the_list_offers_both_formats_and_carries_only_its_filters(client, company):
    client.force_login(company.manager)
    html = client.get("/customers/", {"tag": "VIP", "reveal": "1", "format": "xlsx"}).content
    html = html.decode()
    form = html[html.index('action="/customers/export/"') :]
    form = form[: form.index("</form>")]
    assert '<option value="csv" selected>CSV</option>' in form
    assert '<option value="xlsx">Excel (.xlsx)</option>' in form
    assert 'name="format"' in form and '<label class="visually-hidden" for="id_format">' in form
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    assert ("tag", "VIP") in hidden
    assert not [name for name, _ in hidden if name in ("reveal", "format")]


def test_the_format_choice_is_in_chinese_too(client, company):
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get("/customers/").content.decode()
    assert "Excel 工作簿 (.xlsx)" in html
    assert "导出格式" in html


@pytest.mark.parametrize(
    ("posted", "content_type", "extension"),
    [
        ({}, "text/csv; charset=utf-8", "csv"),
        ({"format": ""}, "text/csv; charset=utf-8", "csv"),
        ({"format": "csv"}, "text/csv; charset=utf-8", "csv"),
        ({"format": "xlsx"}, XLSX, "xlsx"),
    ],
)
def test_each_format_downloads_with_its_type_and_name(
    client, company, posted, content_type, extension
):
    client.force_login(company.rep)
    response = client.post("/customers/export/", posted)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    match = FILENAME.fullmatch(response["Content-Disposition"])
    assert match and match.group(1) == extension
    names = {str(row["name"]) for row in _rows(response)}
    assert names == {company.customers[n].name for n in EXPECTED["rep"][0]}
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.via == "web"
    assert event.changes["format"]["after"] == extension


def test_an_unknown_format_is_refused_without_exporting(client, company):
    client.force_login(company.admin)
    response = client.post("/customers/export/", {"format": "pdf"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_the_workbook_honours_filters_and_the_reveal_permission(client, company):
    customer_create(
        actor=company.rep, data={"name": "李娜", "phones": ["13900001111"], "tags": ["展会2026"]}
    )
    customer_create(actor=company.rep, data={"name": "Not tagged", "phones": ["13900002222"]})
    client.force_login(company.rep)
    refused = client.post("/customers/export/", {"format": "xlsx", "reveal": "1"})
    assert refused.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()

    client.force_login(company.manager)
    posted = {"format": "xlsx", "tag": "展会2026"}
    [masked] = _rows(client.post("/customers/export/", posted))
    assert (masked["name"], masked["phones"]) == ("李娜", "'+86 139 **** 1111")
    [full] = _rows(client.post("/customers/export/", {**posted, "reveal": "1"}))
    assert full["phones"] == "'+86 139 0000 1111"
    events = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).order_by("id")
    assert [(e.changes["revealed"]["after"], e.changes["rows"]["after"]) for e in events] == [
        (False, 1),
        (True, 1),
    ]
    assert events[0].changes["filters"]["after"] == {"tag": "展会2026"}


def _export_form(html: str) -> str:
    return re.search(r'<form class="actions export-form".*?</form>', html, re.S).group(0)


def test_search_as_you_type_brings_the_export_form_of_the_list_it_shows(client, company):
    client.force_login(company.admin)
    assert 'name="q"' not in _export_form(client.get("/customers/").content.decode())
    fragment = client.get("/customers/", {"q": "张伟"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "Rep Customer" in html and "West Customer" not in html
    # htmx swaps only the results; the export form's filters come along, out of band, with the
    # search (only they: the format and layout picked stay as picked).
    params = re.search(r'<span id="export-params".*?</span>', html, re.S).group(0)
    assert 'hx-swap-oob="true"' in params
    assert '<input type="hidden" name="q" value="张伟">' in params
    assert "<form" not in html.split('<span id="export-params"')[0]
    # Posting it exports what the list shows.
    exported = client.post("/customers/export/", {"q": "张伟", "format": "csv"})
    assert [row["name"] for row in _rows(exported)] == ["Rep Customer 张伟"]


@pytest.mark.parametrize("q", ["x" * 201, "west\x00"])
def test_an_invalid_filter_exports_nothing(client, company, q):
    client.force_login(company.admin)
    response = client.post("/customers/export/", {"q": q, "format": "csv"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Nothing was exported" in html and "West Customer" not in html
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
