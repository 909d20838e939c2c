"""A file the project wrote — a customer export or an import's error file — quotes the cells a
spreadsheet would evaluate; edited and imported again, it stores the text without that quote."""

import csv
import io

import openpyxl
import pytest

from guanxi.customers.exports import customers_export_csv, customers_export_xlsx
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportRowError
from guanxi.imports.services import import_job_create, import_job_run, write_error_rows

pytestmark = pytest.mark.django_db

ORIGINALS = {
    "F1": {
        "name": "=Zhang",
        "company": "+Huarui",
        "tags": ["-VIP", "@fair"],
        # With a country: an address imported without one is given CN.
        "addresses": [
            {"street": "=1+1 Main St", "city": "+Shanghai", "region": "-East", "country": "CN"}
        ],
    },
    "F2": {
        "name": "@Li Na",
        "company": "-Dash Ltd",
        "tags": ["=1+1"],
        "addresses": [{"street": "@home", "postcode": "-1234 AB", "country": "NL"}],
    },
    "F3": {"name": "+Wang", "company": "  =SUM(A1)", "tags": ["plain"]},
}
PHONES = {"F1": "+86 139 0000 1111", "F2": "+1 202-555-0100", "F3": "13800002222"}


def stored(external_id: str) -> dict:
    customer = Customer.objects.get(external_id=external_id)
    return {
        "name": customer.name,
        "company": customer.company,
        "tags": sorted(customer.tags.values_list("name", flat=True)),
        "phones": sorted(customer.phones.values_list("number", flat=True)),
        "addresses": list(
            customer.addresses.values_list("street", "city", "region", "postcode", "country")
        ),
    }


@pytest.fixture
def exported_customers(company):
    for external_id, data in ORIGINALS.items():
        customer_create(
            actor=company.admin,
            data={**data, "external_id": external_id, "phones": [PHONES[external_id]]},
        )
    return {external_id: stored(external_id) for external_id in ORIGINALS}


def run_import(tmp_path, content: bytes, actor, name, **options):
    path = tmp_path / name
    path.write_bytes(content)
    job = import_job_create(actor=actor, path=path, filename=name, kind="customers", **options)
    return import_job_run(job=job)


def only_rows(rows: list[list], external_ids) -> list[list]:
    """The header and the rows of these customers, as someone trimming the export would."""
    column = rows[0].index("external_id")
    return [rows[0], *(row for row in rows[1:] if row[column] in external_ids)]


def csv_of(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def exported_rows(export_format, actor) -> list[list]:
    if export_format == "csv":
        content = customers_export_csv(actor=actor, reveal=True).decode("utf-8-sig")
        return [list(row) for row in csv.reader(io.StringIO(content))]
    file = customers_export_xlsx(actor=actor, reveal=True)
    workbook = openpyxl.load_workbook(io.BytesIO(file.read()))
    file.close()
    return [
        ["" if v is None else v for v in row] for row in workbook.active.iter_rows(values_only=True)
    ]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_export_imported_again_updates_by_external_id_to_the_same_values(
    company, exported_customers, tmp_path, export_format
):
    rows = only_rows(exported_rows(export_format, company.admin), set(ORIGINALS))
    assert len(rows) == 4
    name = rows[0].index("name")
    assert {row[name] for row in rows[1:]} == {"'=Zhang", "'@Li Na", "'+Wang"}
    street = rows[0].index("address")
    assert {row[street] for row in rows[1:]} == {"'=1+1 Main St", "'@home", ""}
    # The customers are changed in between, so an update that stored nothing would show.
    Customer.objects.filter(external_id__in=ORIGINALS).update(name="changed", company="changed")
    if export_format == "csv":
        content, filename = csv_of(rows), "export.csv"
    else:
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        content, filename = buffer.getvalue(), "export.xlsx"
    job = run_import(tmp_path, content, company.admin, filename)
    assert (job.updated, job.rejected) == (3, 0), list(
        ImportRowError.objects.filter(job=job).values_list("reason", flat=True)
    )
    for external_id, original in exported_customers.items():
        assert stored(external_id) == original


def test_an_export_imported_without_duplicate_checks_creates_the_same_values(
    company, exported_customers, tmp_path
):
    rows = only_rows(exported_rows("csv", company.admin), set(ORIGINALS))
    Customer.objects.filter(external_id__in=ORIGINALS).delete()
    # Without the Guanxi id column, whose ids would name customers no longer there.
    rows = [row[1:] for row in rows]
    assert rows[0][0] == "external_id"
    job = run_import(tmp_path, csv_of(rows), company.admin, "export.csv", dedup="off")
    assert (job.created, job.rejected) == (3, 0), list(
        ImportRowError.objects.filter(job=job).values_list("reason", flat=True)
    )
    for external_id, original in exported_customers.items():
        assert stored(external_id) == original


def test_a_quote_not_before_a_formula_is_kept_as_typed(company, tmp_path):
    content = "name,company\n'hello,'-5\n''=1,x\n"
    job = run_import(tmp_path, content.encode(), company.admin, "quotes.csv", dedup="off")
    assert (job.created, job.rejected) == (2, 0)
    assert Customer.objects.filter(name="'hello", company="'-5").exists()
    # An export writes the text "'=1" with one more quote, so "''=1" is that text.
    assert Customer.objects.filter(name="'=1").exists()


def test_the_error_file_quotes_formulas_and_its_fixed_rows_import_unquoted(company, tmp_path):
    content = 'name,phone,company\n"=HYPERLINK(""http://x.example"",""y"")",12345,+Acme\n'
    job = run_import(tmp_path, content.encode(), company.admin, "bad.csv")
    assert job.rejected == 1
    buffer = io.StringIO()
    write_error_rows(job, buffer)
    header, row = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert row[0] == '\'=HYPERLINK("http://x.example","y")'
    assert row[2] == "'+Acme"
    assert header[-2:] == ["import_row", "import_error"]
    assert row[-1].startswith("phone:")
    # Fix the bad phone and import the error file itself.
    row[1] = "13900001111"
    again = run_import(tmp_path, csv_of([header, row]), company.admin, "fixed.csv")
    assert (again.created, again.rejected) == (1, 0)
    customer = Customer.objects.get(company="+Acme")
    assert customer.name == '=HYPERLINK("http://x.example","y")'
