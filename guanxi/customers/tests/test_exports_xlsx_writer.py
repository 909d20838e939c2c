"""The customer workbook's rows are written as sheet XML by the export itself, not cell by cell
through openpyxl (see ``exports._SheetRows``). These tests hold that writing to what openpyxl's
write-only mode makes of the same customers: the same sheets, byte for byte, and, read back with
openpyxl as the import reads a workbook, the same values with the same types and formats."""

import datetime as dt
import gc
import io
import multiprocessing
import os
import zipfile

import openpyxl
import pytest
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

from guanxi.audit.models import AuditEvent
from guanxi.core.formulas import neutralise_formula
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers import exports
from guanxi.customers.exports import ExportLayout, customers_export_xlsx
from guanxi.customers.models import Address, Customer, Email, Phone, Tag

pytestmark = pytest.mark.django_db

# Text of every kind a customer's cells hold, and the kinds a writer of XML can get wrong.
TEXTS = (
    "王芳",
    "北京华瑞科技有限公司",
    "=SUM(A1:A2)",
    "+86 139 0000 1111",
    "@handle",
    "-5 km",
    "-12.50",
    "'=already quoted",
    "#N/A",
    "#REF!",
    "Tom & Jerry <sales> \"quoted\" 'single'",
    "  leading and trailing spaces  ",
    "   ",
    "line one\nline two",
    "carriage\rreturn\r\nand both",
    "\ttab first",
    "bell\x07 and unit separator\x1f",
    "\x01",
    "text ending in a separator\x1c",
    "_x0041_ looks escaped",
    "<r><t>not formatted</t></r>",
    "\ufffd already replaced",
    "emoji 😀 and 𠀀 outside the basic plane",
    "长" * 200,
)


def varied_customers(company) -> list[Customer]:
    """Customers whose exported cells hold every text of TEXTS somewhere, beside empty cells,
    several phones and emails, dates with and without a fraction of a second, and one
    customer with nothing but a name."""
    customers = []
    for index, text in enumerate(TEXTS):
        customer = CustomerFactory(
            owner=company.rep if index % 2 else None,
            name=text,
            company=TEXTS[-1 - index],
            external_id=f"{text[:80]}-{index}" if index % 3 == 0 else None,
            industry=text[:100] if index % 4 else "",
            region=TEXTS[(index + 5) % len(TEXTS)][:100],
            kind=Customer.Kind.choices[index % len(Customer.Kind.choices)][0],
            id_number_masked="1101**********1234" if index % 5 == 0 else "",
        )
        Customer.objects.filter(pk=customer.pk).update(
            created_at=dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC),
            updated_at=dt.datetime(1999 + index, 12, 31, 16, 0, 0, tzinfo=dt.UTC),
        )
        for n in range(index % 3):
            Phone.objects.create(
                customer=customer, number=f"+861390000{index:02d}{n}", display=f"+86 139 {n}"
            )
        # The last text's customer has a long cell of emails besides its long name.
        for n in range(60 if index == len(TEXTS) - 1 else index % 4):
            Email.objects.create(customer=customer, address=f"u{index}.{n}@例子.cn")
        if index % 2:
            Address.objects.create(
                customer=customer, street=text, city="上海", postcode=" 200000", country="CN"
            )
        if index % 3 == 1:
            customer.tags.add(Tag.objects.get_or_create(name=text[:50])[0])
        customers.append(customer)
    customers.append(CustomerFactory(owner=None, name="只有名字"))
    return customers


def openpyxl_workbook(actor, *, layout=ExportLayout.IMPORTABLE, reveal=False) -> bytes:
    """The same export as openpyxl's write-only mode writes it, one cell object a value, as the
    export did before it wrote its rows itself."""

    def value_of(sheet, value):
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
        if isinstance(value, int):
            return value
        if not value:
            return None
        text = neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
        if text.startswith("=") or text in ERROR_CODES:
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"
            return cell
        return text

    customers = exports._customers_to_export(actor, None, reveal, layout)
    records = exports._laid_out(
        exports._records(customers, reveal=reveal), exports._choice_names(layout)
    )
    workbook = Workbook(write_only=True)
    sheets = 1
    sheet = exports._xlsx_sheet(workbook, sheets, layout)
    rows_in_sheet = 1
    for record in records:
        if rows_in_sheet == exports.XLSX_SHEET_ROWS:
            sheets += 1
            sheet = exports._xlsx_sheet(workbook, sheets, layout)
            rows_in_sheet = 1
        sheet.append([value_of(sheet, value) for value in record])
        rows_in_sheet += 1
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def export_workbook(actor, *, layout=ExportLayout.IMPORTABLE, reveal=False) -> bytes:
    file = customers_export_xlsx(actor=actor, layout=layout, reveal=reveal)
    try:
        return file.read()
    finally:
        file.close()


