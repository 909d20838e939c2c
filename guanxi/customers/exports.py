"""Exporting customer lists as CSV or as an Excel workbook (XLSX).

Every export goes through the visibility rule, shows phones and ID numbers masked unless a
permitted user asks for them in full, neutralises spreadsheet formulas, and is written to the
audit log. It comes in two layouts (:class:`ExportLayout`): for re-import, with the import's
field keys as headers and the choices as their stored codes, and for reading, with the columns'
labels and the choices' names in the exporter's language; the import takes both back. Both
formats hold the same columns and the same text; they differ only where a spreadsheet has a
better type than text:

- CSV has no types, so the id is digits and the two timestamps are ISO 8601 with their UTC
  offset: whatever reads the file gets the exact instant.
- XLSX stores the id as a number and the timestamps as real spreadsheet dates in the site's time
  zone (``TIME_ZONE``, the time the pages show), so people can sort, filter and group by date in
  the program they opened the file for. Spreadsheet dates cannot carry a time zone, and the
  fraction of a second is dropped because no one reads it there.

Text gets the same formula neutralisation in both. A workbook stores it as typed strings, which
no spreadsheet evaluates on opening, but the text becomes a formula again as soon as someone
edits the cell and presses Enter, or saves the sheet as CSV; the leading quote survives both.
"""

import csv
import datetime as dt
import io
import multiprocessing
import re
import signal
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.audit.summaries import Summary
from guanxi.core.crypto import decrypt_text
from guanxi.core.deflated_entries import DeflatedPiece, deflated, write_deflated_entry
from guanxi.core.formulas import neutralise_formula
from guanxi.core.masking import mask_phone

from .models import Address, Customer, Email, Phone
from .selectors import customer_list_for_user, of_customers, tag_names_by_customer
from .visibility import VIEW


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", gettext_lazy("Excel (.xlsx)")


class ExportLayout(models.TextChoices):
    IMPORTABLE = "importable", gettext_lazy("For re-import")
    READABLE = "readable", gettext_lazy("For reading")


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# The customer's classifications, exported as they are stored.
STORED_COLUMNS = (
    "kind",
    "relationship_level",
    "lifecycle_stage",
    "industry",
    "region",
    "source_channel",
)
# The customer's address, under the import's keys for an address's fields (its ``address`` is the
# street), each with the field of Address it shows. ``region`` here is the address's province,
# as in the import; the customer's own ``region``, the sales region, is ``sales_region``.
# A customer has no primary address: the export shows the first in the model's ordering (the
# earliest added, first on the customer's page too), and a customer's further addresses are
# not exported. An import adds the address of a row that the customer lacks and changes none.
ADDRESS_COLUMNS = {
    "address": "street",
    "city": "city",
    "region": "region",
    "postcode": "postcode",
    "country": "country",
}
# The headers are the customer import's field keys, so that an export edited and imported again
# fills the fields it came from: the sales region (the model's ``region``) is ``sales_region``
# there, as ``region`` is an address's province, which it went into before.
EXPORT_COLUMNS = (
    "id",
    "external_id",
    "party_type",
    "name",
    "company",
    *("sales_region" if column == "region" else column for column in STORED_COLUMNS),
    "owner",
    "phones",
    "emails",
    *ADDRESS_COLUMNS,
    "tags",
    "id_number",
    "created_at",
    "updated_at",
)
# What a workbook's header cells say in a note, in the reader's language, beside what the column
# is called there (see _header_note). The headers themselves stay the field keys in both formats:
# they are what the import reads back without a mapping, whatever language the file was made in.
# The names go in notes on the header cells rather than in a sheet of their own, because a long
# list goes on in further sheets of the same columns: a reader or a program joining the sheets
# would take a sheet of explanations for customers. A note stays with its column, on every sheet,
# and changes nothing the import or a filter reads.
COLUMN_LABELS = {
    "id": gettext_lazy("Guanxi ID"),
    "owner": gettext_lazy("account manager (username)"),
    "phones": gettext_lazy("Phones"),
    "emails": gettext_lazy("Emails"),
    "id_number": gettext_lazy("ID number"),
    "sales_region": gettext_lazy("sales region"),
    # The street is called so in the import's list of fields, which is what a reader of the
    # export goes by to put an address in it.
    "address": gettext_lazy("street address"),
}
SEVERAL = gettext_lazy("several are separated by “;”")
FIRST_ADDRESS = gettext_lazy(
    "of the customer's first address; an import adds an address the customer does not have "
    "and changes or removes none"
)
COLUMN_NOTES = {
    # The number is this installation's: the same number in another one's export names
    # someone else here, and the import refuses such rows (see imports/identity.py).
    "id": gettext_lazy(
        "this Guanxi installation's own number; the import updates that customer by it. A file "
        "from another installation: remove this column"
    ),
    "phones": SEVERAL,
    "emails": SEVERAL,
    "tags": SEVERAL,
    **dict.fromkeys(ADDRESS_COLUMNS, FIRST_ADDRESS),
    "created_at": gettext_lazy("in the site's time zone; the import does not read it"),
    "updated_at": gettext_lazy("in the site's time zone; the import does not read it"),
}
# A readable export's headers are the columns' labels (see readable_header): COLUMN_LABELS, else
# the model field's own, except where that one is another import field's word. The party type's
# label "type" is the customer's kind for the import (a common header), and the sales region's
# "region" an address's province, so each is headed by a label that names only it; the
# address's province is headed by its own field's label, "province / state". The import maps
# every one of these headers back to its field, in either language (imports/mapping.py).
READABLE_LABELS = {
    "party_type": gettext_lazy("person or organisation"),
    "created_at": gettext_lazy("created at"),
    "updated_at": gettext_lazy("updated at"),
}
# Widths in characters, so a workbook opens readable; a date column narrower than its text
# would show only "#####".
XLSX_WIDTHS = {"name": 24, "company": 24, "phones": 28, "emails": 30, "address": 30, "tags": 24}
XLSX_DEFAULT_WIDTH = 14
XLSX_DATE_WIDTH = 19
# Rows an Excel sheet holds, its header row included (2**20). openpyxl writes longer sheets
# without complaint, but Excel refuses to open such a file or drops the rows past the limit, so
# a longer list goes on in further sheets, each with its own header.
XLSX_SHEET_ROWS = 1_048_576
# Customers read at a time, each chunk with its phones, emails, addresses and tags (see _records).
EXPORT_CHUNK = 2000
# Characters of CSV sent at a time by a streaming export.
CSV_PIECE = 256 * 1024


