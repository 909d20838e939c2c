"""A tag whose name holds a character the import also splits a cell of tags on ("B2B/B2C",
"华东, 华南") comes back from an export, of either layout and format, as the one tag it is,
instead of as new tags made of its pieces, in this installation and in one that has no tag of
that name. Text naming no tag there is split as before."""

import csv
import io
import string

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from guanxi.customers.exports import (
    EXPORT_COLUMNS,
    ExportLayout,
    customers_export_csv,
    customers_export_xlsx,
    tags_cell,
)
from guanxi.customers.models import Customer, Tag
from guanxi.customers.services import customer_create
from guanxi.imports.customer_rows import _split_tags
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

TAGS = ["B2B/B2C", "VIP", "华东, 华南", "展会|2026"]


def _import(actor, path):
    return import_job_run(
        job=import_job_create(actor=actor, path=path, filename=path.name, kind="customers")
    )


def _tags(customer: Customer) -> list[str]:
    return sorted(customer.tags.values_list("name", flat=True))


@pytest.mark.parametrize("layout", ExportLayout.values)
def test_tags_come_back_whole_from_an_export(company, tmp_path, layout):
    customer = customer_create(actor=company.rep, data={"name": "王芳", "tags": TAGS})
    with translation.override("zh-hans"):
        content = customers_export_csv(actor=company.rep, layout=layout, filters={"q": "王芳"})
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = _import(company.rep, path)
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert _tags(customer) == sorted(TAGS)


def test_text_naming_no_tag_is_still_split(company, tmp_path):
    customer_create(actor=company.rep, data={"name": "王芳", "tags": ["B2B/B2C"]})
    path = tmp_path / "new.csv"
    path.write_text('name,tags\n李雷,"B2B/B2C; 新/旧, 老"\n', encoding="utf-8")
    job = _import(company.rep, path)
    assert job.created == 1
    assert _tags(Customer.objects.get(name="李雷")) == sorted(["B2B/B2C", "新", "旧", "老"])


# A tag holding a semicolon, the separator between a cell's tags, or another separator, or
# starting with a double quote, is exported in double quotes (one inside doubled, as in CSV),
# which the import reads back as that one tag, known there or not.
QUOTED = {
    "合作;渠道": '"合作;渠道"',
    "华北；华南": '"华北；华南"',
    '"引号" 客户': '"""引号"" 客户"',
    "B2B/B2C": '"B2B/B2C"',
}


@pytest.mark.parametrize("layout", ExportLayout.values)
def test_a_tag_holding_a_semicolon_comes_back_whole(company, tmp_path, layout):
    customer = customer_create(actor=company.rep, data={"name": "王芳", "tags": [*QUOTED, "VIP"]})
    with translation.override("zh-hans"):
        content = customers_export_csv(actor=company.rep, layout=layout, filters={"q": "王芳"})
    [_header, row] = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cell = row[EXPORT_COLUMNS.index("tags")]
    assert sorted(cell.split("; ")) == sorted([*QUOTED.values(), "VIP"])
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = _import(company.rep, path)
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert _tags(customer) == sorted([*QUOTED, "VIP"])
    # Into an installation that has none of the tags (the cell alone, as its id would name no
    # customer there), they come back whole too.
    Customer.objects.filter(pk=customer.pk).delete()
    customer.tags.model.objects.all().delete()
    other = tmp_path / "elsewhere.csv"
    with other.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([["name", "tags"], ["王芳", cell]])
    job = _import(company.rep, other)
    assert (job.rows_read, job.created, job.rejected) == (1, 1, 0)
    assert _tags(Customer.objects.get(name="王芳")) == sorted([*QUOTED, "VIP"])


