"""Orders and customer summaries from CSV files, and predictions back to CSV.

Reading checks everything a person could get wrong in a spreadsheet export and says where:
a missing column, an empty file, a date that is not YYYY-MM-DD, an amount that is not a
number or is negative. Errors are :class:`InputError` with the line number (as an editor
shows it, the header being line 1) and the column name.

Values are collected row by row (the csv module is what gets quoting right), then converted
to arrays in one go; only when a conversion fails is the file looked at again, to find the
first offending line.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guanxi.core.files import replaced_on_success

from .summary import SummaryError, check_summary

DEFAULT_ORDER_COLUMNS = ("customer_id", "date", "amount")
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InputError(Exception):
    """A file or argument that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Orders:
    # Customers are numbered 0..k−1 in order of first appearance; customer_names[code] is the
    # id as written in the file. Integer codes make the summary a sort of plain integers.
    customer_codes: np.ndarray
    customer_names: np.ndarray
    dates: np.ndarray  # datetime64[D]
    amounts: np.ndarray  # float64, 0 or more


@dataclass(frozen=True)
class SummaryFile:
    customer_ids: np.ndarray  # from a customer_id column, or the row numbers 1..n
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    monetary_value: np.ndarray


def parse_date(text: str, what: str) -> np.datetime64:
    """A YYYY-MM-DD date, or :class:`InputError` naming ``what``."""
    text = text.strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return np.datetime64(text, "D")
    except ValueError:
        raise InputError(f"{what}: {text!r} is not a date in the form YYYY-MM-DD") from None


def _open_rows(path: Path):
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # -sig: spreadsheets add a BOM
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None
    return handle


def _header_positions(path: Path, header: list[str] | None, wanted) -> dict[str, int]:
    if header is None:
        raise InputError(f"{path}: the file is empty (expected a header line)")
    names = [name.strip() for name in header]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise InputError(
            f"{path}, line 1: no column {', '.join(repr(name) for name in missing)} "
            f"(the header has {', '.join(repr(name) for name in names) or 'nothing'})"
        )
    return {name: names.index(name) for name in wanted}


class _Columns(dict):
    """Column name -> the texts of that column, plus the line number of each data row."""

    lines: list[int]


def _read_columns(path: Path, wanted) -> _Columns:
    with _open_rows(path) as handle:
        reader = csv.reader(handle)
        try:
            positions = _header_positions(path, next(reader, None), wanted)
            needed = max(positions.values()) + 1
            columns = _Columns({name: [] for name in wanted})
            columns.lines = lines = []
            appenders = [(columns[name].append, position) for name, position in positions.items()]
            for row in reader:
                if len(row) < needed:
                    if not any(cell.strip() for cell in row):
                        continue  # blank lines, e.g. at the end of a file
                    raise InputError(
                        f"{path}, line {reader.line_num}: {len(row)} value(s), expected at "
                        f"least {needed}"
                    )
                for append, position in appenders:
                    append(row[position])
                lines.append(reader.line_num)
        except csv.Error as error:
            raise InputError(f"{path}, line {reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text") from None
    if not columns[wanted[0]]:
        raise InputError(f"{path}: no data below the header")
    return columns