def _records(customers, *, reveal: bool) -> Iterator[tuple]:
    """One tuple per customer in ``EXPORT_COLUMNS`` order, with ints and datetimes kept as such
    for the formats that have those types.

    Read as plain values, ``EXPORT_CHUNK`` customers at a time with their phones, emails,
    addresses and tags in one query each, by the ids of the customers read (see
    :func:`~guanxi.customers.selectors.of_customers`). Model instances with prefetched
    relations cost about 0.25 ms a customer to build, most of an export's time: a sales rep's
    63,000 customers took 21 s.

    The related rows are asked for by the customers' ids, not by the visibility rule again:
    the export runs its queries one after the other, each seeing the customers as they are
    when it starts, and a customer handed to the exporter (or taken from them) between the
    reading of the list and of its phones would otherwise be exported without its phones,
    emails, address and tags, as if it had none."""
    rows = customers.values_list(
        "pk",
        "external_id",
        "party_type",
        "name",
        "organization_in_sight",
        "company",
        *STORED_COLUMNS,
        "owner__username",
        "id_number_encrypted",
        "id_number_masked",
        "created_at",
        "updated_at",
    ).iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(rows, EXPORT_CHUNK)):
        ids = [row[0] for row in chunk]
        # Phones and emails come in their models' own order, primary first, as on the page; a
        # customer's tags in name order.
        phones = _by_customer(
            of_customers(Phone.objects.values_list("customer_id", "display"), ids)
        )
        emails = _by_customer(
            of_customers(Email.objects.values_list("customer_id", "address"), ids)
        )
        addresses = _first_addresses(ids)
        tags = tag_names_by_customer(ids)
        for (
            pk,
            external_id,
            party_type,
            name,
            organization_name,
            company,
            *stored,
            owner,
            id_number_encrypted,
            id_number_masked,
            created_at,
            updated_at,
        ) in chunk:
            numbers = phones.get(pk, ())
            if reveal and id_number_encrypted:
                id_number = decrypt_text(id_number_encrypted)
            else:
                id_number = id_number_masked
            yield (
                pk,
                external_id or "",
                party_type,
                name,
                # A person's organisation out of the exporter's sight is not named: their
                # own company text is, as on their page.
                (organization_name if organization_name is not None else company) or "",
                *stored,
                owner or "",
                "; ".join(numbers if reveal else [mask_phone(n) for n in numbers]),
                "; ".join(emails.get(pk, ())),
                *addresses.get(pk, NO_ADDRESS),
                tags_cell(tags.get(pk, ())),
                id_number,
                created_at,
                updated_at,
            )


