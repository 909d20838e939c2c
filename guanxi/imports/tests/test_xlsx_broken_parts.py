"""Workbooks broken in ways openpyxl reports with errors of its own: a part of the package whose
XML is not XML, a cell naming a shared string the workbook does not have, a row numbered past
the last row a worksheet has. Each is refused on the upload form saying why, like any other
unreadable workbook, and nothing is kept."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook

from guanxi.imports.models import ImportJob
from guanxi.imports.readers import FileProblem, open_table

from .files import rewrite_sheet

pytestmark = pytest.mark.django_db


def _workbook() -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "phone"])
    sheet.append(["张三", "13812345678"])
    sheet.append(["李四", "13812345679"])
    return workbook


def _with_part(part: str, data: bytes) -> bytes:
    """The workbook saved, with the package part ``part`` replaced by ``data``."""
    raw = io.BytesIO()
    _workbook().save(raw)
    source = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    rewritten = io.BytesIO()
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, data if item.filename == part else source.read(item))
    return rewritten.getvalue()


def _last_row_numbered(number: int) -> bytes:
    """The workbook with its last row (李四, row 3) numbered ``number``."""

    def renumber(xml: bytes) -> bytes:
        xml = xml.replace(b'<row r="3"', f'<row r="{number}"'.encode())
        return re.sub(rb'r="([A-Z]+)3"', lambda m: b'r="%s%d"' % (m.group(1), number), xml)

    return rewrite_sheet(_workbook(), renumber)


def _unknown_shared_string() -> bytes:
    # The first data row's name cell points at shared string 999; the workbook has a few.
    def point_away(xml: bytes) -> bytes:
        return re.sub(rb'<c r="A2"[^>]*>.*?</c>', b'<c r="A2" t="s"><v>999</v></c>', xml)

    return rewrite_sheet(_workbook(), point_away)


UNREADABLE = [
    # (what, the workbook, what the refusal says)
    ("styles that are no XML", _with_part("xl/styles.xml", b"garbage"), "not a readable"),
    ("a workbook part cut short", _with_part("xl/workbook.xml", b"<workbook"), "not a readable"),
    ("an empty sheet part", _with_part("xl/worksheets/sheet1.xml", b""), "not a readable"),
    (
        "relationships that are no XML",
        _with_part("xl/_rels/workbook.xml.rels", b"x"),
        "not a readable",
    ),
    ("content types that are no XML", _with_part("[Content_Types].xml", b"x"), "not a readable"),
    ("properties that are no XML", _with_part("docProps/core.xml", b"x"), "not a readable"),
    ("a cell naming a shared string it lacks", _unknown_shared_string(), "damaged"),
    ("a row past the last a sheet has", _last_row_numbered(1_048_577), "1,048,576"),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _what, content, message in UNREADABLE],
    ids=[what for what, _content, _message in UNREADABLE],
)
def test_the_upload_form_refuses_the_workbook_saying_why(
    client, company, settings, tmp_path, content, message
):
    settings.DATA_DIR = tmp_path / "data"
    client.force_login(company.rep)
    response = client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile("客户.xlsx", content), "kind": "customers", "dedup": "auto"},
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    uploads = tmp_path / "data" / "imports"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_row_numbered_far_past_the_last_is_refused_at_once(tmp_path):
    # Read as written, the rows between would be counted out one by one for hours.
    path = tmp_path / "a.xlsx"
    path.write_bytes(_last_row_numbered(99_999_999_999))
    with pytest.raises(FileProblem, match="1,048,576"):
        open_table(path).count_rows()


def test_a_row_on_the_last_a_sheet_has_is_read(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(_last_row_numbered(1_048_576))
    rows = [(row.number, row.cells) for row in open_table(path).rows()]
    assert rows == [(2, ["张三", "13812345678"]), (1_048_576, ["李四", "13812345679"])]


def test_the_row_beyond_the_last_is_told_in_chinese(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(_last_row_numbered(1_048_577))
    for language, words in (("zh-hans", "最后一行"), ("zh-hant", "最後一行")):
        with translation.override(language), pytest.raises(FileProblem, match=words):
            open_table(path).count_rows()
