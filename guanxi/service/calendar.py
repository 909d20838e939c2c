"""Business-calendar arithmetic for service-level deadlines.

A service calendar says when the service desk is open: a time zone, business hours per weekday
(or round the clock) and public holidays. This module answers two questions about it:

* :func:`add_business_minutes` — "a response is due 240 business minutes after this ticket was
  opened: when is that?" (the deadline);
* :func:`business_minutes_between` — "how much business time passed between these two moments?"
  (the elapsed time),

and their variants that leave out paused time ("pending customer"), given either as paused
intervals or as a ticket's status history. Everything here is pure: plain values in, plain values
out, no database, so a deadline can always be recomputed from the stored history when a policy or
a calendar changes. The format of a calendar is described in the README ("Service calendars").

How wall-clock hours become real time
-------------------------------------
Hours and holidays are written in the calendar's local time and every boundary becomes one real
instant: *the first moment at which the local clock shows that time or later*. So on a
spring-forward day "02:30" (a time the clock skips) is the moment the clock jumps, and on a
fall-back day "01:30" (shown twice) is its first occurrence. An open interval is the real time
between its two boundary instants, and elapsed business time counts real seconds: an interval
that a spring-forward jump shortens holds fewer real minutes, one that contains a whole repeated
hour holds more, and one that ends inside the repeated hour ends at its first pass. Business
hours at 09:00-18:00 are untouched by transitions at night.

A deadline is the *earliest* moment at which the required business time has passed, so it never
lies in closed time: it is inside an open interval or exactly at its closing edge (a budget that
runs out at 18:00 is due at 18:00, not at 09:00 the next morning). With that choice the arithmetic
is exact and consistent, in whole microseconds:

* ``business_minutes_between(c, s, add_business_minutes(c, s, m)) == m`` for every ``m >= 0``
  (to float precision when ``m`` is not a whole number of microseconds);
* ``add_business_minutes(c, add_business_minutes(c, s, a), b) == add_business_minutes(c, s, a + b)``
  for all ``a, b >= 0``, wherever the intermediate deadline lands: it is always in open time or
  at a closing edge, and counting on from a closing edge resumes at the next opening. Exact when
  ``a`` and ``b`` are whole microseconds (any whole number of minutes); other amounts are rounded
  to the microsecond, which can make the two sides differ by one;
* deadlines grow with the start and (strictly) with the minutes; elapsed time grows with the end
  and shrinks with the start;
* on a round-the-clock calendar without holidays both equal plain UTC arithmetic.

Results are aware datetimes in the calendar's zone (``fold`` set on a repeated hour). Compare or
subtract them in UTC: Python compares two datetimes of the same zone by their wall clocks.

How it stays fast
-----------------
Real time is cut into UTC weeks. For each week the calendar computes, once, its open intervals
(in microseconds since 1970) and the running total of open time, and keeps them in a bounded
cache on the calendar object. A deadline is then a dictionary lookup and a binary search in one
or two weeks; elapsed time over a long span adds up the cached weekly totals. Building a week
takes a fraction of a millisecond (it converts each local day's boundaries through ``zoneinfo``
one by one, which is what keeps daylight-saving changes exact); after that a deadline costs a few
microseconds. Parse a calendar once and reuse the object: it is immutable, hashable and compares
by content, so it can key a cache.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROUND_THE_CLOCK = "24x7"
RUNNING = "running"
PAUSED = "paused"

DAY_SECONDS = 24 * 60 * 60
_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_BLOCK_US = 7 * DAY_SECONDS * _US_PER_SECOND
# How many weekly blocks one calendar keeps (about twenty years); the least recently used go.
_MAX_CACHED_BLOCKS = 1024
_MAX_CACHED_DAYS = 4096

# Every instant handled lies in this range, so that a week's block and the local days around
# it (a zone's offset is always less than a day) stay inside what ``datetime`` can represent.
EARLIEST = datetime(1, 2, 1, tzinfo=UTC)
LATEST = datetime(9999, 11, 30, tzinfo=UTC)
# No service-level promise runs for a century; refusing longer spans keeps every computation
# bounded (a mistyped year otherwise means millennia of weeks to walk through).
MAX_SPAN = timedelta(days=36_525)
_RANGE = f"({EARLIEST.date()} to {LATEST.date()})"
_MAX_SPAN_US = MAX_SPAN // _ONE_US
_LAST_BLOCK = ((LATEST - _EPOCH) // _ONE_US) // _BLOCK_US

_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CALENDAR_KEYS = ("timezone", "hours", "holidays")
_HOLIDAY_KEYS = ("date", "from", "to")

Window = tuple[int, int]  # seconds after local midnight, [start, end)
Pause = tuple[datetime, datetime | None]


class CalendarError(ValueError):
    """A calendar that cannot be used. ``errors`` lists ``(path, message)`` pairs, where the path
    names the offending key the way the API names fields (``hours.mon[1]``)."""

    def __init__(self, errors: Sequence[tuple[str, str]]):
        self.errors = list(errors)
        super().__init__("\n".join(f"{path}: {message}" for path, message in self.errors))


class _Block(NamedTuple):
    """One UTC week of a calendar: open intervals as microseconds since 1970, with the open
    time before each interval (``before``) and up to its end (``through``)."""

    starts: list[int]
    ends: list[int]
    before: list[int]
    through: list[int]
    total: int


class BusinessCalendar:
    """A validated service calendar; make one with :func:`parse_calendar`.

    Immutable and compared by content (time zone, weekly hours, holidays), so it can key a cache;
    it carries its own cache of computed weeks, which never affects results.
    """

    __slots__ = ("_blocks", "_days", "_key", "holidays", "timezone", "weekly", "zone")

    def __init__(
        self, *, timezone: str, weekly: Sequence[Sequence[Window]], holidays: Mapping[date, Any]
    ):
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.weekly: tuple[tuple[Window, ...], ...] = tuple(tuple(day) for day in weekly)
        self.holidays: Mapping[date, tuple[Window, ...]] = MappingProxyType(
            {day: tuple(windows) for day, windows in sorted(holidays.items())}
        )
        self._key = (timezone, self.weekly, tuple(self.holidays.items()))
        self._blocks: OrderedDict[int, _Block] = OrderedDict()
        # Neighbouring weeks share the local days at their edges; each day is converted once.
        self._days: dict[date, list[tuple[int, int]]] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BusinessCalendar) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"<BusinessCalendar {json.dumps(self.to_dict(), ensure_ascii=False)}>"

    @property
    def round_the_clock(self) -> bool:
        return all(day == ((0, DAY_SECONDS),) for day in self.weekly)

    def to_dict(self) -> dict[str, Any]:
        """The calendar in its canonical JSON form (intervals sorted and merged)."""
        if self.round_the_clock:
            hours: Any = ROUND_THE_CLOCK
        else:
            hours = {
                name: [[_clock(a), _clock(b)] for a, b in day]
                for name, day in zip(WEEKDAYS, self.weekly, strict=True)
                if day
            }
        holidays = []
        for day, windows in self.holidays.items():
            if windows == ((0, DAY_SECONDS),):
                holidays.append({"date": day.isoformat()})
            else:
                holidays.extend(
                    {"date": day.isoformat(), "from": _clock(a), "to": _clock(b)}
                    for a, b in windows
                )
        return {"timezone": self.timezone, "hours": hours, "holidays": holidays}

    def localize(self, naive: datetime) -> datetime:
        """Read a wall-clock time in this calendar's zone, by the same rule as business hours: a
        time shown twice means its first occurrence, a skipped time the moment of the jump."""
        if naive.tzinfo is not None:
            raise ValueError("localize() takes a datetime without a time zone")
        if not EARLIEST.replace(tzinfo=None) <= naive <= LATEST.replace(tzinfo=None):
            raise ValueError(f"{naive.isoformat()} is outside the supported range {_RANGE}")
        return _from_us(self._boundary_us(naive), self.zone)

    # -- wall clock to real time -------------------------------------------------------------

    def _boundary_us(self, naive: datetime) -> int:
        """The first instant at which the local clock reads ``naive`` or later."""
        zone = self.zone
        # PEP 495: fold=0 maps a reading with the offset in force before a transition, fold=1
        # with the one after. Equal offsets: an ordinary reading. A larger offset before: the
        # clock went back and shows this reading twice; fold=0 gives the first occurrence.
        offset_before = zone.utcoffset(naive)
        offset_after = zone.utcoffset(naive.replace(fold=1))
        if offset_before >= offset_after:
            return (naive - offset_before - _NAIVE_EPOCH) // _ONE_US
        # The clock skips this reading. Mapped with the offset after the jump it lands before
        # the jump, with the one before it after. zoneinfo has no public list of transitions,
        # so find the jump between the two by bisection; this happens only on the few days a
        # year on which a jump falls inside business hours.
        before = (naive - offset_after - _NAIVE_EPOCH) // _ONE_US
        after = (naive - offset_before - _NAIVE_EPOCH) // _ONE_US
        while after - before > 1:
            middle = (before + after) // 2
            if _reading(middle, zone) >= naive:
                after = middle
            else:
                before = middle
        return after

    def _day_open_us(self, day: date) -> list[tuple[int, int]]:
        intervals = self._days.get(day)
        if intervals is None:
            if len(self._days) >= _MAX_CACHED_DAYS:
                self._days.clear()
            intervals = self._days[day] = self._convert_day(day)
        return intervals

    def _convert_day(self, day: date) -> list[tuple[int, int]]:
        windows: Sequence[Window] = self.weekly[day.weekday()]
        closed = self.holidays.get(day)
        if closed:
            windows = _subtract(windows, closed)
        midnight = datetime(day.year, day.month, day.day)
        intervals = []
        for start, end in windows:
            real_start = self._boundary_us(midnight + timedelta(seconds=start))
            real_end = self._boundary_us(midnight + timedelta(seconds=end))
            if real_start < real_end:  # an interval inside a skipped hour holds no time at all
                intervals.append((real_start, real_end))
        return intervals

    def _block(self, index: int) -> _Block:
        blocks = self._blocks
        block = blocks.get(index)
        # Threads may share a calendar: another one can evict a week between two steps here,
        # which only costs building it again.
        if block is not None:
            with suppress(KeyError):
                blocks.move_to_end(index)
            return block
        block = self._build_block(index)
        blocks[index] = block
        if len(blocks) > _MAX_CACHED_BLOCKS:
            with suppress(KeyError):
                blocks.popitem(last=False)
        return block

    def _build_block(self, index: int) -> _Block:
        low = index * _BLOCK_US
        high = low + _BLOCK_US
        # Local days that can reach into this UTC week: offsets stay within a day either way.
        day = (_EPOCH + timedelta(microseconds=low)).date() - 2 * _ONE_DAY
        last_day = (_EPOCH + timedelta(microseconds=high)).date() + 2 * _ONE_DAY
        starts: list[int] = []
        ends: list[int] = []
        while day <= last_day:
            for start, end in self._day_open_us(day):
                start = max(start, low)
                end = min(end, high)
                if start >= end:
                    continue
                if ends and start <= ends[-1]:
                    # One day's closing is the next day's opening (round the clock): one interval.
                    ends[-1] = max(ends[-1], end)
                else:
                    starts.append(start)
                    ends.append(end)
            day += _ONE_DAY
        before: list[int] = []
        through: list[int] = []
        total = 0
        for start, end in zip(starts, ends, strict=True):
            before.append(total)
            total += end - start
            through.append(total)
        return _Block(starts, ends, before, through, total)


# -- reading and validating calendars ----------------------------------------------------------


def parse_calendar(data: Any) -> BusinessCalendar:
    """Validate a calendar in its JSON form and return it ready for arithmetic.

    Raises :class:`CalendarError` listing every problem, each under the path of its key.
    """
    errors: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise CalendarError([("calendar", "expected an object with timezone, hours, holidays")])
    for key in data:
        if key not in _CALENDAR_KEYS:
            errors.append((str(key), f"unknown key; a calendar has {', '.join(_CALENDAR_KEYS)}"))
    timezone = _parse_timezone(data.get("timezone"), errors)
    weekly = _parse_hours(data.get("hours"), errors)
    holidays = _parse_holidays(data.get("holidays", []), errors)
    if errors:
        raise CalendarError(errors)
    return BusinessCalendar(timezone=timezone, weekly=weekly, holidays=holidays)


def _parse_timezone(value: Any, errors: list[tuple[str, str]]) -> str:
    if value is None:
        errors.append(("timezone", 'required, an IANA time zone such as "Asia/Shanghai"'))
        return ""
    if not isinstance(value, str) or not value:
        errors.append(("timezone", f"expected an IANA time zone name, got {_show(value)}"))
        return ""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(("timezone", f'unknown time zone {_show(value)} (e.g. "Asia/Shanghai")'))
        return ""
    return value


def _parse_hours(value: Any, errors: list[tuple[str, str]]) -> list[tuple[Window, ...]]:
    if value == ROUND_THE_CLOCK:
        return [((0, DAY_SECONDS),)] * 7
    if value is None:
        errors.append(("hours", f'required: "{ROUND_THE_CLOCK}" or business hours per weekday'))
        return [()] * 7
    if not isinstance(value, Mapping):
        errors.append(
            ("hours", f'expected "{ROUND_THE_CLOCK}" or an object of weekdays, got {_show(value)}')
        )
        return [()] * 7
    weekly: list[tuple[Window, ...]] = [()] * 7
    for key, intervals in value.items():
        path = f"hours.{key}"
        if key not in WEEKDAYS:
            errors.append((path, f"unknown weekday; use {', '.join(WEEKDAYS)}"))
            continue
        weekly[WEEKDAYS.index(key)] = _parse_day(intervals, WEEKDAYS.index(key), errors)
    if not any(weekly) and not any(path.startswith("hours") for path, _ in errors):
        errors.append(("hours", "no weekday has business hours, so no deadline could be reached"))
    return weekly


def _parse_day(value: Any, weekday: int, errors: list[tuple[str, str]]) -> tuple[Window, ...]:
    path = f"hours.{WEEKDAYS[weekday]}"
    if not isinstance(value, list):
        expected = 'expected a list of ["HH:MM", "HH:MM"] intervals'
        errors.append((path, f"{expected}, got {_show(value)}"))
        return ()
    parsed: list[tuple[Window, str]] = []
    for index, interval in enumerate(value):
        item_path = f"{path}[{index}]"
        if not (isinstance(interval, list) and len(interval) == 2):
            errors.append((item_path, f'expected ["HH:MM", "HH:MM"], got {_show(interval)}'))
            continue
        start = _parse_clock(interval[0], f"{item_path}[0]", errors, end_of_day=False)
        end = _parse_clock(interval[1], f"{item_path}[1]", errors, end_of_day=True)
        if start is None or end is None:
            continue
        shown = f'"{interval[0]}-{interval[1]}"'
        if end < start:
            errors.append(
                (
                    item_path,
                    f"{shown} ends before it starts (hours cannot cross midnight: write a "
                    f'night shift as ["{interval[0]}", "24:00"] on {WEEKDAYS[weekday]} '
                    f'and ["00:00", "{interval[1]}"] on {WEEKDAYS[(weekday + 1) % 7]})',
                )
            )
            continue
        if end == start:
            errors.append((item_path, f"{shown} is empty"))
            continue
        for (other_start, other_end), other_shown in parsed:
            if start < other_end and other_start < end:
                errors.append((item_path, f"{shown} overlaps {other_shown}"))
                break
        else:
            parsed.append(((start, end), shown))
    return _merge(window for window, _ in parsed)


def _parse_holidays(value: Any, errors: list[tuple[str, str]]) -> dict[date, tuple[Window, ...]]:
    if not isinstance(value, list):
        errors.append(("holidays", f"expected a list of holidays, got {_show(value)}"))
        return {}
    closed: dict[date, list[Window]] = {}
    for index, item in enumerate(value):
        path = f"holidays[{index}]"
        if not isinstance(item, Mapping):
            errors.append((path, f'expected {{"date": "YYYY-MM-DD"}}, got {_show(item)}'))
            continue
        unknown = [key for key in item if key not in _HOLIDAY_KEYS]
        errors.extend(
            (f"{path}.{key}", f"unknown key; a holiday has {', '.join(_HOLIDAY_KEYS)}")
            for key in unknown
        )
        day = _parse_date(item.get("date"), f"{path}.date", errors)
        # Without "from" the closure starts at midnight; without "to" it lasts the day out.
        start = _parse_clock(item.get("from", "00:00"), f"{path}.from", errors, end_of_day=False)
        end = _parse_clock(item.get("to", "24:00"), f"{path}.to", errors, end_of_day=True)
        if day is None or start is None or end is None or unknown:
            continue
        if end <= start:
            problem = "is empty" if end == start else "ends before it starts"
            errors.append((path, f'"{_clock(start)}-{_clock(end)}" {problem}'))
            continue
        closed.setdefault(day, []).append((start, end))
    return {day: _merge(windows) for day, windows in closed.items()}


def _parse_clock(
    value: Any, path: str, errors: list[tuple[str, str]], *, end_of_day: bool
) -> int | None:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match:
        hours, minutes = int(match[1]), int(match[2])
        if hours < 24 and minutes < 60:
            return hours * 3600 + minutes * 60
        if end_of_day and (hours, minutes) == (24, 0):
            return DAY_SECONDS
    allowed = "00:00 to 23:59, or 24:00 for the end of the day" if end_of_day else "00:00 to 23:59"
    errors.append((path, f'expected a time "HH:MM" ({allowed}), got {_show(value)}'))
    return None


def _parse_date(value: Any, path: str, errors: list[tuple[str, str]]) -> date | None:
    if value is None:
        errors.append((path, 'required, a date "YYYY-MM-DD"'))
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append((path, f'expected a date "YYYY-MM-DD", got {_show(value)}'))
    return None


def _merge(windows: Iterable[Window]) -> tuple[Window, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def _subtract(windows: Sequence[Window], closed: Sequence[Window]) -> list[Window]:
    """Open windows minus closed ones (both sorted; the closed ones merged)."""
    remaining = []
    for start, end in windows:
        for closed_start, closed_end in closed:
            if closed_end <= start or closed_start >= end:
                continue
            if closed_start > start:
                remaining.append((start, closed_start))
            start = closed_end
            if start >= end:
                break
        if start < end:
            remaining.append((start, end))
    return remaining


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


# -- instants ----------------------------------------------------------------------------------


def _reading(us: int, zone: ZoneInfo) -> datetime:
    """What the local clock shows at an instant (microseconds since 1970), without a zone."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone).replace(tzinfo=None)