def _by_customer(pairs) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for customer_id, value in pairs:
        grouped[customer_id].append(value)
    return grouped


def _first_addresses(ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The first address of each of these customers (see ADDRESS_COLUMNS), as its cells."""
    first: dict[int, tuple[str, ...]] = {}
    rows = of_customers(
        Address.objects.order_by(*Address._meta.ordering).values_list(
            "customer_id", *ADDRESS_COLUMNS.values()
        ),
        ids,
    )
    for customer_id, *cells in rows:
        first.setdefault(customer_id, tuple(cells))
    return first


NO_ADDRESS = ("",) * len(ADDRESS_COLUMNS)

# Control characters and the other characters a workbook shows as "\ufffd" (see
# _UNWRITABLE), that character itself, and the runs of them, which a program saving the file
# again may shorten ("\r\n").
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd\ufffe\uffff]+")
_ENDS = re.compile(r"^[\s\ufffd]+|[\s\ufffd]+$")


def address_key(street: str, city: str, region: str, postcode: str) -> tuple[str, ...]:
    """What an address's parts are compared by, the same for a stored address and for the copy
    of it an export shows and the import reads back: the import trims the ends of each part,
    and a workbook cannot hold control characters. Without it, an address stored with either
    would be added a second time by its own export imported again."""
    return tuple(
        _ENDS.sub("", _UNSHOWN.sub("\ufffd", part or ""))
        for part in (street, city, region, postcode)
    )


def _field_of(column: str) -> models.Field | None:
    """The model field an export column shows: the address's for an address column, the
    customer's own for the rest; None for a column of COLUMN_LABELS that no one field names (the
    id, the owner's username, the phones…)."""
    if column in ADDRESS_COLUMNS:
        return Address._meta.get_field(ADDRESS_COLUMNS[column])
    if column in COLUMN_LABELS:
        return None
    return Customer._meta.get_field(column)


def _column_label(column: str):
    """What a column is called in the reader's language (lazy)."""
    field = _field_of(column)
    return COLUMN_LABELS.get(column) or field.verbose_name


def readable_header(column: str) -> str:
    """The header of an export column in a readable export, in the active language."""
    return capfirst(str(READABLE_LABELS.get(column) or _column_label(column)))


def export_headers(layout: str = ExportLayout.IMPORTABLE) -> list[str]:
    """The header row of an export in ``layout``: the import's field keys, or the columns'
    labels in the active language."""
    if layout == ExportLayout.READABLE:
        return [readable_header(column) for column in EXPORT_COLUMNS]
    return list(EXPORT_COLUMNS)


def _choice_names(layout: str) -> dict[int, dict[str, str]]:
    """For a readable export, the position of each column of choices with the name of each
    choice in the active language (签约客户 for ``signed``); nothing for an importable one.
    Named when the export is asked for: a streamed CSV is written later, outside the request's
    language."""
    if layout != ExportLayout.READABLE:
        return {}
    names = {}
    for position, column in enumerate(EXPORT_COLUMNS):
        field = _field_of(column)
        if field is not None and field.choices:
            names[position] = {code: str(label) for code, label in field.choices}
    return names


def _laid_out(records: Iterator[tuple], names: dict[int, dict[str, str]]) -> Iterator[tuple]:
    """``records`` with their choices named by ``names`` (see :func:`_choice_names`). A stored
    value that is no longer a choice stays as it is, so nothing is lost or read as another."""
    if not names:
        yield from records
        return
    for record in records:
        record = list(record)
        for position, labels in names.items():
            record[position] = labels.get(record[position], record[position])
        yield tuple(record)


# What makes a tag's name be written in double quotes in a cell of tags (see tags_cell): any
# character the import splits a cell of tags on (``_SPLIT`` in guanxi/imports/customer_rows.py,
# which a test holds this to), or a double quote at the start.
_QUOTED_TAG = re.compile(r'[;；,，、|｜/／]|^"')


def tags_cell(names) -> str:
    """A customer's tags as one cell, separated by "; ". The import splits a cell of tags on
    semicolons, commas, "、", "|" and "/", their full-width forms too ("；", "，", "｜", "／"),
    so a tag holding one of them ("B2B/B2C", "华东, 华南", "B2B／B2C") is written in double
    quotes, one inside doubled, as CSV quotes a cell; so is a tag starting with a double quote,
    which would read as such a quote. The import takes a piece so quoted back as the one tag it
    is, in any installation, whether it has a tag of that name or not
    (``guanxi.imports.customer_rows._split_tags``)."""
    # Formulas: the cell is neutralised as a whole, after the tags are joined and quoted here,
    # like any other text of the export (_csv_text, _xlsx_row). A tag is not quoted for starting
    # with "=", "+", "-" or "@": a first tag "=x" makes the cell "=x; …", which gets the leading
    # quote ("'=x; …") that the import takes off again before it splits the tags. A cell that
    # starts with a double quote (a first tag quoted here) is no formula and is left as it is.
    return "; ".join(
        '"' + name.replace('"', '""') + '"' if _QUOTED_TAG.search(name) else name for name in names
    )


def _customers_to_export(actor, filters: dict | None, reveal: bool, layout: str):
    if layout not in ExportLayout.values:
        raise ValueError(f"Unknown export layout: {layout!r}")
    if reveal and not actor.may_view_sensitive():
        raise PermissionDenied(_("You may not export sensitive data in full."))
    # The name of each person's organisation that the exporter may see, read in the same
    # statement as the customers (see :func:`_records`).
    organisation = Customer.objects.visible_to(actor, VIEW).filter(pk=OuterRef("organization_id"))
    return (
        customer_list_for_user(actor, filters=filters)
        .annotate(organization_in_sight=Subquery(organisation.values("name")[:1]))
        .order_by("id")
    )


def _record_export(
    *, actor, export_format: str, layout: str, filters: dict | None, reveal: bool, count: int
):
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="customer_list",
        object_id=None,
        summary=Summary(gettext_noop("%(count)d customers exported"), {"count": count}),
        changes={
            "format": {"before": None, "after": str(export_format)},
            "layout": {"before": None, "after": str(layout)},
            "filters": {
                "before": None,
                "after": {k: str(v) for k, v in (filters or {}).items() if v not in (None, "")},
            },
            "rows": {"before": None, "after": count},
            "revealed": {"before": None, "after": reveal},
        },
    )


