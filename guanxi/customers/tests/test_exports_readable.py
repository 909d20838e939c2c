"""The customer export made for reading: headed by the columns' names and with its choices named,
in the exporter's language, with the same neutralisation of formulas, masking and audit row as
the export for re-import (the default, which stays as it was)."""

import csv
import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import (
    EXPORT_COLUMNS,
    ExportLayout,
    customers_export_csv,
    customers_export_xlsx,
)
from guanxi.customers.services import customer_create

from .test_exports import DANGEROUS_STARTS, PAYLOAD_COLUMNS, customer_with_text

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "xlsx")
HEADERS = {
    "en": [
        "Guanxi ID",
        "External id",
        "Person or organisation",
        "Name",
        "Company",
        "Kind",
        "Relationship level",
        "Lifecycle stage",
        "Industry",
        "Sales region",
        "Source channel",
        "Account manager (username)",
        "Phones",
        "Emails",
        "Street address",
        "City",
        "Province / state",
        "Postcode",
        "Country",
        "Tags",
        "ID number",
        "Created at",
        "Updated at",
    ],
    "zh-hans": [
        "Guanxi 编号",
        "外部编号",
        "个人或组织",
        "名称",
        "公司",
        "客户类别",
        "关系等级",
        "生命周期阶段",
        "行业",
        "销售区域",
        "来源渠道",
        "客户经理（用户名）",
        "电话",
        "邮箱",
        "详细地址",
        "城市",
        "省 / 州",
        "邮编",
        "国家",
        "标签",
        "身份证号",
        "创建时间",
        "更新时间",
    ],
}


def readable_rows(export_format: str, language: str, **kwargs) -> list[dict]:
    """The export's rows as {export column: value}, after checking its header is the columns'
    names in ``language``; a workbook's values are its cells, to see their types."""
    with translation.override(language):
        if export_format == "csv":
            content = customers_export_csv(layout=ExportLayout.READABLE, **kwargs)
            header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
        else:
            file = customers_export_xlsx(layout=ExportLayout.READABLE, **kwargs)
            sheet = openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0]
            file.close()
            header, *rows = sheet.iter_rows()
            header = [cell.value for cell in header]
    assert header == HEADERS[language]
    return [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows]


def _value(cell):
    return getattr(cell, "value", cell)


@pytest.mark.parametrize("export_format", FORMATS)
@pytest.mark.parametrize(
    ("language", "named"),
    [
        (
            "zh-hans",
            {
                "party_type": "组织",
                "kind": "签约客户",
                "relationship_level": "伙伴关系",
                "lifecycle_stage": "重复购买",
                "source_channel": "展会 / 活动",
            },
        ),
        (
            "en",
            {
                "party_type": "Organisation",
                "kind": "Signed",
                "relationship_level": "Partner",
                "lifecycle_stage": "Repeat purchase",
                "source_channel": "Trade show / event",
            },
        ),
    ],
)
def test_choices_are_named_in_the_exporters_language(company, export_format, language, named):
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "华瑞科技",
            "party_type": "organization",
            "kind": "signed",
            "relationship_level": "partner",
            "lifecycle_stage": "repeat_purchase",
            "source_channel": "event",
            "region": "华东",
        },
    )
    [row] = [
        r
        for r in readable_rows(export_format, language, actor=company.rep)
        if str(_value(r["id"])) == str(customer.pk)
    ]
    assert {column: _value(row[column]) for column in named} == named
    assert _value(row["sales_region"]) == "华东"  # free text, as stored
    assert _value(row["owner"]) == "rep"


def test_the_default_export_is_still_for_re_import(company):
    with translation.override("zh-hans"):
        content = customers_export_csv(actor=company.rep).decode("utf-8-sig")
    assert content.splitlines()[0] == ",".join(EXPORT_COLUMNS)


def test_an_unknown_layout_is_refused_before_anything_is_written(company):
    with pytest.raises(ValueError, match="layout"):
        customers_export_csv(actor=company.rep, layout="pretty")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


@pytest.mark.parametrize("export_format", FORMATS)
@pytest.mark.parametrize("start", DANGEROUS_STARTS)
def test_readable_cells_never_start_a_formula(company, export_format, start):
    customer = customer_with_text(start)
    [row] = [
        r
        for r in readable_rows(export_format, "zh-hans", actor=company.admin)
        if str(_value(r["id"])) == str(customer.pk)
    ]
    read_back = start.replace("\r", "\n") if export_format == "xlsx" else start
    for column in PAYLOAD_COLUMNS:
        assert _value(row[column]).startswith("'" + read_back), (column, row[column])
        if export_format == "xlsx":
            assert row[column].data_type == "s"


def test_a_readable_workbook_holds_no_formula_and_keeps_its_types(company):
    customer_with_text("=")
    with translation.override("zh-hans"):
        file = customers_export_xlsx(actor=company.admin, layout=ExportLayout.READABLE)
    data = file.read()
    file.close()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "客户"
    first = list(next(sheet.iter_rows(min_row=2)))
    assert isinstance(first[0].value, int) and first[-1].is_date
    # The names are the headers already: notes only say how to read a column.
    notes = {cell.value: cell.comment.text if cell.comment else None for cell in sheet[1]}
    assert "Guanxi" in notes["Guanxi 编号"] and notes["客户类别"] is None


@pytest.mark.parametrize("export_format", FORMATS)
def test_readable_numbers_are_masked_unless_revealed_by_whoever_may(company, export_format):
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
        export(actor=company.rep, reveal=True, layout=ExportLayout.READABLE)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()

    filters = {"tag": "full"}
    [masked] = readable_rows(export_format, "en", actor=company.manager, filters=filters)
    assert _value(masked["phones"]) == "'+86 139 **** 1111"
    assert _value(masked["id_number"]) == "1****************X"
    [full] = readable_rows(export_format, "en", actor=company.manager, filters=filters, reveal=True)
    assert _value(full["phones"]) == "'+86 139 0000 1111"
    assert _value(full["id_number"]) == "11010519491231002X"


@pytest.mark.parametrize("export_format", FORMATS)
def test_the_audit_row_says_the_export_was_for_reading(company, export_format):
    customer_create(actor=company.rep, data={"name": "Tagged", "tags": ["VIP"]})
    readable_rows(export_format, "zh-hans", actor=company.manager, filters={"tag": "VIP"})
    event = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).latest("id")
    assert event.changes == {
        "format": {"before": None, "after": export_format},
        "layout": {"before": None, "after": "readable"},
        "filters": {"before": None, "after": {"tag": "VIP"}},
        "rows": {"before": None, "after": 1},
        "revealed": {"before": None, "after": False},
    }
