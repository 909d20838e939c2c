"""Files for the import tests that are awkward to write by hand: workbooks whose sheet XML has
been tampered with, as other programs and half-finished copies leave them."""

import io
import zipfile

from openpyxl import Workbook


def rewrite_sheet(workbook: Workbook, change) -> bytes:
    """The workbook saved, with ``change`` applied to its first sheet's XML."""
    raw = io.BytesIO()
    workbook.save(raw)
    source = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    rewritten = io.BytesIO()
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            target.writestr(item.filename, data)
    return rewritten.getvalue()


def damaged_xlsx() -> bytes:
    """A workbook of 50 customers whose sheet breaks off half-way (a half-copied file): its
    header reads fine, its rows do not."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "phone"])
    for i in range(50):
        sheet.append([f"客户{i}", f"138123456{i:02d}"])
    return rewrite_sheet(workbook, lambda xml: xml[: len(xml) // 2])