# ---------------------------------------------------------------------------------------------
# CSV


def _csv_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return neutralise_formula(value)


def customers_export_csv(
    *,
    actor,
    filters: dict | None = None,
    reveal: bool = False,
    layout: str = ExportLayout.IMPORTABLE,
) -> bytes:
    """The customers ``actor`` may see, narrowed by ``filters``, as UTF-8 CSV (with a byte order
    mark, so spreadsheet programs read Chinese correctly). ``reveal`` exports full phone and ID
    numbers and needs the 'view sensitive data' permission; ``layout`` is an
    :class:`ExportLayout`."""
    with transaction.atomic():
        return b"".join(
            customers_export_csv_stream(actor=actor, filters=filters, reveal=reveal, layout=layout)
        )


def customers_export_csv_stream(
    *,
    actor,
    filters: dict | None = None,
    reveal: bool = False,
    layout: str = ExportLayout.IMPORTABLE,
) -> Iterator[bytes]:
    """:func:`customers_export_csv` in pieces of about ``CSV_PIECE`` characters, for a streaming
    response: a long list starts downloading at once and is never held whole in memory (a
    million customers make about 235 MB of CSV).

    The permission is checked and the audit row written when this is called, before any piece
    is made, so a refusal is an ordinary error response and an export that is cut off midway
    is still on record. The row's count is that of the list at that moment."""
    customers = _customers_to_export(actor, filters, reveal, layout)
    _record_export(
        actor=actor,
        export_format=ExportFormat.CSV,
        layout=layout,
        filters=filters,
        reveal=reveal,
        count=customers.count(),
    )
    # The headers and choices are named now, in the language of the request: the pieces are
    # made later, as the response is sent.
    return _csv_pieces(customers, reveal, export_headers(layout), _choice_names(layout))


