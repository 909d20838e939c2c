"""``GET /customers/export?layout=readable``: the file for reading, headed and filled in the
language the request asks for, else the one the user chose; the default stays the file for
re-import."""

import csv
import io

import openpyxl
import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import EXPORT_COLUMNS
from guanxi.customers.services import customer_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(api_as, company):
    customer_create(
        actor=company.rep,
        data={"name": "王芳", "relationship_level": "partner", "phones": ["13900001111"]},
    )
    return api_as("rep")


def _rows(response) -> list[list]:
    if response["Content-Type"].startswith("text/csv"):
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))
    sheet = openpyxl.load_workbook(io.BytesIO(response.getvalue())).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_readable_export_speaks_the_language_asked_for(rep, export_format):
    response = rep.get(
        "/customers/export",
        {"layout": "readable", "format": export_format, "q": "王芳"},
        headers={"Accept-Language": "zh-hans"},
    )
    assert response.status_code == 200
    header, row = _rows(response)
    assert header[6] == "关系等级" and row[6] == "伙伴关系"
    assert row[header.index("电话")] == "'+86 139 **** 1111"
    event = AuditEvent.objects.get(action="export")
    assert (event.via, event.changes["layout"]["after"]) == ("api", "readable")


def test_without_a_language_asked_for_it_is_the_users_own(rep, company):
    company.rep.language = "zh-hans"
    company.rep.save(update_fields=["language"])
    header, row = _rows(rep.get("/customers/export", {"layout": "readable", "q": "王芳"}))
    assert (header[6], row[6]) == ("关系等级", "伙伴关系")
    asked = rep.get(
        "/customers/export", {"layout": "readable", "q": "王芳"}, {"Accept-Language": "en"}
    )
    header, row = _rows(asked)
    assert (header[6], row[6]) == ("Relationship level", "Partner")


def test_the_default_is_the_file_for_re_import_and_other_layouts_are_refused(rep):
    header, row = _rows(rep.get("/customers/export", {"q": "王芳"}))
    assert header == list(EXPORT_COLUMNS) and row[6] == "partner"
    assert AuditEvent.objects.get(action="export").changes["layout"]["after"] == "importable"
    refused = rep.get("/customers/export", {"layout": "pretty"})
    assert refused.status_code == 422
    assert "layout" in str(refused.json())
    assert AuditEvent.objects.filter(action="export").count() == 1