def cells(data: bytes) -> list[list[list[tuple]]]:
    """Every sheet's cells as openpyxl reads them: value, type, number format, bold, note."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [
        [
            [
                (
                    c.value,
                    c.data_type,
                    c.number_format,
                    c.font.bold,
                    c.comment.text if c.comment else None,
                )
                for c in row
            ]
            for row in sheet.iter_rows()
        ]
        for sheet in workbook.worksheets
    ]


def layout_of(data: bytes) -> list[tuple]:
    """Each sheet's name, frozen panes and column widths."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [
        (
            sheet.title,
            sheet.freeze_panes,
            {k: d.width for k, d in sheet.column_dimensions.items()},
        )
        for sheet in workbook.worksheets
    ]


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("layout", ExportLayout.values)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("reveal", [False, True])
def test_the_workbook_is_the_one_openpyxl_writes_of_the_same_customers(
    company, layout, language, reveal
):
    varied_customers(company)
    with translation.override(language):
        written = export_workbook(company.admin, layout=layout, reveal=reveal)
        expected = openpyxl_workbook(company.admin, layout=layout, reveal=reveal)

    assert cells(written) == cells(expected)
    assert layout_of(written) == layout_of(expected)
    # Every part of the package alike, the sheets' XML byte for byte: whatever else reads the
    # file (Excel, LibreOffice, another program) gets what it got from openpyxl.
    written_parts, expected_parts = parts(written), parts(expected)
    assert sorted(written_parts) == sorted(expected_parts)
    for name, content in expected_parts.items():
        if name != "docProps/core.xml":  # holds the moment the file was made
            assert written_parts[name] == content, name


def test_the_values_read_back_have_the_types_a_spreadsheet_sorts_and_sums_by(company):
    customers = varied_customers(company)
    [sheet] = openpyxl.load_workbook(io.BytesIO(export_workbook(company.admin))).worksheets
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    column = {name: n for n, name in enumerate(exports.EXPORT_COLUMNS)}
    long_text = customers[-2]
    row = rows[long_text.pk]
    assert (row[column["id"]].value, row[column["id"]].data_type) == (long_text.pk, "n")
    created = row[column["created_at"]]
    assert created.is_date and created.value == dt.datetime(2024, 3, 1, 7, 59, 59)
    assert row[column["name"]].value == "长" * 200
    assert len(row[column["emails"]].value) > 800
    assert row[column["company"]].value == "王芳"
    control = rows[customers[TEXTS.index("bell\x07 and unit separator\x1f")].pk]
    assert control[column["name"]].value == "bell\ufffd and unit separator\ufffd"
    formula = rows[customers[TEXTS.index("=SUM(A1:A2)")].pk]
    assert (formula[column["name"]].value, formula[column["name"]].data_type) == (
        "'=SUM(A1:A2)",
        "s",
    )
    only_name = rows[customers[-1].pk]
    assert only_name[column["company"]].value is None
    assert only_name[column["emails"]].value is None


def test_a_long_list_fills_the_same_sheets_as_openpyxl_would(company, monkeypatch):
    varied_customers(company)
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 4)
    monkeypatch.setattr(exports, "EXPORT_CHUNK", 3)
    written = export_workbook(company.admin)
    expected = openpyxl_workbook(company.admin)
    assert len(openpyxl.load_workbook(io.BytesIO(written)).worksheets) > 5
    assert cells(written) == cells(expected)
    assert layout_of(written) == layout_of(expected)
    written_parts, expected_parts = parts(written), parts(expected)
    for name in expected_parts:
        if name.startswith("xl/worksheets/"):
            assert written_parts[name] == expected_parts[name], name


# The processes forked here from now on: whether a sheet's rows were written in a process of
# their own is seen, not taken on trust.
FORKS: list[int] = []
os.register_at_fork(before=lambda: FORKS.append(os.getpid()))


