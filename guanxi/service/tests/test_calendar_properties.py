"""Property-based tests of the SLA arithmetic over random calendars, time zones and starts.

Random calendars have one to three intervals on any weekday (lunch breaks, early and night
hours, including the hours in which clocks change), whole and partial holidays near the start,
and one of five time zones, four of them with daylight saving. Starts cluster around the days the
clocks change. Each result is checked against a direct, slow computation written separately
below from the calendar's JSON (:func:`reference_open_intervals`), and against the algebraic
properties the module promises: inverse, monotonicity, additivity, never closed, 24x7 equals UTC.

Examples are derandomized, so every run checks the same cases and a failure reproduces; the
failing example is printed by Hypothesis.
"""

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanxi.service.calendar import (
    WEEKDAYS,
    add_business_minutes,
    add_business_minutes_paused,
    business_minutes_between,
    business_minutes_between_paused,
    parse_calendar,
)

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Shanghai",
    "America/Los_Angeles",
)
MINUTE = timedelta(minutes=1)
ONE_US = timedelta(microseconds=1)
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2027, 12, 31)

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def utc(moment: datetime) -> datetime:
    # Python compares and subtracts two datetimes of the same zone by their wall clocks, and
    # never finds a time shown twice equal to one in another zone; in UTC both are plain.
    return moment.astimezone(UTC)


def later(moment: datetime, seconds: int) -> datetime:
    return utc(moment) + timedelta(seconds=seconds)


def in_microseconds(minutes: float) -> int:
    return round(minutes * 60_000_000)


def _clock_change_days() -> list[tuple[str, date]]:
    """Local days on which each zone's offset changes, found by sampling every hour."""
    found = []
    for name in ZONES:
        zone = ZoneInfo(name)
        moment = datetime.combine(FIRST_DAY, datetime.min.time(), UTC)
        offset = moment.astimezone(zone).utcoffset()
        while moment.date() <= LAST_DAY:
            moment += timedelta(hours=1)
            local = moment.astimezone(zone)
            if local.utcoffset() != offset:
                found.append((name, local.date()))
                offset = local.utcoffset()
    return found


CLOCK_CHANGES = _clock_change_days()


