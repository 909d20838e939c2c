"""Reading spreadsheet files row by row: CSV in any common encoding, and XLSX.

Every data row comes out as a :class:`SourceRow` with its row number in the file, its cells as
text, and — when the row cannot be read as text — the reason, so the importer can account for
it like any other bad row instead of failing the whole file.

Encodings: CSV files from Chinese offices are often GBK (GB18030) rather than UTF-8, because
that is what Excel writes there. A file that is valid UTF-8 (with or without a byte order mark)
is read as UTF-8; otherwise, if it is valid GB18030, as GB18030; otherwise as UTF-8, and the rows
holding bytes that are not UTF-8 are reported one by one (a file pasted together from two
sources).

A cell holding a single quote before text a spreadsheet would evaluate ("'=1+1", "'+86 139…")
is read without that quote, as the exports and the error files write such text
(``guanxi.core.formulas``); any other quote is kept.
"""

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.audit.summaries import Summary
from guanxi.core.formulas import restore_formula

from .reasons import Reason, joined, rendered

MAX_CELL = 10_000  # characters; a longer cell is a broken file, not data
MAX_SHEET_ROWS = 1_048_576  # the last row of a worksheet, in Excel and in the file format
# The whole file is in memory already, so csv's own limit on a field guards nothing; raised, it
# lets the MAX_CELL check reject an overlong cell with the row's cells kept for the error file.
csv.field_size_limit(256 * 1024 * 1024)


class FileProblem(ValueError):
    """The file as a whole cannot be read (not a spreadsheet, no header row, …)."""


@dataclass(frozen=True)
class SourceRow:
    number: int  # 1-based line (CSV: the line the row starts on) or sheet row
    cells: list[str]
    problem: Reason | None = None  # why the row could not be read, if it could not


@dataclass
class TableFile:
    """A file's header and a way to walk its data rows (again, for a resumed import)."""

    path: Path
    kind: str  # "csv" or "xlsx"
    header: list[str]
    encoding: str | None = None
    delimiter: str = ","
    header_row: int = 1

    def rows(self, *, start_after: int = 0) -> Iterator[SourceRow]:
        """Data rows after row number ``start_after`` (0: from the first data row)."""
        reader = _csv_rows if self.kind == "csv" else _xlsx_rows
        for row in reader(self):
            if row.number > start_after:
                # Every importer reads its rows here, so a file exported by the project (which
                # quotes a cell a spreadsheet would evaluate), edited and imported again stores
                # what was exported, not "'+86 139…".
                yield replace(row, cells=[restore_formula(cell) for cell in row.cells])

    def count_rows(self) -> int:
        return sum(1 for _row in self.rows())


def open_table(path: Path | str, *, filename: str | None = None) -> TableFile:
    """Recognise the file by its content (an XLSX file is a ZIP archive) and read its header."""
    path = Path(path)
    with path.open("rb") as handle:
        start = handle.read(4)
    name = (filename or path.name).lower()
    if start.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if name.endswith(".xlsx"):
        # Read as CSV, its bytes would make a header of nonsense, or a file renamed by mistake
        # would be imported as something else than its name says.
        raise FileProblem(
            _(
                "This file is named .xlsx but is no Excel workbook; save it from Excel again, "
                "or as CSV."
            )
        )
    if name.endswith((".xls",)) and start.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            _("This is an old Excel (.xls) file; save it as .xlsx or CSV and upload that.")
        )
    return _open_csv(path)


# --- CSV -------------------------------------------------------------------------------------


def _detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # GB18030 decodes almost any bytes, UTF-8 ones included (as nonsense), so it is only chosen
    # when the lines with non-ASCII text are mostly not UTF-8: a UTF-8 file with a few pasted
    # GBK rows stays UTF-8 and those rows are reported.
    utf8 = other = 0
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    if other > utf8:
        try:
            data.decode("gb18030")
            return "gb18030"
        except UnicodeDecodeError:
            pass
    return "utf-8"


def _open_csv(path: Path) -> TableFile:
    data = path.read_bytes()
    encoding = _detect_encoding(data)
    text = data.decode(encoding, errors="surrogateescape")
    sample = text[:20_000]
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    table = TableFile(path=path, kind="csv", header=[], encoding=encoding, delimiter=delimiter)
    for row in _csv_rows(table, header=True):
        if row.problem:
            raise FileProblem(
                _("The header row cannot be read: %(problem)s") % {"problem": rendered(row.problem)}
            )
        if any(cell.strip() for cell in row.cells):
            table.header = _header_cells(row.cells)
            table.header_row = row.number
            break
    if not table.header:
        raise FileProblem(_("The file is empty: there is no header row."))
    return table


_SURROGATE = re.compile(r"[\udc80-\udcff]")


