"""Keyset ("seek") pagination shared by the web list and the API.

Offset pagination gets slower the deeper one pages (the database still walks every skipped row)
and shows rows twice or not at all when data changes between pages. A keyset page instead asks
for "rows after the last one you saw" in a fixed total order, which an index on
``(sort field, id)`` answers in constant time at any depth.

The cursor is the sort value and id of the last row, as URL-safe base64 of a small JSON list.
It is not a secret: a doctored cursor only moves the window inside the caller's own scope.
"""

import base64
import binascii
import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from guanxi.core.text import UNSTORABLE_TEXT

# Sort keys callers may ask for, mapped to the model field they sort on. Every field here is
# NOT NULL, which keeps the seek condition a plain comparison.
DEFAULT_ORDERINGS = {
    "-id": "id",
    "id": "id",
    "name": "name",
    "-name": "name",
    "updated_at": "updated_at",
    "-updated_at": "updated_at",
    "created_at": "created_at",
    "-created_at": "created_at",
}


# Sort fields holding numbers rather than text or timestamps (a duplicate pair's scores).
NUMERIC_FIELDS = frozenset({"score", "score_without_id_number"})
# Ids are positive 64-bit integers; a larger one cannot even be bound as a parameter on SQLite.
MAX_ID = 2**63 - 1


class CursorError(ValueError):
    """A cursor that this module did not produce (or that belongs to another ordering)."""


@dataclass(frozen=True)
class KeysetPage:
    items: list
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorError("This cursor is not valid.") from exc
    if not isinstance(values, list) or len(values) != 3:
        raise CursorError("This cursor is not valid.")
    return values


def _serialise(value: Any) -> Any:
    if isinstance(value, dt.date):  # a day, or a timestamp (a datetime is a date too)
        return value.isoformat()
    return value


def _deserialise(field: str, value: Any) -> Any:
    """The sort value of a cursor, or :class:`CursorError` for anything this module would not
    have written. Every value that could fail only once the database is asked (a date that
    does not exist, a timestamp or number out of range, text no column can hold) is refused
    here, so that each caller needs to handle CursorError alone."""
    if field.endswith("_at"):  # created_at, updated_at, occurred_at: timestamps
        return _timestamp(value)
    if field.endswith("_on"):  # ordered_on: days
        return _day(value)
    if field == "id":
        return _id(value)
    if field in NUMERIC_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CursorError("This cursor is not valid.")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float (10**400)
            raise CursorError("This cursor is not valid.") from None
        if not math.isfinite(number):  # json.loads accepts NaN and Infinity
            raise CursorError("This cursor is not valid.")
        return number
    if not isinstance(value, str) or UNSTORABLE_TEXT.search(value):
        raise CursorError("This cursor is not valid.")
    return value


def _timestamp(value: Any) -> dt.datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        # Cursors are written from aware timestamps. Converting to UTC now, as the database
        # adapters do, refuses a time whose UTC date falls outside years 1 to 9999
        # (0001-01-01T00:00+14:00), which SQLite's adapter would otherwise fail on.
        if parsed is None or parsed.tzinfo is None:
            raise CursorError("This cursor is not valid.")
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:  # 2024-02-30, hour 25, offset +25:00
        raise CursorError("This cursor is not valid.") from exc


def _day(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise CursorError("This cursor is not valid.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:  # 2024-02-30
        raise CursorError("This cursor is not valid.") from exc


def _id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise CursorError("This cursor is not valid.")
    return value


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: str = "-id",
    cursor: str | None = None,
    limit: int = 50,
    orderings: dict[str, str] | None = None,
) -> KeysetPage:
    """One page of ``queryset`` in ``ordering``, starting after ``cursor``.

    Raises :class:`CursorError` for a malformed cursor and ``KeyError`` for an ordering that is
    not offered (callers validate both and name the parameter in their error).
    """
    field = (orderings or DEFAULT_ORDERINGS)[ordering]
    descending = ordering.startswith("-")
    if field == "id":
        order_by = ["-id"] if descending else ["id"]
    else:
        order_by = [f"-{field}", "-id"] if descending else [field, "id"]
    queryset = queryset.order_by(*order_by)
    if cursor:
        tag, value, last_id = _decode(cursor)
        if tag != ordering:
            raise CursorError("This cursor is not valid.")
        last_id = _id(last_id)
        value = _deserialise(field, value)
        if field == "id":
            seek = Q(id__lt=last_id) if descending else Q(id__gt=last_id)
        elif descending:
            # The redundant bound on the field alone is what lets the database start the index
            # scan at the cursor; the OR on its own makes it read every newer row first.
            seek = Q(**{f"{field}__lte": value}) & (
                Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": last_id})
            )
        else:
            seek = Q(**{f"{field}__gte": value}) & (
                Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": last_id})
            )
        queryset = queryset.filter(seek)
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([ordering, _serialise(getattr(last, field)), last.pk])
    return KeysetPage(items=rows, next_cursor=next_cursor)
