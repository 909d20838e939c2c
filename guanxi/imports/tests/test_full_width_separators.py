"""A cell of several values typed on a Chinese keyboard holds the full-width forms of the
separators (｜, ／, ，, ；): each splits the cell as its half-width form does, for phones, emails
and tags alike. A tag holding one keeps the rules of a tag holding the half-width form: typed in
double quotes it is taken whole, one the installation has stays whole between semicolons, and an
export writes it in double quotes, so that the file imported again, here or elsewhere, gives the
same tags."""

import csv
import io

import pytest
from django.utils import translation

from guanxi.customers.exports import (
    EXPORT_COLUMNS,
    ExportLayout,
    customers_export_csv,
    customers_export_xlsx,
)
from guanxi.customers.models import Customer, Tag
from guanxi.customers.services import customer_create
from guanxi.imports.customer_rows import _split, _split_tags
from guanxi.imports.services import import_job_create, import_job_run

# Each separator with a full-width form, and that form. "、" has none: it is Chinese already.
PAIRS = [(";", "；"), (",", "，"), ("|", "｜"), ("/", "／")]
IDS = [f"U+{ord(full):04X}" for _half, full in PAIRS]


@pytest.mark.parametrize(("half", "full"), PAIRS, ids=IDS)
def test_a_full_width_separator_splits_a_cell_as_its_half_width_form(half, full):
    # A tag quoted for holding the separator keeps the form it was typed in.
    for cell in ("甲{}乙", "甲 {} 乙{}", '"甲{}乙"{}丙', "{}甲"):
        as_half = _split_tags(cell.format(half, half), frozenset())
        assert _split_tags(cell.format(full, full), frozenset()) == [
            tag.replace(half, full) for tag in as_half
        ], cell
    phones = "138 1234 5678{}139 8765 4321"
    assert _split(phones.format(half)) == ["138 1234 5678", "139 8765 4321"]
    assert _split(phones.format(full)) == _split(phones.format(half))
    emails = "a@example.cn{}b@example.cn"
    assert _split(emails.format(full), emails=True) == ["a@example.cn", "b@example.cn"]


# Not a semicolon: it separates the cell's pieces, and only a quoted tag may hold one.
@pytest.mark.parametrize("full", [full for half, full in PAIRS if half != ";"], ids=IDS[1:])
def test_a_known_tag_holding_a_full_width_separator_stays_whole(full):
    known = f"B2B{full}B2C"
    assert _split_tags(f"{known}; 新{full}旧", frozenset({known})) == [known, "新", "旧"]


def _import(actor, path):
    return import_job_run(
        job=import_job_create(actor=actor, path=path, filename=path.name, kind="customers")
    )


def _tags(customer: Customer) -> list[str]:
    return sorted(customer.tags.values_list("name", flat=True))


@pytest.mark.django_db
def test_a_row_typed_with_full_width_separators_is_imported_as_with_half_width_ones(
    company, tmp_path
):
    # The tag holding a separator is one this installation has, found by the import's query.
    customer_create(actor=company.rep, data={"name": "王芳", "tags": ["B2B／B2C"]})
    path = tmp_path / "new.csv"
    path.write_text(
        "name,phone,email,tags\n"
        "李雷,13812345678｜13987654321,li@example.cn／lei@example.cn,"
        '"B2B／B2C； 展会／2026｜VIP"\n',
        encoding="utf-8",
    )
    job = _import(company.rep, path)
    assert (job.created, job.rejected) == (1, 0)
    customer = Customer.objects.get(name="李雷")
    assert set(customer.phones.values_list("number", flat=True)) == {
        "+8613812345678",
        "+8613987654321",
    }
    assert customer.emails.count() == 2
    assert _tags(customer) == sorted(["B2B／B2C", "展会", "2026", "VIP"])


# Tags holding the full-width separators, and how the export writes each in its cell.
FULL_WIDTH_TAGS = {
    "B2B／B2C": '"B2B／B2C"',
    "展会｜2026": '"展会｜2026"',
    "华东，华南": '"华东，华南"',
    "华北；华南": '"华北；华南"',
    "VIP": "VIP",
}


@pytest.mark.django_db
@pytest.mark.parametrize("layout", ExportLayout.values)
def test_tags_holding_full_width_separators_make_the_round_trip(company, tmp_path, layout):
    customer = customer_create(actor=company.rep, data={"name": "王芳", "tags": [*FULL_WIDTH_TAGS]})
    with translation.override("zh-hans"):
        content = customers_export_csv(actor=company.rep, layout=layout, filters={"q": "王芳"})
    [_header, row] = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cell = row[EXPORT_COLUMNS.index("tags")]
    assert sorted(cell.split("; ")) == sorted(FULL_WIDTH_TAGS.values())

    # Imported again as exported: nothing changes.
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = _import(company.rep, path)
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert _tags(customer) == sorted(FULL_WIDTH_TAGS)

    # Into an installation that has neither the customer nor the tags, they come back whole.
    Customer.objects.filter(pk=customer.pk).delete()
    Tag.objects.all().delete()
    elsewhere = tmp_path / "elsewhere.csv"
    with elsewhere.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([["name", "tags"], ["王芳", cell]])
    job = _import(company.rep, elsewhere)
    assert (job.rows_read, job.created, job.rejected) == (1, 1, 0)
    assert _tags(Customer.objects.get(name="王芳")) == sorted(FULL_WIDTH_TAGS)


# Addresses the address check takes that hold a separator: "/" and "|" may stand in an
# address's local part, and a domain typed in Chinese may hold the full-width forms.
ADDRESSES_HOLDING_A_SEPARATOR = [
    "a/b@example.cn",
    "c|d@example.cn",
    "li@例子｜公司.cn",
    "li@例子／公司.cn",
]


def _export(actor, export_format: str, layout: str) -> bytes:
    if export_format == "csv":
        return customers_export_csv(actor=actor, layout=layout, filters={"q": "王芳"})
    with customers_export_xlsx(actor=actor, layout=layout, filters={"q": "王芳"}) as file:
        return file.read()


@pytest.mark.django_db
@pytest.mark.parametrize("layout", ExportLayout.values)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_address_holding_a_separator_makes_the_round_trip(
    company, tmp_path, export_format, layout
):
    # A customer's stored addresses, exported and imported again, are the same addresses,
    # instead of the row being refused for the pieces of one of them.
    customer = customer_create(
        actor=company.rep, data={"name": "王芳", "emails": ADDRESSES_HOLDING_A_SEPARATOR}
    )
    with translation.override("zh-hans"):
        content = _export(company.rep, export_format, layout)
    path = tmp_path / f"customers.{export_format}"
    path.write_bytes(content)
    job = _import(company.rep, path)
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert sorted(customer.emails.values_list("address", flat=True)) == sorted(
        ADDRESSES_HOLDING_A_SEPARATOR
    )


def test_addresses_run_together_by_a_separator_are_still_split():
    # Not one address as a whole: split as before, whatever the separator.
    for separator in ["/", "|", "／", "｜"]:
        cell = f"a@example.cn{separator}b@example.cn"
        assert _split(cell, emails=True) == ["a@example.cn", "b@example.cn"], separator
    assert _split("a/b@example.cn; li@例子｜公司.cn，c@example.cn", emails=True) == [
        "a/b@example.cn",
        "li@例子｜公司.cn",
        "c@example.cn",
    ]
    # One typed beside a space, at the start or the end of a piece, separates.
    for cell in ("a@example.cn /b@example.cn", "a@example.cn| b@example.cn"):
        assert _split(cell, emails=True) == ["a@example.cn", "b@example.cn"], cell