# -- the reference: open intervals straight from the JSON --------------------------------------


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _reading(moment: datetime, zone: ZoneInfo) -> datetime:
    # Through UTC: astimezone() to a datetime's own zone returns it unchanged, even when the
    # wall-clock time it holds does not exist.
    return moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def reference_instant(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first instant at which the local clock reads ``wall`` or later, found by trying both
    folds and, for a skipped reading, walking forward to the jump."""
    occurrences = [
        wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        for fold in (0, 1)
        if _reading(wall.replace(tzinfo=zone, fold=fold), zone) == wall
    ]
    if occurrences:
        return min(occurrences)
    moment = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while _reading(moment, zone) < wall:
        moment += MINUTE
    while _reading(moment - timedelta(seconds=1), zone) >= wall:
        moment -= timedelta(seconds=1)
    return moment


def reference_open_intervals(
    data: dict, first: date, last: date
) -> list[tuple[datetime, datetime]]:
    """Open intervals of local days ``first``..``last``: each day is cut at every boundary of
    its hours and holidays, each piece kept if it is in some interval and in no holiday."""
    zone = ZoneInfo(data["timezone"])
    intervals: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if data["hours"] == "24x7":
            hours = [(0, 1440)]
        else:
            hours = [
                (_minutes(a), _minutes(b))
                for a, b in data["hours"].get(WEEKDAYS[day.weekday()], [])
            ]
        closed = [
            (_minutes(h.get("from", "00:00")), _minutes(h.get("to", "24:00")))
            for h in data.get("holidays", [])
            if h["date"] == day.isoformat()
        ]
        cuts = sorted({0, 1440, *(t for pair in hours + closed for t in pair)})
        midnight = datetime.combine(day, datetime.min.time())
        for low, high in itertools.pairwise(cuts):
            is_open = any(a <= low < b for a, b in hours) and not any(
                a <= low < b for a, b in closed
            )
            if not is_open:
                continue
            start = reference_instant(zone, midnight + low * MINUTE)
            end = reference_instant(zone, midnight + high * MINUTE)
            if start >= end:
                continue
            if intervals and intervals[-1][1] == start:
                intervals[-1] = (intervals[-1][0], end)
            else:
                intervals.append((start, end))
        day += timedelta(days=1)
    return intervals


def _days_around(start: datetime, end: datetime) -> tuple[date, date]:
    return start.astimezone(UTC).date() - timedelta(days=2), end.astimezone(UTC).date() + timedelta(
        days=2
    )


def reference_open_time(data: dict, start: datetime, end: datetime) -> timedelta:
    start, end = utc(start), utc(end)
    total = timedelta(0)
    for low, high in reference_open_intervals(data, *_days_around(start, end)):
        overlap = min(high, end) - max(low, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def reference_is_open_up_to(data: dict, moment: datetime) -> bool:
    """Whether the time just before ``moment`` is open: inside an interval or at its closing."""
    moment = utc(moment)
    return any(
        low < moment <= high
        for low, high in reference_open_intervals(data, *_days_around(moment, moment))
    )


# -- random calendars and starts ---------------------------------------------------------------

# Five-minute steps; 288 is 24:00. Half the boundaries fall between 00:00 and 03:20, where
# clocks change, so intervals cut by a change come up often.
_steps = st.one_of(st.integers(0, 288), st.integers(0, 40))


def _clock(step: int) -> str:
    return f"{step * 5 // 60:02d}:{step * 5 % 60:02d}"


@st.composite
def day_hours(draw) -> list[list[str]]:
    cuts = sorted(draw(st.lists(_steps, unique=True, max_size=6)))
    if len(cuts) % 2:
        cuts.pop()
    return [[_clock(a), _clock(b)] for a, b in zip(cuts[::2], cuts[1::2], strict=True)]


@st.composite
def starts(draw) -> datetime:
    if draw(st.booleans()):
        _zone, day = draw(st.sampled_from(CLOCK_CHANGES))
        base = datetime.combine(day, datetime.min.time(), UTC)
        moment = base + timedelta(seconds=draw(st.integers(-3 * 86_400, 3 * 86_400)))
    else:
        base = datetime.combine(FIRST_DAY, datetime.min.time(), UTC)
        moment = base + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86_400)))
    if draw(st.integers(0, 4)) == 0:
        moment += timedelta(microseconds=draw(st.integers(1, 999_999)))
    # The same instant written in some zone: the answer must not depend on it.
    shown_in = draw(st.sampled_from([UTC, *(ZoneInfo(name) for name in ZONES)]))
    return moment.astimezone(shown_in)


@st.composite
def holiday(draw, near: date) -> dict:
    day = near + timedelta(days=draw(st.integers(-2, 30)))
    item = {"date": day.isoformat()}
    kind = draw(st.sampled_from(["whole", "window", "from", "to"]))
    low, high = sorted(draw(st.lists(st.integers(0, 288), unique=True, min_size=2, max_size=2)))
    if kind in ("window", "from"):
        item["from"] = _clock(low)
    if kind in ("window", "to"):
        item["to"] = _clock(high)
    if kind == "from" and low == 288 - 0:
        item["from"] = "23:55"
    return item


@st.composite
def scenarios(draw, round_the_clock: bool | None = None) -> tuple[dict, object, datetime]:
    start = draw(starts())
    timezone = draw(st.sampled_from(ZONES))
    if round_the_clock is None:
        round_the_clock = draw(st.integers(0, 9)) == 0
    if round_the_clock:
        hours = "24x7"
    else:
        hours = {day: draw(day_hours()) for day in WEEKDAYS}
        if not any(hours.values()):
            hours["mon"] = [["09:00", "12:00"], ["13:00", "18:00"]]
    holidays = draw(st.lists(holiday(start.astimezone(ZoneInfo(timezone)).date()), max_size=5))
    data = {"timezone": timezone, "hours": hours, "holidays": holidays}
    return data, parse_calendar(data), start


def weekly_open_minutes(data: dict) -> int:
    if data["hours"] == "24x7":
        return 7 * 1440
    return sum(_minutes(b) - _minutes(a) for day in data["hours"].values() for a, b in day)


@st.composite
def budgets(draw, data: dict) -> int:
    """Whole minutes up to about four weeks of the calendar's open time."""
    return draw(st.integers(0, 4 * weekly_open_minutes(data)))


# -- properties --------------------------------------------------------------------------------
# Results are compared in UTC (see utc()).


@PROPERTY_SETTINGS
@given(st.data())
def test_deadline_matches_the_reference_and_is_never_in_closed_time(data):
    spec, calendar, start = data.draw(scenarios())
    minutes = data.draw(budgets(spec))
    result = add_business_minutes(calendar, start, minutes)

    assert result.tzinfo == ZoneInfo(spec["timezone"])
    assert result.utcoffset() == ZoneInfo(spec["timezone"]).utcoffset(result)
    assert utc(result) >= utc(start)
    assert reference_open_time(spec, start, result) == minutes * MINUTE
    assert business_minutes_between(calendar, start, result) == minutes
    if minutes > 0:
        # Inside an open interval or at its closing edge: the earliest moment possible.
        assert reference_is_open_up_to(spec, result)
    else:
        assert utc(result) == utc(start)


@PROPERTY_SETTINGS
@given(st.data())
def test_a_budget_that_runs_out_at_a_closing_is_due_at_that_closing(data):
    spec, calendar, start = data.draw(scenarios())
    closings = [
        high
        for _low, high in reference_open_intervals(
            spec, *_days_around(start, later(start, 14 * 86_400))
        )
        if high > utc(start)
    ]
    closing = data.draw(st.sampled_from(closings))
    budget = reference_open_time(spec, start, closing)
    if budget > timedelta(0):
        assert utc(add_business_minutes(calendar, start, budget / MINUTE)) == closing


@PROPERTY_SETTINGS
@given(st.data())
def test_elapsed_matches_the_reference(data):
    spec, calendar, start = data.draw(scenarios())
    end = later(start, data.draw(st.integers(0, 21 * 86_400)))
    elapsed = business_minutes_between(calendar, start, end)
    assert elapsed == reference_open_time(spec, start, end) / MINUTE
    # Going back by the elapsed time lands on the end, or on the last closing before it.
    back = add_business_minutes(calendar, start, elapsed)
    assert utc(back) <= end
    assert business_minutes_between(calendar, start, back) == elapsed
    assert business_minutes_between(calendar, back, end) == 0


@PROPERTY_SETTINGS
@given(st.data())
def test_decimal_minutes_invert_to_float_precision(data):
    _spec, calendar, start = data.draw(scenarios())
    minutes = data.draw(st.floats(0, 5000, allow_nan=False, allow_infinity=False))
    result = add_business_minutes(calendar, start, minutes)
    # The deadline is a whole microsecond, so the count back is within half a microsecond.
    assert abs(business_minutes_between(calendar, start, result) - minutes) <= 0.5e-6 / 60 + 1e-12


@PROPERTY_SETTINGS
@given(st.data())
def test_monotonic_in_start_minutes_and_end(data):
    spec, calendar, start = data.draw(scenarios())
    fewer, more = sorted(data.draw(st.lists(budgets(spec), min_size=2, max_size=2)))
    if fewer < more:
        assert utc(add_business_minutes(calendar, start, fewer)) < utc(
            add_business_minutes(calendar, start, more)
        )
    middle = later(start, data.draw(st.integers(0, 5 * 86_400)))
    assert utc(add_business_minutes(calendar, start, fewer)) <= utc(
        add_business_minutes(calendar, middle, fewer)
    )
    end = later(middle, data.draw(st.integers(0, 5 * 86_400)))
    whole = business_minutes_between(calendar, start, end)
    assert business_minutes_between(calendar, start, middle) <= whole
    assert business_minutes_between(calendar, middle, end) <= whole


@PROPERTY_SETTINGS
@given(st.data())
def test_additive_whatever_the_intermediate_deadline(data):
    spec, calendar, start = data.draw(scenarios())
    first = data.draw(budgets(spec))
    second = data.draw(budgets(spec))
    intermediate = add_business_minutes(calendar, start, first)
    assert utc(add_business_minutes(calendar, intermediate, second)) == utc(
        add_business_minutes(calendar, start, first + second)
    )
    # Elapsed time adds up over any split, exactly in microseconds.
    end = later(intermediate, data.draw(st.integers(0, 3 * 86_400)))
    assert in_microseconds(business_minutes_between(calendar, start, intermediate)) + (
        in_microseconds(business_minutes_between(calendar, intermediate, end))
    ) == in_microseconds(business_minutes_between(calendar, start, end))


@PROPERTY_SETTINGS
@given(st.data())
def test_round_the_clock_without_holidays_is_utc_arithmetic(data):
    _spec, _calendar, start = data.draw(scenarios())
    timezone = data.draw(st.sampled_from(ZONES))
    calendar = parse_calendar({"timezone": timezone, "hours": "24x7"})
    minutes = data.draw(st.integers(0, 200_000))
    assert utc(add_business_minutes(calendar, start, minutes)) == utc(start) + minutes * MINUTE
    end = later(start, data.draw(st.integers(0, 400 * 86_400)))
    assert business_minutes_between(calendar, start, end) == (end - utc(start)) / MINUTE


@PROPERTY_SETTINGS
@given(st.data())
def test_paused_time_is_left_out(data):
    spec, calendar, start = data.draw(scenarios())
    # Disjoint pauses after the start, in order, some of them touching.
    offsets = sorted(data.draw(st.lists(st.integers(0, 14 * 86_400), unique=True, max_size=6)))
    if len(offsets) % 2:
        offsets.pop()
    pauses = [
        (later(start, a), later(start, b)) for a, b in zip(offsets[::2], offsets[1::2], strict=True)
    ]
    end = later(start, data.draw(st.integers(0, 15 * 86_400)))
    expected = reference_open_time(spec, start, end) - sum(
        (reference_open_time(spec, a, min(b, end)) for a, b in pauses if a < end),
        timedelta(0),
    )
    assert business_minutes_between_paused(calendar, start, end, pauses) == expected / MINUTE

    minutes = data.draw(budgets(spec))
    result = add_business_minutes_paused(calendar, start, minutes, pauses)
    assert business_minutes_between_paused(calendar, start, result, pauses) == minutes
    if minutes > 0:
        assert not any(a < utc(result) <= b for a, b in pauses)
    # The pauses in reverse order, and an open-ended pause after the deadline, change nothing.
    assert utc(add_business_minutes_paused(calendar, start, minutes, pauses[::-1])) == utc(result)
    ongoing = [*pauses, (later(result, 3600), None)]
    assert utc(add_business_minutes_paused(calendar, start, minutes, ongoing)) == utc(result)


@PROPERTY_SETTINGS
@given(scenarios())
def test_canonical_form_reads_back_as_the_same_calendar(scenario):
    _spec, calendar, start = scenario
    again = parse_calendar(calendar.to_dict())
    assert again == calendar
    assert utc(add_business_minutes(again, start, 600)) == utc(
        add_business_minutes(calendar, start, 600)
    )
