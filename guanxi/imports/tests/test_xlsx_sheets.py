"""A workbook whose customers go on over several sheets, as a long export does ("Customers",
"Customers (2)" …, each with the header row): every sheet headed like the first is read, its
rows numbered on from the sheets before, and a sheet under another header is refused by name
rather than left out without a word."""

import pytest
from openpyxl import Workbook

from guanxi.customers import exports
from guanxi.customers.exports import customers_export_xlsx
from guanxi.customers.models import Customer
from guanxi.imports.readers import FileProblem, open_table
from guanxi.imports.services import import_job_create, import_job_run

HEADER = ["external_id", "name", "phone"]


def _workbook(tmp_path, sheets: dict[str, list[list]]):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "customers.xlsx"
    workbook.save(path)
    return path


def test_further_sheets_headed_like_the_first_are_read_on_from_it(tmp_path):
    path = _workbook(
        tmp_path,
        {
            "Customers": [HEADER, ["A1", "张伟", "13812340001"], ["A2", "王芳", "13812340002"]],
            "Customers (2)": [HEADER, ["A3", "李娜", "13812340003"], [None, None, None]],
            "Empty": [],
            "Customers (3)": [[None], HEADER, ["A4", "刘洋", "13812340004"]],
        },
    )
    table = open_table(path)
    rows = list(table.rows())
    assert [row.cells[0] for row in rows] == ["A1", "A2", "A3", "A4"]
    # Sheets one and two have 3 rows each (a row of empty cells is not stored), the empty sheet
    # none; sheet four's header is its row 2, after a blank row.
    assert [row.number for row in rows] == [2, 3, 3 + 2, 3 + 3 + 3]
    assert table.count_rows() == 4
    # A resumed import starts after its last row, wherever that lies.
    assert [row.cells[0] for row in table.rows(start_after=5)] == ["A4"]


def test_a_further_sheet_under_another_header_is_refused_by_name(tmp_path):
    path = _workbook(
        tmp_path,
        {
            "Customers": [HEADER, ["A1", "张伟", "13812340001"]],
            "备注": [["说明"], ["这是导出的说明"]],
        },
    )
    with pytest.raises(FileProblem, match="“备注”"):
        open_table(path)


@pytest.mark.django_db
def test_an_export_over_several_sheets_imports_again_whole(company, tmp_path, monkeypatch):
    """An export long enough to go on in further sheets (three rows a sheet here) goes back
    into its customers whole: every row read, none created."""
    for customer in Customer.objects.filter(external_id__isnull=True):
        customer.external_id = f"X{customer.pk}"
        customer.save(update_fields=["external_id"])
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 3)
    file = customers_export_xlsx(actor=company.admin, reveal=True)
    path = tmp_path / "export.xlsx"
    path.write_bytes(file.read())
    file.close()
    customers = Customer.objects.count()
    assert customers > 4  # so that the export takes more than two sheets
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    job = import_job_run(job=job)
    assert (job.rows_read, job.created, job.rejected) == (customers, 0, 0)
    assert Customer.objects.count() == customers