def _from_us(us: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


def _to_us(moment: Any, name: str) -> int:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name}: expected a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: {moment.isoformat()} has no time zone; give an aware datetime")
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"{name}: {moment.isoformat()} is outside the supported range {_RANGE}")
    return (moment - _EPOCH) // _ONE_US


def _minutes_to_us(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise ValueError(f"minutes: expected a number, got {minutes!r}")
    if isinstance(minutes, float) and not math.isfinite(minutes):
        raise ValueError(f"minutes: expected a finite number, got {minutes!r}")
    if minutes < 0:
        raise ValueError(f"minutes: cannot be negative, got {minutes!r}")
    if minutes * 60 > MAX_SPAN.total_seconds():
        raise ValueError(f"minutes: {minutes!r} is longer than the longest span handled, a century")
    if isinstance(minutes, int):
        return minutes * _US_PER_MINUTE
    return round(minutes * _US_PER_MINUTE)


def _check_span(start_us: int, end_us: int, end_name: str) -> None:
    if end_us < start_us:
        raise ValueError(f"{end_name}: is before the start")
    if end_us - start_us > _MAX_SPAN_US:
        raise ValueError(f"{end_name}: more than a century after the start, longer than handled")


# -- the arithmetic, in microseconds -----------------------------------------------------------


def _open_before(block: _Block, moment: int) -> int:
    """Open time in ``block`` before ``moment`` (which lies in the block's week)."""
    index = bisect_right(block.starts, moment) - 1
    if index < 0:
        return 0
    return block.before[index] + min(moment, block.ends[index]) - block.starts[index]


def _open_between_us(calendar: BusinessCalendar, start: int, end: int) -> int:
    first, last = start // _BLOCK_US, end // _BLOCK_US
    block = calendar._block(first)
    if first == last:
        return _open_before(block, end) - _open_before(block, start)
    total = block.total - _open_before(block, start)
    for index in range(first + 1, last):
        total += calendar._block(index).total
    return total + _open_before(calendar._block(last), end)


def _add_us(calendar: BusinessCalendar, start: int, amount: int) -> int:
    """The earliest instant by which ``amount`` (> 0) of open time has passed since ``start``."""
    index = start // _BLOCK_US
    last_index = min(_LAST_BLOCK, (start + _MAX_SPAN_US) // _BLOCK_US)
    block = calendar._block(index)
    target = _open_before(block, start) + amount
    while target > block.total:
        target -= block.total
        index += 1
        if index > last_index:
            if index > _LAST_BLOCK:
                raise ValueError(f"minutes: the deadline would fall after {LATEST.date()}")
            raise ValueError("minutes: the deadline would be more than a century after the start")
        block = calendar._block(index)
    # The interval in which the target-th microsecond of open time ends; ``target`` > 0, so the
    # answer is inside an open interval or exactly at its closing edge, never in closed time.
    position = bisect_left(block.through, target)
    return block.starts[position] + target - block.before[position]


# -- public API --------------------------------------------------------------------------------


def add_business_minutes(
    calendar: BusinessCalendar, start: datetime, minutes: int | float
) -> datetime:
    """The deadline ``minutes`` business minutes after ``start``, in the calendar's time zone.

    The earliest moment by which that much open time has passed; ``start`` itself for zero.
    """
    start_us = _to_us(start, "start")
    amount = _minutes_to_us(minutes)
    if amount == 0:
        return _from_us(start_us, calendar.zone)
    return _from_us(_add_us(calendar, start_us, amount), calendar.zone)


def business_minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Business minutes (real seconds of open time / 60) from ``start`` to ``end``."""
    start_us = _to_us(start, "start")
    end_us = _to_us(end, "end")
    _check_span(start_us, end_us, "end")
    return _open_between_us(calendar, start_us, end_us) / _US_PER_MINUTE


def _pauses_us(paused: Iterable[Pause]) -> list[tuple[int, int | None]]:
    """Paused intervals as sorted, merged microsecond pairs; ``None`` ends an open pause."""
    pauses: list[tuple[int, int | None]] = []
    for index, item in enumerate(paused):
        try:
            begin, finish = item
        except (TypeError, ValueError):
            raise ValueError(f"paused[{index}]: expected a (start, end) pair") from None
        begin_us = _to_us(begin, f"paused[{index}] start")
        finish_us = None if finish is None else _to_us(finish, f"paused[{index}] end")
        if finish_us is not None and finish_us < begin_us:
            raise ValueError(f"paused[{index}]: ends before it starts")
        pauses.append((begin_us, finish_us))
    pauses.sort(key=lambda pause: pause[0])
    merged: list[tuple[int, int | None]] = []
    for begin_us, finish_us in pauses:
        if merged:
            last_begin, last_finish = merged[-1]
            if last_finish is None:
                break  # paused for good: nothing after it counts
            if begin_us <= last_finish:
                finish = None if finish_us is None else max(last_finish, finish_us)
                merged[-1] = (last_begin, finish)
                continue
        merged.append((begin_us, finish_us))
    return merged


def add_business_minutes_paused(
    calendar: BusinessCalendar, start: datetime, minutes: int | float, paused: Iterable[Pause]
) -> datetime | None:
    """The deadline when the clock stops during ``paused`` intervals ``(from, to)``.

    ``to`` may be ``None`` for a pause that has not ended; if the budget is not used up before
    it begins, the deadline is not known yet and the answer is ``None``.
    """
    cursor = _to_us(start, "start")
    remaining = _minutes_to_us(minutes)
    if remaining == 0:
        return _from_us(cursor, calendar.zone)
    for begin, finish in _pauses_us(paused):
        if finish is not None and finish <= cursor:
            continue
        if begin > cursor:
            horizon = min(begin, cursor + _MAX_SPAN_US)
            available = _open_between_us(calendar, cursor, horizon)
            if remaining <= available:
                break
            if horizon < begin:
                raise ValueError("minutes: the deadline would be more than a century away")
            remaining -= available
        if finish is None:
            return None
        cursor = max(cursor, finish)
    return _from_us(_add_us(calendar, cursor, remaining), calendar.zone)


def business_minutes_between_paused(
    calendar: BusinessCalendar, start: datetime, end: datetime, paused: Iterable[Pause]
) -> float:
    """Business minutes from ``start`` to ``end``, leaving out ``paused`` intervals ``(from, to)``
    (``to`` may be ``None`` for a pause that has not ended)."""
    start_us = _to_us(start, "start")
    end_us = _to_us(end, "end")
    _check_span(start_us, end_us, "end")
    total = _open_between_us(calendar, start_us, end_us)
    for begin, finish in _pauses_us(paused):
        begin = max(begin, start_us)
        finish = end_us if finish is None else min(finish, end_us)
        if begin < finish:
            total -= _open_between_us(calendar, begin, finish)
    return total / _US_PER_MINUTE


def pauses_from_history(history: Iterable[tuple[datetime, str]]) -> tuple[datetime, list[Pause]]:
    """Turn a status history into the moment the clock started and its paused intervals.

    ``history`` holds ``(moment, "running" | "paused")`` entries, in any order (entries at the
    same moment apply in the order given). The first entry starts the clock; a repeated state
    changes nothing; a pause still open at the end is returned as ``(from, None)``.
    """
    entries = []
    for index, item in enumerate(history):
        try:
            moment, state = item
        except (TypeError, ValueError):
            raise ValueError(f"history[{index}]: expected a (moment, state) pair") from None
        if state not in (RUNNING, PAUSED):
            raise ValueError(f'history[{index}]: state must be "{RUNNING}" or "{PAUSED}"')
        _to_us(moment, f"history[{index}]")
        entries.append((moment, state))
    if not entries:
        raise ValueError("history: empty; its first entry starts the clock")
    entries.sort(key=lambda entry: entry[0])
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    for moment, state in entries:
        if state == PAUSED and paused_since is None:
            paused_since = moment
        elif state == RUNNING and paused_since is not None:
            pauses.append((paused_since, moment))
            paused_since = None
    if paused_since is not None:
        pauses.append((paused_since, None))
    return entries[0][0], pauses


def deadline_from_history(
    calendar: BusinessCalendar, history: Iterable[tuple[datetime, str]], minutes: int | float
) -> datetime | None:
    """The deadline of a clock with this status history; ``None`` while it is paused with
    budget left (the deadline moves on when it runs again)."""
    start, pauses = pauses_from_history(history)
    return add_business_minutes_paused(calendar, start, minutes, pauses)


def elapsed_from_history(
    calendar: BusinessCalendar, history: Iterable[tuple[datetime, str]], until: datetime
) -> float:
    """Business minutes the clock with this status history has run by ``until``."""
    start, pauses = pauses_from_history(history)
    return business_minutes_between_paused(calendar, start, until, pauses)