def _csv_pieces(
    customers, reveal: bool, headers: list[str], names: dict[int, dict[str, str]]
) -> Iterator[bytes]:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for record in _laid_out(_records(customers, reveal=reveal), names):
        writer.writerow([_csv_text(value) for value in record])
        if buffer.tell() >= CSV_PIECE:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------
# XLSX


def _header_note(column: str, layout: str = ExportLayout.IMPORTABLE) -> str:
    """The note on a column's header cell: its name in the reader's language and, for a column
    of choices (stored as codes), what each code means, or how to read the column. A readable
    export's header is the name already and its choices are named: only how to read it."""
    if layout == ExportLayout.READABLE:
        return str(COLUMN_NOTES.get(column, ""))
    field = _field_of(column)
    lines = [capfirst(str(_column_label(column)))]
    if field is not None and field.choices:
        lines.append(", ".join(f"{code}: {name}" for code, name in field.choices))
    elif column in COLUMN_NOTES:
        lines.append(str(COLUMN_NOTES[column]))
    return "\n".join(lines)


def _xlsx_sheet(workbook, number: int, layout: str):
    """Sheet ``number`` (from 1) of an export, with its column widths, the header row in bold
    with a note on each header cell that has one (see COLUMN_LABELS) and the header frozen, so
    it reads on its own like the first."""
    title = _("Customers") if number == 1 else f"{_('Customers')} ({number})"
    sheet = workbook.create_sheet(title=title)
    for index, column in enumerate(EXPORT_COLUMNS, start=1):
        width = XLSX_DATE_WIDTH if column.endswith("_at") else XLSX_WIDTHS.get(column)
        sheet.column_dimensions[get_column_letter(index)].width = width or XLSX_DEFAULT_WIDTH
    sheet.freeze_panes = "A2"
    header = []
    for column, name in zip(EXPORT_COLUMNS, export_headers(layout), strict=True):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        if note := _header_note(column, layout):
            # Wide and tall enough for a list of choices to show whole when pointed at.
            cell.comment = Comment(note, "Guanxi", width=320, height=40 + 16 * len(note) // 40)
        header.append(cell)
    sheet.append(header)
    return sheet


def customers_export_xlsx(
    *,
    actor,
    filters: dict | None = None,
    reveal: bool = False,
    layout: str = ExportLayout.IMPORTABLE,
) -> IO[bytes]:
    """The same export as :func:`customers_export_csv`, as an Excel workbook in a temporary file
    positioned at its start; the caller sends it and closes it (see
    :func:`customers_export_xlsx_counted`)."""
    workbook, _count = customers_export_xlsx_counted(
        actor=actor, filters=filters, reveal=reveal, layout=layout
    )
    return workbook


@transaction.atomic
def customers_export_xlsx_counted(
    *,
    actor,
    filters: dict | None = None,
    reveal: bool = False,
    layout: str = ExportLayout.IMPORTABLE,
) -> tuple[IO[bytes], int]:
    """The workbook of :func:`customers_export_xlsx` and the number of customers in it (the
    count its audit row holds), for a background export to show.

    A list longer than a sheet holds (``XLSX_SHEET_ROWS``, header included) goes on in sheets
    "Customers (2)", "Customers (3)"…, in the same order, each with the header.

    openpyxl makes the workbook around the customers: its sheets with their widths, frozen
    header rows and notes, the styles and the rest of the package. The customers' rows are
    written by :class:`_SheetRows` (those of a long list in a process of their own), each
    sheet's deflated to a temporary file as it goes, and put into the workbook's sheets when it
    is saved, so a long list costs little memory at any point.
    """
    customers = _customers_to_export(actor, filters, reveal, layout)
    workbook = Workbook(write_only=True)
    sheets = [_SheetRows(_xlsx_sheet(workbook, 1, layout))]
    dates = None
    count = 0
    output = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
    try:
        for record in _laid_out(_records(customers, reveal=reveal), _choice_names(layout)):
            if dates is None:
                # The date format is added to the workbook's styles as openpyxl adds it for a
                # first date cell, after the header's bold.
                dates = _Dates(
                    WriteOnlyCell(sheets[0].sheet, value=dt.datetime(2000, 1, 1)).style_id
                )
            if sheets[-1].rows == XLSX_SHEET_ROWS:
                sheets.append(_SheetRows(_xlsx_sheet(workbook, len(sheets) + 1, layout)))
            sheets[-1].append(record, dates)
            count += 1
        _xlsx_save(workbook, sheets, output)
        _record_export(
            actor=actor,
            export_format=ExportFormat.XLSX,
            layout=layout,
            filters=filters,
            reveal=reveal,
            count=count,
        )
    except BaseException:
        output.close()
        raise
    finally:
        for rows in sheets:
            rows.close()
            rows.file.close()
    output.seek(0)
    return output, count


# Why the rows are not appended to openpyxl's sheets: openpyxl makes an object for every cell
# and writes it through an XML serialiser, about 2,000 customers a second on the development
# machine, so a million took three and a half minutes. XlsxWriter's constant-memory mode, the
# fast library at hand, reached only 1.8 times that, and writes text in ways openpyxl, which the
# import reads workbooks with, does not read back as written (a carriage return as "_x000D_",
# and text such as "<r>…</r>" unescaped, as if it were formatted text). The rows are therefore
# written here as text, cell for cell as openpyxl's write-only mode writes them (typed inline
# strings, numbers, dates as numbers in the date style), which tests/test_exports_xlsx_writer.py
# compares byte for byte with openpyxl's own.
_CELL_LETTERS = tuple(get_column_letter(n) for n in range(1, len(EXPORT_COLUMNS) + 1))


# The first characters of the text :func:`neutralise_formula` may change; other text it leaves
# as it is, and most cells are spared the call.
_MAY_BE_FORMULA = frozenset("=+-@\t\r' ")
# Characters XML cannot hold: the control characters openpyxl refuses, and besides them
# U+FFFE, U+FFFF and halves of surrogate pairs, which openpyxl wrote as they were into a file
# that Excel, openpyxl and the import then could not open.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Characters an Excel cell holds. Excel reports a longer text as damage to the file; openpyxl
# cut text to this length, and so does the export.
_CELL_CHARACTERS = 32_767


def _xml_escape(text: str) -> str:
    """Text as an XML element's content, escaped as openpyxl's serialiser escapes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Dates:
    """Spreadsheet dates, as :func:`_xlsx_row` writes them: in the site's time zone (looked up
    once, not for every cell), without the fraction of a second, in the workbook's date style.
    A customer's two timestamps are often the same moment, which is converted once."""

    def __init__(self, style: int):
        self.style = style
        self.zone = timezone.get_current_timezone()
        self._last = None
        self._last_text = ""

    def text(self, value: dt.datetime) -> str:
        if value != self._last:
            local = value.astimezone(self.zone).replace(tzinfo=None, microsecond=0)
            self._last, self._last_text = value, f"{to_excel(local):.16g}"
        return self._last_text