def _csv_rows(table: TableFile, *, header: bool = False) -> Iterator[SourceRow]:
    text = table.path.read_bytes().decode(table.encoding or "utf-8", errors="surrogateescape")
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=table.delimiter)
    number = 1
    while True:
        start, offset = number, buffer.tell()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield SourceRow(
                start,
                [],
                Summary(gettext_noop("not readable as CSV (%(error)s)"), {"error": str(error)}),
            )
            number = reader.line_num + 1
            continue
        number = reader.line_num + 1
        if header:
            yield SourceRow(start, cells, _header_problem(table, cells))
            continue
        if start <= table.header_row:
            continue
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        if undecodable := _undecodable(table, cells):
            encoding, byte = undecodable
            yield SourceRow(
                start,
                [
                    c.encode("utf-8", "surrogateescape")
                    .decode("utf-8", "replace")
                    .replace("\x00", "")
                    for c in cells
                ],
                Summary(
                    gettext_noop(
                        "this row is not valid %(encoding)s text (byte 0x%(byte)s); save the "
                        "file as UTF-8 and import the row again"
                    ),
                    {"encoding": encoding, "byte": byte},
                ),
            )
            continue
        last = number - 1
        # A quote opened in the last row and never closed swallows the rest of the file into
        # one cell: say so, rather than report whatever that cell then fails.
        if last > start and buffer.tell() == len(text) and text.count('"', offset) % 2:
            yield SourceRow(
                start,
                [c.replace("\x00", "") for c in cells],
                Summary(
                    gettext_noop(
                        'a quote (") opened on line %(first)d is never closed, so lines '
                        "%(first)d–%(last)d were read as this one row; close the quote and "
                        "import them again"
                    ),
                    {"first": start, "last": last},
                ),
            )
            continue
        yield _checked_row(table, start, cells, last_line=last)


def _undecodable(table: TableFile, cells: list[str]) -> tuple[str, str] | None:
    """The file's encoding and the first byte of ``cells`` it does not decode, as hex."""
    bad = next((m for c in cells if (m := _SURROGATE.search(c))), None)
    if bad is None:
        return None
    # surrogateescape keeps an undecodable byte xx as the character U+DCxx.
    encoding = (table.encoding or "utf-8").upper().replace("-SIG", "")
    return encoding, f"{ord(bad.group()) - 0xDC00:02x}"


def _header_problem(table: TableFile, cells: list[str]) -> str | None:
    """Why the header row cannot name the columns: bytes the file's encoding does not decode,
    or a NUL character. Such names were shown on the mapping page and stored with the job, and
    neither takes them (a server error on uploading or on opening the page)."""
    if undecodable := _undecodable(table, cells):
        encoding, byte = undecodable
        return _("it is not valid %(encoding)s text (byte 0x%(byte)s); save the file as UTF-8") % {
            "encoding": encoding,
            "byte": byte,
        }
    for index, cell in enumerate(cells):
        if "\x00" in cell:
            return _("%(column)s: contains a NUL character (0x00), which is not text") % {
                "column": _("column %(number)d") % {"number": index + 1}
            }
    return None


def _checked_row(
    table: TableFile, number: int, cells: list[str], *, last_line: int | None = None
) -> SourceRow:
    """The row, or why it cannot be imported as it is: a NUL character (PostgreSQL's text
    cannot hold one; it is never meant), a cell longer than ``MAX_CELL``, or a value beyond the
    last column of the header (no column name says what it is, and usually a separator inside
    a value has shifted the row). The cells of a refused row are kept whole, only without the
    NULs, so that the error file loses nothing of the row — or of the lines a stray quote made
    part of it, which ``last_line`` (a CSV row's last line) points out."""
    problems: list[Reason] = []
    for index, cell in enumerate(cells):
        nul, long = "\x00" in cell, len(cell) > MAX_CELL
        if not (nul or long):
            continue
        column = (table.header[index] if index < len(table.header) else "") or (
            Summary(gettext_noop("column %(number)d"), {"number": index + 1})
        )
        if nul:
            problems.append(
                Summary(
                    gettext_noop("%(column)s: contains a NUL character (0x00), which is not text"),
                    {"column": column},
                )
            )
        if long:
            problem = Summary(
                gettext_noop("%(column)s: longer than %(limit)s characters"),
                {"column": column, "limit": f"{MAX_CELL:,}"},
            )
            if last_line is not None and last_line > number:
                # Not a message of the catalogue: two sentences, each translated.
                problem = Summary(
                    "%(problem)s %(lines)s",
                    {
                        "problem": problem,
                        "lines": Summary(
                            gettext_noop(
                                "(the row runs over lines %(first)d–%(last)d: is a quote left "
                                "open?)"
                            ),
                            {"first": number, "last": last_line},
                        ),
                    },
                )
            problems.append(problem)
    width = len(table.header)
    beyond = [index + 1 for index, cell in enumerate(cells[width:], start=width) if cell.strip()]
    if beyond:
        problems.append(
            Summary(
                gettext_noop(
                    "the row has values beyond the last column of the header (column "
                    "%(columns)s; the header has %(width)d columns): is there a separator inside "
                    "a value? Fix the row, or name those columns in the header"
                ),
                {
                    "columns": ", ".join(str(n) for n in beyond),
                    "width": width,
                },
            )
        )
    if not problems:
        return SourceRow(number, cells)
    return SourceRow(number, [c.replace("\x00", "") for c in cells], joined(problems))


