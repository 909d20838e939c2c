"""A tag whose name holds a character the import also splits a cell of tags on ("B2B/B2C",
"华东, 华南") comes back from an export, of either layout, as the one tag it is, instead of as
new tags made of its pieces. Text naming no tag there is split as before."""

import csv
import io

import pytest
from django.utils import translation

from guanxi.customers.exports import EXPORT_COLUMNS, ExportLayout, customers_export_csv
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
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


# A tag holding a semicolon, the separator between a cell's tags, or starting with a double
# quote, is exported in double quotes (one inside doubled, as in CSV), which the import reads
# back as that one tag, known there or not.
QUOTED = {
    "合作;渠道": '"合作;渠道"',
    "华北；华南": '"华北；华南"',
    '"引号" 客户': '"""引号"" 客户"',
}


@pytest.mark.parametrize("layout", ExportLayout.values)
def test_a_tag_holding_a_semicolon_comes_back_whole(company, tmp_path, layout):
    customer = customer_create(
        actor=company.rep, data={"name": "王芳", "tags": [*QUOTED, "VIP", "B2B/B2C"]}
    )
    with translation.override("zh-hans"):
        content = customers_export_csv(actor=company.rep, layout=layout, filters={"q": "王芳"})
    [_header, row] = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cell = row[EXPORT_COLUMNS.index("tags")]
    assert sorted(cell.split("; ")) == sorted([*QUOTED.values(), "VIP", "B2B/B2C"])
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = _import(company.rep, path)
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert _tags(customer) == sorted([*QUOTED, "VIP", "B2B/B2C"])
    # Into an installation that has none of the tags (the cell alone, as its id would name no
    # customer there), they come back whole too.
    Customer.objects.filter(pk=customer.pk).delete()
    customer.tags.model.objects.all().delete()
    other = tmp_path / "elsewhere.csv"
    with other.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([["name", "tags"], ["王芳", cell]])
    job = _import(company.rep, other)
    assert (job.rows_read, job.created, job.rejected) == (1, 1, 0)
    assert _tags(Customer.objects.get(name="王芳")) == sorted([*QUOTED, "VIP", "B2B", "B2C"])


def test_a_tag_typed_in_double_quotes_is_taken_whole(company, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text('name,tags\n李雷,"""甲;乙""; 丙, 丁; ""a""b"\n', encoding="utf-8")
    job = _import(company.rep, path)
    assert job.created == 1
    # Text that only starts with a quote, and a quote not closing the piece, read as before.
    assert _tags(Customer.objects.get(name="李雷")) == sorted(["甲;乙", "丙", "丁", '"a"b'])