def _xlsx_row(number: int, record: tuple, dates: _Dates, *, clean: bool = True) -> str:
    """Row ``number`` of a sheet holding ``record``: the id as a number, the timestamps as dates
    (see :class:`_Dates`), and text always typed as text: an inline string is the one thing no
    spreadsheet evaluates, so neither '=…' nor '#N/A' is read as a formula or an error value. An
    empty value is no cell at all rather than an empty string, as people expect. ``clean`` says
    the texts hold no character a workbook cannot hold."""
    cells = [f'<row r="{number}">']
    for letter, value in zip(_CELL_LETTERS, record, strict=True):
        if isinstance(value, str):
            if not value:
                continue
            if not clean:
                # XML cannot hold most control characters; a visible replacement character
                # says that something was there.
                value = _UNWRITABLE.sub("\ufffd", value)
            if value[0] in _MAY_BE_FORMULA:
                value = neutralise_formula(value)
            if len(value) > _CELL_CHARACTERS:
                value = value[:_CELL_CHARACTERS]
            # As openpyxl: spaces at the ends are kept, unless the text is nothing else.
            if (value[0].isspace() or value[-1].isspace()) and not value.isspace():
                start = f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">'
            else:
                start = f'<c r="{letter}{number}" t="inlineStr"><is><t>'
            if "&" in value or "<" in value or ">" in value:
                value = _xml_escape(value)
            cells.append(f"{start}{value}</t></is></c>")
        elif isinstance(value, dt.datetime):
            cells.append(
                f'<c r="{letter}{number}" s="{dates.style}" t="n"><v>{dates.text(value)}</v></c>'
            )
        elif isinstance(value, int):
            cells.append(f'<c r="{letter}{number}" t="n"><v>{value:.16g}</v></c>')
        elif value is not None:
            raise TypeError(f"An export cell cannot hold {type(value).__name__}")
    cells.append("</row>")
    return "".join(cells)


