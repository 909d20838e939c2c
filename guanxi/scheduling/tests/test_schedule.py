"""When entries fall due: daily wall-clock times across clock changes, and fixed intervals."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.scheduling.schedule import ScheduleEntry, latest_due, parse_entry

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def daily(at: str, zone: str = "Asia/Shanghai") -> ScheduleEntry:
    return ScheduleEntry(name="job", task="x.y", at=dt.time.fromisoformat(at), timezone=zone)


def test_a_daily_job_is_due_at_its_local_time_today_once_that_has_passed():
    entry = daily("02:30")
    # 09:00 in Shanghai is 01:00 UTC; the job fell due at 02:30 local = 18:30 UTC the day before.
    now = dt.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
    assert latest_due(entry, now) == dt.datetime(2026, 12, 2, 18, 30, tzinfo=UTC)
    # Just before 02:30 local, the latest occurrence is yesterday's.
    early = dt.datetime(2026, 12, 3, 2, 29, tzinfo=SHANGHAI)
    assert latest_due(entry, early) == dt.datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    # Exactly at the time, it is due now.
    exact = dt.datetime(2026, 12, 3, 2, 30, tzinfo=SHANGHAI)
    assert latest_due(entry, exact) == exact


def test_on_the_spring_forward_day_a_skipped_time_runs_after_the_jump():
    # New York, 8 March 2026: clocks go from 02:00 EST to 03:00 EDT; 02:30 never happens.
    entry = daily("02:30", "America/New_York")
    now = dt.datetime(2026, 3, 8, 12, 0, tzinfo=NEW_YORK)
    due = latest_due(entry, now)
    assert due.astimezone(NEW_YORK).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 3, 30)
    # The day before it ran at 02:30 EST, 07:30 UTC: the same instant of the day, so the two
    # runs are a full 24 hours apart although the day itself had only 23.
    before = latest_due(entry, dt.datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK))
    assert before == dt.datetime(2026, 3, 7, 7, 30, tzinfo=UTC)
    assert due - before == dt.timedelta(hours=24)


def test_on_the_fall_back_day_a_repeated_time_runs_at_the_first_of_the_two():
    # New York, 1 November 2026: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    entry = daily("01:30", "America/New_York")
    first = dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert latest_due(entry, first) == first
    # During the second 01:30 the latest occurrence is still the first one: no second run.
    assert latest_due(entry, dt.datetime(2026, 11, 1, 6, 45, tzinfo=UTC)) == first


def test_an_interval_job_is_due_on_each_multiple_of_its_interval():
    entry = ScheduleEntry(name="sweep", task="x.y", every_minutes=15)
    now = dt.datetime(2026, 12, 3, 10, 44, 59, tzinfo=UTC)
    assert latest_due(entry, now) == dt.datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    every_minute = ScheduleEntry(name="sweep", task="x.y", every_minutes=1)
    assert latest_due(every_minute, now) == dt.datetime(2026, 12, 3, 10, 44, tzinfo=UTC)


@given(
    st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2090, 1, 1)),
    st.sampled_from(["America/New_York", "Europe/London", "Asia/Shanghai", "Australia/Sydney"]),
    st.times(),
)
def test_a_daily_job_falls_due_once_per_local_day(naive_now, zone, at):
    entry = ScheduleEntry(name="job", task="x.y", at=at.replace(microsecond=0), timezone=zone)
    now = naive_now.replace(tzinfo=UTC)
    due = latest_due(entry, now)
    assert due <= now < due + dt.timedelta(hours=26)  # never more than a (long) day back
    # The next occurrence after ``due`` is on the following local day.
    later = latest_due(entry, due + dt.timedelta(hours=25, minutes=1))
    local_days = later.astimezone(ZoneInfo(zone)).date() - due.astimezone(ZoneInfo(zone)).date()
    assert later > due and local_days == dt.timedelta(days=1)


def test_entries_are_checked_when_read():
    assert parse_entry("a", {"task": "x.y", "every_minutes": 5}).every_minutes == 5
    assert parse_entry("b", {"task": "x.y", "at": "02:30"}).at == dt.time(2, 30)
    with pytest.raises(ValueError, match="exactly one of 'at' and 'every_minutes'"):
        parse_entry("c", {"task": "x.y"})
    with pytest.raises(ValueError, match="unknown keys"):
        parse_entry("d", {"task": "x.y", "every": 5})
    with pytest.raises(ValueError, match="'task' is required"):
        parse_entry("e", {"at": "02:30"})
    with pytest.raises(ValueError, match="every_minutes must be 1 to 1440"):
        parse_entry("f", {"task": "x.y", "every_minutes": 0})
    with pytest.raises(Exception, match="Nowhere"):
        parse_entry("g", {"task": "x.y", "at": "02:30", "timezone": "Nowhere/Land"})
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_due(daily("02:30"), dt.datetime(2026, 1, 1))