# --- XLSX ------------------------------------------------------------------------------------


def _cell_text(value) -> str:
    """A cell as the text a person sees: phone numbers stored as numbers keep all their digits,
    dates become YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def _load_workbook(path: Path):
    """The workbook, read-only; a file that is no readable workbook is a :class:`FileProblem`."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # From an open file: openpyxl judges a path by its extension, an upload has none.
        return load_workbook(path.open("rb"), read_only=True, data_only=True)
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        OSError,
        ValueError,
        # A part of the package that is no XML (the styles, the workbook, a sheet's start):
        # the XML parsers' errors derive from SyntaxError.
        SyntaxError,
    ) as error:
        raise FileProblem(
            _("This is not a readable XLSX workbook (%(error)s).") % {"error": error}
        ) from None


def _sheet_rows(sheet) -> Iterator[tuple[int, tuple]]:
    """A sheet's rows with their numbers. A sheet that breaks off in the middle (a damaged or
    half-copied file) is a :class:`FileProblem`, not a traceback."""
    import zipfile
    import zlib

    # Read-only mode trusts the sheet's <dimension> tag, which writers other than Excel often
    # leave stale ("A1"): rows and columns beyond it would vanish without a word.
    sheet.reset_dimensions()
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_SHEET_ROWS:
                # openpyxl hands out an empty row for each number skipped, so a row numbered
                # in the billions, which no spreadsheet writes, would be counted out for hours.
                raise FileProblem(
                    _(
                        "This XLSX workbook has a row numbered beyond %(last)s, the last row a "
                        "worksheet has; it is damaged or was not written by a spreadsheet."
                    )
                    % {"last": f"{MAX_SHEET_ROWS:,}"}
                )
            yield number, values
    except FileProblem:
        raise
    # IndexError: a cell naming a shared string the workbook does not have.
    except (
        SyntaxError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        KeyError,
        IndexError,
        ValueError,
    ) as error:
        # SyntaxError: the XML parsers' errors (ElementTree's ParseError, lxml's) derive from it.
        raise FileProblem(
            _("This XLSX workbook is damaged and cannot be read to the end (%(error)s).")
            % {"error": error}
        ) from None


def _header_of(sheet) -> tuple[int, list[str]] | None:
    """A sheet's first row with anything in it, as header cells, with its number; ``None`` for
    an empty sheet."""
    for number, values in _sheet_rows(sheet):
        cells = _header_cells([_cell_text(v) for v in values])
        if cells:
            return number, cells
    return None


def _header_cells(cells: list[str]) -> list[str]:
    """A header row's cells as column names, in a CSV file and a workbook alike. Empty columns
    after the last named one, as a spreadsheet saves the columns it once formatted
    ("name,phone,,"), are no columns: kept, they would be columns sharing a header, which the
    import page refuses. A value under one is still named as beyond the header's last column."""
    header = [restore_formula(cell).strip() for cell in cells]
    while header and not header[-1]:
        header.pop()
    return header


def _open_xlsx(path: Path) -> TableFile:
    """The first sheet's header. Further sheets headed the same way go on from it — an export
    longer than a sheet holds continues in "Customers (2)", "Customers (3)"… — and are read as
    though the first sheet went on. A further sheet with rows under another header is refused
    naming it: its rows would otherwise be neither imported nor counted."""
    workbook = _load_workbook(path)
    try:
        sheets = workbook.worksheets
        first = _header_of(sheets[0]) if sheets else None
        if first is None:
            raise FileProblem(_("The workbook's first sheet is empty: there is no header row."))
        number, header = first
        for sheet in sheets[1:]:
            other = _header_of(sheet)
            if other is not None and other[1] != header:
                raise FileProblem(
                    _(
                        "The workbook's sheet “%(sheet)s” holds rows under another header than "
                        "the first sheet's. Only sheets headed like the first are imported, one "
                        "after the other: move that sheet to a file of its own, or delete it."
                    )
                    % {"sheet": sheet.title}
                )
        return TableFile(path=path, kind="xlsx", header=header, header_row=number)
    finally:
        workbook.close()


def _xlsx_rows(table: TableFile) -> Iterator[SourceRow]:
    """The data rows of every sheet (see :func:`_open_xlsx`), numbered on across the sheets as
    one long sheet would be: a further sheet's row *n* is numbered *n* after the rows of the
    sheets before it, so a stopped import resumes from its row wherever it lies."""
    workbook = _load_workbook(table.path)
    try:
        before = 0  # rows of the sheets already read, their header rows included
        for index, sheet in enumerate(workbook.worksheets):
            header_row = table.header_row if index == 0 else None
            number = 0
            for number, values in _sheet_rows(sheet):
                if header_row is not None and number <= header_row:
                    continue
                cells = [_cell_text(v) for v in values]
                if not any(c.strip() for c in cells):
                    continue
                if header_row is None:
                    header_row = number  # a further sheet's own header, checked on opening
                    continue
                yield _checked_row(table, before + number, cells)
            before += number
    finally:
        workbook.close()