class _SheetRows:
    """The customers' rows of one sheet, as deflated sheet XML in a temporary file, the header
    row being openpyxl's.

    The rows are given here in order and written a batch at a time. Past the first
    ``GUANXI_EXPORT_BACKGROUND_ROWS`` of a sheet, the rest are handed to a process of their own
    (forked then), which writes their XML and deflates it into the file while the export reads
    the next customers from the database.

    Why a process: writing the rows' XML and deflating it took about half of an export's time,
    reading the customers the other half, one after the other on one core, so a million
    customers took longer than 60 s on a machine of two. A thread does not help: both halves
    are mostly Python, which runs one thread at a time. Forked, the process has the export's
    modules, settings and time zone as they are, without starting Django again as the
    import's spawned worker does (guanxi/imports/preparing.py), and is given only the records
    (pickled, through a pipe whose buffer holds a few batches: the export waits when the
    writing falls behind, and memory stays small). The copy never uses the database
    connection it inherits, and ends without closing it (multiprocessing ends a forked
    process with ``os._exit``), so the export's connection is untouched. A list short enough
    for the web to export while the user waits is written in the web's own process, which is
    not forked (its other threads could hold locks the copy would never see released), nor
    is any thread but the main one, as the web's server answers in threads. The writer stops
    when the export kills it or when the export's end of the pipe closes, the export having
    died. The rows' text is the same either way; only the compressed stream's blocks differ, ending
    where each part of the sheet ends (see guanxi/core/deflated_entries.py). Where processes
    cannot be forked, every row is written in the export's own process."""

    def __init__(self, sheet):
        self.sheet = sheet
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the export)
        self.rows = 1  # the header
        self._batch: list[tuple] = []
        self._dates: _Dates | None = None
        self._here = DeflatedPiece(self.file)  # the rows written in the export's process
        self._writer = None  # the process writing the rest, and the export's end of its pipe

    def append(self, record: tuple, dates: _Dates) -> None:
        self.rows += 1
        self._batch.append(record)
        self._dates = dates
        if len(self._batch) == _ROWS_BATCH:
            self._send()

    def finish(self) -> list[DeflatedPiece]:
        """The rows written and deflated, in pieces ending on a byte boundary (the end of the
        sheet's XML follows them in the entry)."""
        if self._batch:
            self._send()
        if self._writer is None:
            self._here.end(last=False)
            return [self._here]
        process, _connection = self._writer
        self._to_writer(None)
        outcome = self._writers_outcome()
        process.join()
        self.close()
        if isinstance(outcome, BaseException):
            raise outcome
        return [self._here, DeflatedPiece.written(self.file, *outcome)]

    def close(self) -> None:
        """Stop the writing process, if it is still running (the export failed)."""
        if self._writer is not None:
            process, connection = self._writer
            self._writer = None
            connection.close()
            if process.is_alive():
                process.kill()  # the writer ignores SIGTERM (see _write_sheet_rows)
            process.join()

    def _send(self) -> None:
        first = self.rows - len(self._batch) + 1
        batch, self._batch = self._batch, []
        # ``first`` counts the header row: the batch's first customer is the sheet's
        # ``first - 1``th. Only the main thread forks: the web's server answers in other threads,
        # and a list it found short may have grown by the time it is written.
        if (
            self._writer is None
            and _FORK
            and first - 1 > settings.GUANXI_EXPORT_BACKGROUND_ROWS
            and threading.current_thread() is threading.main_thread()
        ):
            self._fork()
        if self._writer is None:
            self._here.write(_rows_xml(first, batch, self._dates))
        else:
            self._to_writer((first, batch))

    def _fork(self) -> None:
        # The rows written here end on a byte boundary, and the process's piece follows them
        # in the file, from where they end.
        self._here.end(last=False)
        self.file.flush()
        context = multiprocessing.get_context("fork")
        connection, writer_end = context.Pipe()
        process = context.Process(
            target=_write_sheet_rows,
            args=(writer_end, connection, self.file, self._dates),
            name="xlsx-rows",
            daemon=True,
        )
        process.start()
        writer_end.close()
        self._writer = (process, connection)

    def _to_writer(self, message) -> None:
        try:
            self._writer[1].send(message)
        except (BrokenPipeError, ConnectionResetError):
            # The writer stopped: what stopped it is waiting in the pipe.
            raise self._writers_outcome() from None

    def _writers_outcome(self):
        """What the writer sent last: where it wrote the rows, or what went wrong, or that it
        stopped without a word."""
        process, connection = self._writer
        try:
            return connection.recv()
        except EOFError:
            return RuntimeError(f"Writing the rows of a sheet stopped ({process.exitcode})")