def test_a_tag_typed_in_double_quotes_is_taken_whole(company, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(
        'name,tags\n李雷,"""甲;乙""; 丙, 丁; ""a""b; VIP, ""华东, 华南""/""x|y"""\n',
        encoding="utf-8",
    )
    job = _import(company.rep, path)
    assert job.created == 1
    # Text that only starts with a quote, and a quote not closing the piece, read as before; a
    # quoted tag among others separated by commas or slashes is taken whole too.
    assert _tags(Customer.objects.get(name="李雷")) == sorted(
        ["甲;乙", "丙", "丁", '"a"b', "VIP", "华东, 华南", "x|y"]
    )


# Every character a cell of tags might be split on, ASCII and Chinese punctuation.
PUNCTUATION = string.punctuation + "，、；：。！？｜／（）【】《》“”‘’"


@pytest.mark.parametrize("character", PUNCTUATION)
def test_the_export_writes_a_tag_holding_any_separator_so_that_the_import_reads_it_whole(
    character,
):
    # Whatever the import splits a cell of tags on, the export's cell keeps the tag whole, in
    # an installation that knows no such tag, first or among others.
    tags = [f"甲{character}乙", "VIP", f"{character}丙"]
    assert _split_tags(tags_cell(tags), frozenset()) == tags


# Customers whose tags hold each separator the import splits a cell of tags on, quotes, the
# characters that start a formula, and Chinese; with their cells of tags in the export. A cell
# is neutralised as a whole after its tags are joined: a first tag starting a formula unquoted
# gives it a leading single quote, one quoted for a separator gives it a double quote, and such
# a cell is no formula. Where the order of a customer's tags in the cell depends on the
# database's collation, only its pieces are given (a set).
ROUND_TRIP = {
    "王芳": (
        [
            *("B2B/B2C", "华东,华南", "华东，华南", "甲、乙", "展会|2026", "合作;渠道"),
            *("华北；华南", "B2B／B2C", "展会｜2026", "重点客户", "VIP"),
        ],
        {
            '"B2B/B2C"',
            '"华东,华南"',
            '"华东，华南"',
            '"甲、乙"',
            '"展会|2026"',
            '"合作;渠道"',
            '"华北；华南"',
            '"B2B／B2C"',
            '"展会｜2026"',
            "重点客户",
            "VIP",
        },
    ),
    "李雷": (
        ['说"好"的, 客户', '"引号" 客户', '半"引号'],
        {'"说""好""的, 客户"', '"""引号"" 客户"', '半"引号'},
    ),
    "韩梅梅": (["=a", "=b|c"], '\'=a; "=b|c"'),
    "张伟": (["+86/VIP"], '"+86/VIP"'),
    "刘洋": (["-5%", "-返利"], "'-5%; -返利"),
    "陈静": (["@渠道, 老客户"], '"@渠道, 老客户"'),
    "赵强": (["=SUM(A1,A2)"], '"=SUM(A1,A2)"'),
    "周杰": (["@VIP"], "'@VIP"),
}


def _exported(export_format: str, actor, layout: str) -> tuple[bytes, list[list[str]]]:
    """The export of the customers ``actor`` sees, and its rows as text."""
    with translation.override("zh-hans"):
        if export_format == "csv":
            content = customers_export_csv(actor=actor, layout=layout)
            return content, list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        file = customers_export_xlsx(actor=actor, layout=layout)
    content = file.read()
    file.close()
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return content, rows


def _file_of(export_format: str, rows: list[list[str]], path) -> None:
    """A file of these rows in that format, as someone would make it from the export's cells."""
    if export_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
        return
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)


@pytest.mark.parametrize("layout", ExportLayout.values)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_tags_with_separators_quotes_and_formulas_make_the_round_trip(
    company, tmp_path, export_format, layout
):
    for name, (tags, _cell) in ROUND_TRIP.items():
        customer_create(actor=company.admin, data={"name": name, "tags": tags})
    content, rows = _exported(export_format, company.admin, layout)
    name_at, tags_at = EXPORT_COLUMNS.index("name"), EXPORT_COLUMNS.index("tags")
    cells = {row[name_at]: row[tags_at] for row in rows[1:] if row[name_at] in ROUND_TRIP}
    assert cells.keys() == ROUND_TRIP.keys()
    for name, (_tags_of, cell) in ROUND_TRIP.items():
        if isinstance(cell, set):
            assert set(cells[name].split("; ")) == cell, name
        else:
            assert cells[name] == cell, name
        assert cells[name][0] not in "=+-@", name

    # Imported again as exported: nothing changes and no tag is added.
    path = tmp_path / f"customers.{export_format}"
    path.write_bytes(content)
    tags_before = set(Tag.objects.values_list("name", flat=True))
    job = _import(company.admin, path)
    # Every row goes back into its customer (the imports' own customers too) and changes nothing.
    exported = len(rows) - 1
    assert (job.rows_read, job.updated, job.unchanged, job.created, job.rejected) == (
        exported,
        exported,
        exported,
        0,
        0,
    )
    assert set(Tag.objects.values_list("name", flat=True)) == tags_before
    for name, (tags, _cell) in ROUND_TRIP.items():
        assert _tags(Customer.objects.get(name=name)) == sorted(tags), name

    # Into an installation that has none of the customers and tags (the names and the cells of
    # tags alone), the tags come back whole too.
    Customer.objects.filter(name__in=ROUND_TRIP).delete()
    Tag.objects.filter(name__in=[t for tags, _cell in ROUND_TRIP.values() for t in tags]).delete()
    elsewhere = tmp_path / f"elsewhere.{export_format}"
    _file_of(export_format, [["name", "tags"], *([n, c] for n, c in cells.items())], elsewhere)
    job = _import(company.admin, elsewhere)
    assert (job.rows_read, job.created, job.rejected) == (len(ROUND_TRIP), len(ROUND_TRIP), 0)
    assert set(Tag.objects.values_list("name", flat=True)) == tags_before
    for name, (tags, _cell) in ROUND_TRIP.items():
        assert _tags(Customer.objects.get(name=name)) == sorted(tags), name