def _numbers(path: Path, column: str, texts: list[str], lines: list[int]) -> np.ndarray:
    try:
        values = np.array(texts, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None:
        bad = ~np.isfinite(values)
        if not bad.any():
            return values
        index = int(np.flatnonzero(bad)[0])
    else:
        index = next(i for i, text in enumerate(texts) if not _is_number(text))
    raise InputError(
        f"{path}, line {lines[index]}, column {column!r}: {texts[index]!r} is not a number"
    )


def _is_number(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def read_orders(path: Path, *, columns: tuple[str, str, str] = DEFAULT_ORDER_COLUMNS) -> Orders:
    """Orders from a CSV file with a header; ``columns`` names the customer, date and amount
    columns (other columns are ignored). Dates are YYYY-MM-DD, or timestamps whose date part
    is taken as written (2024-03-01T23:30:00+08:00 is 1 March)."""
    path = Path(path)
    id_column, date_column, amount_column = columns
    values = _read_columns(path, columns)

    numbering: dict[str, int] = {}
    codes = np.fromiter(
        (numbering.setdefault(text.strip(), len(numbering)) for text in values[id_column]),
        dtype=np.int64,
        count=len(values[id_column]),
    )
    if "" in numbering:
        empty = int(np.flatnonzero(codes == numbering[""])[0])
        raise InputError(
            f"{path}, line {values.lines[empty]}, column {id_column!r}: empty customer id"
        )

    # A timestamp's date part as written: "2024-03-01T23:30:00+08:00" is 1 March.
    date_texts = [
        text[:10] if len(text) > 10 and text[10] in "T " else text
        for text in (raw.strip() for raw in values[date_column])
    ]
    date_array = np.array(date_texts)
    wrong_shape = np.char.str_len(date_array) != 10 if len(date_array) else np.zeros(0, bool)
    dates = None
    if not wrong_shape.any():
        try:
            dates = date_array.astype("datetime64[D]")
        except ValueError:
            dates = None
    if dates is None or np.isnat(dates).any() or wrong_shape.any():
        index = next(i for i, text in enumerate(date_texts) if not _is_date(text))
        raise InputError(
            f"{path}, line {values.lines[index]}, column {date_column!r}: "
            f"{values[date_column][index]!r} is not a date in the form YYYY-MM-DD"
        )

    amounts = _numbers(path, amount_column, values[amount_column], values.lines)
    negative = amounts < 0
    if negative.any():
        index = int(np.flatnonzero(negative)[0])
        raise InputError(
            f"{path}, line {values.lines[index]}, column {amount_column!r}: "
            f"{values[amount_column][index]!r} is negative (take refunds off before fitting)"
        )
    return Orders(
        customer_codes=codes, customer_names=np.array(list(numbering)), dates=dates, amounts=amounts
    )


def _is_date(text: str) -> bool:
    try:
        parse_date(text, "")
    except InputError:
        return False
    return True


def read_summary(path: Path) -> SummaryFile:
    """A customer summary from a CSV file with the columns frequency, recency, T and
    monetary_value (and optionally customer_id), one customer per line."""
    path = Path(path)
    with _open_rows(path) as handle:
        header = next(csv.reader(handle), None)
    has_ids = header is not None and "customer_id" in [name.strip() for name in header]
    wanted = (*SUMMARY_COLUMNS, "customer_id") if has_ids else SUMMARY_COLUMNS
    values = _read_columns(path, wanted)
    numbers = {name: _numbers(path, name, values[name], values.lines) for name in SUMMARY_COLUMNS}
    try:
        frequency, recency, age, monetary_value = check_summary(
            numbers["frequency"], numbers["recency"], numbers["T"], numbers["monetary_value"]
        )
    except SummaryError as error:
        if error.index is None:
            raise InputError(f"{path}: {error}") from None
        raise InputError(
            f"{path}, line {values.lines[error.index]}, column {error.field!r}: {error.problem}"
        ) from None
    ids = (
        np.array(values["customer_id"]) if has_ids else np.arange(1, len(frequency) + 1).astype(str)
    )
    return SummaryFile(ids, frequency, recency, age, monetary_value)


def write_predictions(path: Path, columns: dict[str, np.ndarray]) -> None:
    """One CSV line per customer with the given columns, in order."""
    path = Path(path)
    names = list(columns)
    lists = [np.asarray(values).tolist() for values in columns.values()]
    try:
        with replaced_on_success(path) as handle:
            writer = csv.writer(handle)
            writer.writerow(names)
            writer.writerows(zip(*lists, strict=True))
    except OSError as error:
        raise InputError(f"{path}: cannot be written ({error.strerror})") from None