# Rows written, or handed to a sheet's writing process, at a time.
_ROWS_BATCH = 500
# Whether processes can be forked here (not on Windows).
_FORK = "fork" in multiprocessing.get_all_start_methods()


def _write_sheet_rows(connection, exports_end, file, dates: _Dates) -> None:
    """The writing process of a sheet's rows (see :class:`_SheetRows`): batches of records
    until None, then where in the file it wrote them, their CRC and sizes, or what went
    wrong."""
    # The copy of the export's end of the pipe would keep the pipe open when the export dies
    # (killed, out of memory): closed, the writer reads the end of the pipe then, and ends.
    exports_end.close()
    # The handlers inherited are the export's own: the background worker's, while it runs a
    # task, only note that it should stop later, so SIGTERM would not stop the writer. The
    # writer leaves stopping to the export (which kills it) or to the pipe's end, and Ctrl-C,
    # sent to every process of the terminal, to the export, which may finish its task first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        piece = DeflatedPiece(file)
        while (message := connection.recv()) is not None:
            first, records = message
            piece.write(_rows_xml(first, records, dates))
        piece.end(last=False)
        file.flush()
        connection.send((piece.start, piece.crc, piece.size, piece.compressed_size))
    except EOFError:
        return  # the export has gone: there is nobody to tell
    except BaseException as error:
        try:
            connection.send(error)
        except Exception:
            connection.send(RuntimeError(repr(error)))


def _rows_xml(first: int, records: list[tuple], dates: _Dates) -> bytes:
    """Rows ``first``, ``first`` + 1… of a sheet, holding ``records``, as UTF-8 sheet XML."""
    rows = []
    for number, record in enumerate(records, start=first):
        row = _xlsx_row(number, record, dates)
        if _UNWRITABLE.search(row):
            # Rare: only this row pays for looking at each text on its own (the markup has no
            # such character, so one look at the row finds every one).
            row = _xlsx_row(number, record, dates, clean=False)
        rows.append(row)
    return "".join(rows).encode("utf-8")


def _xlsx_save(workbook, sheets: list[_SheetRows], output: IO[bytes]) -> None:
    """Write ``workbook`` to ``output``, each of its sheets with the rows of ``sheets``."""
    package = io.BytesIO()
    workbook.save(package)
    rows_by_name = {f"xl/worksheets/sheet{n}.xml": rows for n, rows in enumerate(sheets, start=1)}
    with (
        zipfile.ZipFile(package) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target,
    ):
        names = source.namelist()
        if not rows_by_name.keys() <= set(names):
            raise RuntimeError("openpyxl named the workbook's sheets otherwise")
        for name in names:
            data = source.read(name)
            entry = zipfile.ZipInfo(name, time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            rows = rows_by_name.get(name)
            if rows is None:
                target.writestr(entry, data)
                continue
            head, end, tail = data.partition(b"</sheetData>")
            if not end:
                raise RuntimeError(f"{name} has no sheetData element")
            # The rows were deflated as they were written; openpyxl's beginning of the sheet
            # and its end are deflated on their own, before and after them, in the rows' file.
            deflated_rows = rows.finish()
            rows.file.seek(0, io.SEEK_END)
            start = deflated(head, last=False, file=rows.file)
            finish = deflated(end + tail, last=True, file=rows.file)
            write_deflated_entry(target, entry, [start, *deflated_rows, finish])


def export_filename(export_format: str = ExportFormat.CSV) -> str:
    return f"guanxi-customers-{timezone.localtime():%Y%m%d-%H%M}.{export_format}"