@pytest.mark.parametrize(("fork", "rows_before_fork"), [(True, 0), (True, 3), (False, 0)])
def test_rows_written_in_small_batches_across_sheets_are_the_same(
    company, monkeypatch, settings, fork, rows_before_fork
):
    # Past the rows the web exports while the user waits, a sheet's rows are written in a
    # process of their own, in batches, deflated as they go (or, where processes cannot be
    # forked, in the export's own): batches that end inside a chunk of customers and a sheet,
    # and sheets whose first rows are written in the export's process and the rest in another,
    # give the same sheets.
    varied_customers(company)
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 9)
    monkeypatch.setattr(exports, "EXPORT_CHUNK", 3)
    monkeypatch.setattr(exports, "_ROWS_BATCH", 2)
    monkeypatch.setattr(exports, "_FORK", fork)
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = rows_before_fork
    FORKS.clear()
    written = export_workbook(company.admin)
    assert bool(FORKS) == fork
    expected = openpyxl_workbook(company.admin)
    assert cells(written) == cells(expected)
    written_parts, expected_parts = parts(written), parts(expected)
    sheets = [name for name in expected_parts if name.startswith("xl/worksheets/sheet")]
    assert len(sheets) > 2
    for name in sheets:
        assert written_parts[name] == expected_parts[name], name
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        assert archive.testzip() is None  # every entry's CRC is its content's
    assert not multiprocessing.active_children()


# openpyxl's unsaved sheets complain when they are collected, here rather than in a later test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_failure_writing_the_rows_fails_the_export_with_nothing_recorded(
    company, monkeypatch, settings
):
    # Past the first rows, the rows are written in a process of their own; what goes wrong
    # there is the export's error, raised to whoever asked for it, and no export is recorded
    # as made.
    varied_customers(company)
    monkeypatch.setattr(exports, "_ROWS_BATCH", 2)
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 3
    written_rows = exports._xlsx_row

    def row_or_failure(number, record, dates, **kwargs):
        if number == 7:
            raise OSError("No space left on device")
        return written_rows(number, record, dates, **kwargs)

    monkeypatch.setattr(exports, "_xlsx_row", row_or_failure)
    with pytest.raises(OSError, match="No space left"):
        customers_export_xlsx(actor=company.admin)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
    assert not multiprocessing.active_children()
    gc.collect()


def test_an_empty_list_is_a_workbook_of_the_header_alone(company):
    Customer.objects.all().delete()
    written = export_workbook(company.admin)
    expected = openpyxl_workbook(company.admin)
    assert cells(written) == cells(expected) == [[cells(expected)[0][0]]]
    assert parts(written).keys() == parts(expected).keys()


def test_a_cell_longer_than_a_spreadsheet_holds_is_cut_as_openpyxl_cut_it(company):
    # Excel holds at most 32,767 characters in a cell and reports a longer one as damage to
    # the file; openpyxl cut such text to that length, and so must the export.
    customer = CustomerFactory(owner=None, name="many addresses")
    for n in range(220):
        Email.objects.create(customer=customer, address=f"{'a' * 150}.{n}@example.cn")
    written = export_workbook(company.admin)
    expected = openpyxl_workbook(company.admin)
    assert parts(written)["xl/worksheets/sheet1.xml"] == parts(expected)["xl/worksheets/sheet1.xml"]
    [sheet] = openpyxl.load_workbook(io.BytesIO(written)).worksheets
    emails = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == customer.pk)[
        exports.EXPORT_COLUMNS.index("emails")
    ]
    assert len(emails.value) == 32767


def test_characters_xml_cannot_hold_outside_the_control_characters_are_replaced(company):
    # U+FFFE and U+FFFF are valid text in the database but not in XML: a sheet holding either
    # cannot be opened by Excel, by openpyxl or by the import.
    customer = CustomerFactory(owner=None, name="a\ufffeb\uffffc")
    Address.objects.create(customer=customer, street="x\uffffy", country="CN")
    [sheet] = openpyxl.load_workbook(io.BytesIO(export_workbook(company.admin))).worksheets
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == customer.pk)
    column = exports.EXPORT_COLUMNS.index
    assert row[column("name")].value == "a\ufffdb\ufffdc"
    # What the import compares an address by is what the workbook shows of it.
    shown = tuple(row[column(c)].value or "" for c in ("address", "city", "region", "postcode"))
    assert shown[0] == "x\ufffdy"
    assert exports.address_key("x\uffffy", "", "", "") == exports.address_key(*shown)
