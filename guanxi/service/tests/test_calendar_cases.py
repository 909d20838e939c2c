"""Hand-worked deadlines and elapsed times: lunch breaks, holidays, daylight-saving days, hours
that cross UTC midnight, pauses, and a calendar edited after a ticket started.

Every expected value here was worked out by hand from the calendar and the time zone's rules;
the comment next to it shows the working.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from guanxi.service.calendar import (
    PAUSED,
    RUNNING,
    add_business_minutes,
    add_business_minutes_paused,
    business_minutes_between,
    business_minutes_between_paused,
    deadline_from_history,
    elapsed_from_history,
    parse_calendar,
    pauses_from_history,
)

OFFICE = [["09:00", "12:00"], ["13:00", "18:00"]]
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def office(timezone: str, holidays=(), **extra_days) -> object:
    hours = dict.fromkeys(WORKDAYS, OFFICE) | extra_days
    return parse_calendar({"timezone": timezone, "hours": hours, "holidays": list(holidays)})


def only(timezone: str, **days) -> object:
    """A calendar open only on the days given."""
    return parse_calendar({"timezone": timezone, "hours": days})


SHANGHAI = office(
    "Asia/Shanghai",
    holidays=[
        {"date": "2026-10-01"},  # a Thursday
        {"date": "2026-12-24", "from": "13:00", "to": "18:00"},  # a Thursday afternoon
        {"date": "2026-12-31", "from": "12:00"},  # closes at noon
        {"date": "2027-01-05", "from": "11:00", "to": "14:00"},  # across the lunch break
    ],
)


def deadline(calendar, start: str, minutes) -> str:
    return add_business_minutes(calendar, at(start), minutes).isoformat()


def elapsed(calendar, start: str, end: str) -> float:
    return business_minutes_between(calendar, at(start), at(end))


# -- an ordinary office week -------------------------------------------------------------------


def test_lunch_break_does_not_count():
    # 11:30-12:00 is 30 minutes, lunch is closed, 13:00-13:30 the other 30.
    assert deadline(SHANGHAI, "2026-03-02T11:30+08:00", 60) == "2026-03-02T13:30:00+08:00"
    assert elapsed(SHANGHAI, "2026-03-02T11:30+08:00", "2026-03-02T13:30+08:00") == 60
    assert elapsed(SHANGHAI, "2026-03-02T12:10+08:00", "2026-03-02T12:50+08:00") == 0


def test_a_start_in_closed_time_counts_from_the_next_opening():
    assert deadline(SHANGHAI, "2026-03-02T07:45+08:00", 30) == "2026-03-02T09:30:00+08:00"
    assert deadline(SHANGHAI, "2026-03-02T12:15+08:00", 30) == "2026-03-02T13:30:00+08:00"


def test_a_budget_that_runs_out_at_closing_is_due_at_closing():
    assert deadline(SHANGHAI, "2026-03-02T17:00+08:00", 60) == "2026-03-02T18:00:00+08:00"
    assert deadline(SHANGHAI, "2026-03-02T17:00+08:00", 61) == "2026-03-03T09:01:00+08:00"


def test_the_weekend_is_skipped():
    # Friday 17:00-18:00 is 60, Monday 09:00-10:00 the other 60.
    assert deadline(SHANGHAI, "2026-03-06T17:00+08:00", 120) == "2026-03-09T10:00:00+08:00"
    # A whole week: five days of 3 + 5 hours.
    assert elapsed(SHANGHAI, "2026-03-02T00:00+08:00", "2026-03-09T00:00+08:00") == 5 * 8 * 60


def test_zero_minutes_is_the_start_itself_in_the_calendar_zone():
    result = add_business_minutes(SHANGHAI, at("2026-03-07T20:00:00.5+00:00"), 0)
    assert result.isoformat() == "2026-03-08T04:00:00.500000+08:00"


def test_decimal_minutes_and_seconds():
    assert deadline(SHANGHAI, "2026-03-02T11:59:30+08:00", 1.5) == "2026-03-02T13:01:00+08:00"
    assert elapsed(SHANGHAI, "2026-03-02T09:00+08:00", "2026-03-02T09:00:20+08:00") == 20 / 60


# -- holidays ----------------------------------------------------------------------------------


def test_whole_day_holiday():
    # Wednesday 17:00-18:00 is 60; Thursday 1 October is closed; Friday 09:00-10:00 is 60.
    assert deadline(SHANGHAI, "2026-09-30T17:00+08:00", 120) == "2026-10-02T10:00:00+08:00"
    assert elapsed(SHANGHAI, "2026-09-30T17:00+08:00", "2026-10-02T10:00+08:00") == 120
    assert elapsed(SHANGHAI, "2026-10-01T00:00+08:00", "2026-10-02T00:00+08:00") == 0


def test_partial_day_holiday_closes_only_its_window():
    # Christmas Eve: open 09:00-12:00 only; 11:00-12:00 is 60, then Friday 09:00-10:00.
    assert deadline(SHANGHAI, "2026-12-24T11:00+08:00", 120) == "2026-12-25T10:00:00+08:00"
    assert elapsed(SHANGHAI, "2026-12-24T00:00+08:00", "2026-12-25T00:00+08:00") == 180
    # "from" without "to": closed from noon to the end of the day.
    assert elapsed(SHANGHAI, "2026-12-31T00:00+08:00", "2027-01-01T00:00+08:00") == 180
    # A closure across the lunch break leaves 09:00-11:00 and 14:00-18:00.
    assert elapsed(SHANGHAI, "2027-01-05T00:00+08:00", "2027-01-06T00:00+08:00") == 120 + 240
    assert deadline(SHANGHAI, "2027-01-05T10:30+08:00", 45) == "2027-01-05T14:15:00+08:00"


# -- daylight saving ---------------------------------------------------------------------------


def test_round_the_clock_across_spring_forward_and_fall_back_is_real_time():
    berlin = parse_calendar({"timezone": "Europe/Berlin", "hours": "24x7"})
    # Saturday noon to Monday noon around 29 March 2026 is 47 real hours, around 25 October 49.
    assert elapsed(berlin, "2026-03-28T12:00+01:00", "2026-03-30T12:00+02:00") == 47 * 60
    assert deadline(berlin, "2026-03-28T12:00+01:00", 47 * 60) == "2026-03-30T12:00:00+02:00"
    assert elapsed(berlin, "2026-10-24T12:00+02:00", "2026-10-26T12:00+01:00") == 49 * 60
    assert deadline(berlin, "2026-10-24T12:00+02:00", 48 * 60) == "2026-10-26T11:00:00+01:00"


def test_spring_forward_shortens_an_interval_the_jump_falls_in():
    # Berlin jumps from 02:00 to 03:00 on Sunday 29 March 2026 (01:00 UTC).
    night = only("Europe/Berlin", sun=[["01:00", "04:00"]])
    # 01:00 CET is 00:00 UTC; 04:00 CEST is 02:00 UTC: two real hours instead of three.
    assert elapsed(night, "2026-03-29T00:00+01:00", "2026-03-29T12:00+02:00") == 120
    assert elapsed(night, "2026-03-22T00:00+01:00", "2026-03-22T12:00+01:00") == 180
    # 90 minutes from 01:00 CET: an hour to the jump, then 30 minutes from 03:00 CEST.
    assert deadline(night, "2026-03-29T01:00+01:00", 90) == "2026-03-29T03:30:00+02:00"
    assert deadline(night, "2026-03-29T01:00+01:00", 120) == "2026-03-29T04:00:00+02:00"
    assert deadline(night, "2026-03-29T01:00+01:00", 121) == "2026-04-05T01:01:00+02:00"


def test_hours_inside_the_skipped_hour_hold_no_time():
    skipped = only("Europe/Berlin", sun=[["02:00", "02:30"], ["10:00", "11:00"]])
    assert elapsed(skipped, "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00") == 60
    assert elapsed(skipped, "2026-03-22T00:00+01:00", "2026-03-23T00:00+01:00") == 90
    # An interval that starts at a skipped time opens when the clock jumps (03:00 CEST).
    late = only("Europe/Berlin", sun=[["02:30", "04:00"]])
    assert elapsed(late, "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00") == 60
    assert deadline(late, "2026-03-29T00:00+01:00", 1) == "2026-03-29T03:01:00+02:00"


def test_fall_back_repeats_an_hour_inside_business_hours():
    # New York goes from 02:00 EDT back to 01:00 EST on Sunday 1 November 2026 (06:00 UTC).
    night = only("America/New_York", sun=[["00:00", "06:00"]])
    # 00:00 EDT is 04:00 UTC, 06:00 EST is 11:00 UTC: seven real hours.
    assert elapsed(night, "2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00") == 7 * 60
    # And on 8 March (02:00 EST jumps to 03:00 EDT) 05:00 to 10:00 UTC: five.
    assert elapsed(night, "2026-03-08T00:00-05:00", "2026-03-09T00:00-04:00") == 5 * 60
    # 150 minutes after 00:00 EDT is 06:30 UTC, which reads 01:30 for the second time.
    second_pass = add_business_minutes(night, at("2026-11-01T00:00-04:00"), 150)
    assert second_pass.isoformat() == "2026-11-01T01:30:00-05:00"
    assert second_pass.fold == 1
    assert deadline(night, "2026-11-01T00:00-04:00", 90) == "2026-11-01T01:30:00-04:00"


def test_a_boundary_inside_the_repeated_hour_means_its_first_occurrence():
    ends_early = only("America/New_York", sun=[["00:00", "01:30"]])
    # Closes at the first 01:30 (EDT, 05:30 UTC): 90 minutes, as on any Sunday.
    assert elapsed(ends_early, "2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00") == 90
    # The second 01:00-01:30 (EST, 06:00-06:30 UTC) is closed.
    assert elapsed(ends_early, "2026-11-01T06:00+00:00", "2026-11-01T07:00+00:00") == 0
    starts_early = only("America/New_York", sun=[["01:30", "03:00"]])
    # Opens at the first 01:30 (05:30 UTC), closes 03:00 EST (08:00 UTC): 150 minutes.
    assert elapsed(starts_early, "2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00") == 150


def test_weekday_hours_in_sydney_ignore_a_weekend_transition():
    # Sydney leaves daylight saving on Sunday 5 April 2026; Friday 16:00 (+11) to Monday 10:00
    # (+10) is 3 days 19 hours of real time but 60 + 60 business minutes.
    sydney = parse_calendar(
        {"timezone": "Australia/Sydney", "hours": {day: [["09:00", "17:00"]] for day in WORKDAYS}}
    )
    assert elapsed(sydney, "2026-04-03T16:00+11:00", "2026-04-06T10:00+10:00") == 120
    assert deadline(sydney, "2026-04-03T16:00+11:00", 120) == "2026-04-06T10:00:00+10:00"
    # And entering daylight saving on Sunday 4 October.
    assert deadline(sydney, "2026-10-02T16:30+10:00", 90) == "2026-10-05T10:00:00+11:00"


def test_a_transition_at_midnight_and_a_skipped_date():
    # Santiago's clocks change at midnight between Saturday and Sunday.
    santiago = only("America/Santiago", sat=[["22:00", "24:00"]], sun=[["00:00", "02:00"]])
    # An ordinary weekend: two hours each night.
    assert elapsed(santiago, "2026-05-09T12:00-04:00", "2026-05-10T12:00-04:00") == 240
    # 6 September 2026: Saturday 24:00 (-04) jumps to Sunday 01:00 (-03) at 04:00 UTC. Saturday
    # 22:00 is 02:00 UTC and ends at the jump (2 h); Sunday begins at the jump too, and 02:00
    # (-03) is 05:00 UTC (1 h).
    assert elapsed(santiago, "2026-09-05T12:00-04:00", "2026-09-06T12:00-03:00") == 180
    # 5 April 2026: at 03:00 UTC Saturday 24:00 (-03) goes back to Saturday 23:00 (-04), so
    # Saturday's last hour happens twice and Sunday 00:00 first comes at 04:00 UTC. Saturday
    # 22:00 (-03, 01:00 UTC) to 24:00 (04:00 UTC) is 3 h, Sunday 04:00-06:00 UTC is 2 h.
    assert elapsed(santiago, "2026-04-04T12:00-03:00", "2026-04-05T12:00-04:00") == 300
    # Samoa skipped Friday 30 December 2011 altogether: a Friday-only calendar had no time in
    # that week, and round the clock the day before and the day after were 24 real hours apart.
    apia_fridays = parse_calendar({"timezone": "Pacific/Apia", "hours": {"fri": OFFICE}})
    assert elapsed(apia_fridays, "2011-12-26T00:00-10:00", "2012-01-02T00:00+14:00") == 0
    assert elapsed(apia_fridays, "2011-12-19T00:00-10:00", "2011-12-26T00:00-10:00") == 480
    apia = parse_calendar({"timezone": "Pacific/Apia", "hours": "24x7"})
    assert elapsed(apia, "2011-12-29T12:00-10:00", "2011-12-31T12:00+14:00") == 24 * 60


def test_localize_reads_wall_clock_times_by_the_same_rule():
    berlin = parse_calendar({"timezone": "Europe/Berlin", "hours": "24x7"})
    assert berlin.localize(datetime(2026, 3, 29, 2, 30)).isoformat() == "2026-03-29T03:00:00+02:00"
    assert berlin.localize(datetime(2026, 10, 25, 2, 30)).isoformat() == "2026-10-25T02:30:00+02:00"
    assert berlin.localize(datetime(2026, 7, 1, 9, 0)).isoformat() == "2026-07-01T09:00:00+02:00"
    with pytest.raises(ValueError, match="without a time zone"):
        berlin.localize(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))


# -- hours that cross UTC midnight -------------------------------------------------------------


def test_los_angeles_afternoon_crosses_utc_midnight():
    los_angeles = office("America/Los_Angeles")
    # 00:30 UTC on Tuesday 2 June is 17:30 PDT on Monday: 30 minutes left that day.
    assert deadline(los_angeles, "2026-06-02T00:30+00:00", 60) == "2026-06-02T09:30:00-07:00"
    # 13:00-18:00 PDT is 20:00-01:00 UTC.
    assert elapsed(los_angeles, "2026-06-01T23:00+00:00", "2026-06-02T01:00+00:00") == 120
    assert elapsed(los_angeles, "2026-06-02T01:00+00:00", "2026-06-02T16:00+00:00") == 0


def test_shanghai_uses_its_own_weekday_not_the_utc_one():
    # 17:00 UTC on Friday 5 June is 01:00 on Saturday in Shanghai: nothing until Monday.
    assert deadline(SHANGHAI, "2026-06-05T17:00+00:00", 60) == "2026-06-08T10:00:00+08:00"
    # 00:30 UTC on Monday is 08:30 in Shanghai, half an hour before opening.
    assert deadline(SHANGHAI, "2026-06-01T00:30+00:00", 30) == "2026-06-01T09:30:00+08:00"
    # 09:00-12:00 local is 01:00-04:00 UTC.
    assert elapsed(SHANGHAI, "2026-06-01T00:00+00:00", "2026-06-01T04:00+00:00") == 180


def test_results_are_in_the_calendar_zone_whatever_zone_the_start_is_in():
    start = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 16:00 in Shanghai
    result = add_business_minutes(SHANGHAI, start, 90)
    assert result.tzinfo == ZoneInfo("Asia/Shanghai")
    assert result.isoformat() == "2026-06-01T17:30:00+08:00"


# -- pauses ("pending customer") ---------------------------------------------------------------


def test_paused_time_does_not_count():
    start = at("2026-03-02T10:00+08:00")
    # Without the pause: 10:00-12:00 and 13:00-15:00.
    assert add_business_minutes(SHANGHAI, start, 240).isoformat() == "2026-03-02T15:00:00+08:00"
    # Paused 11:00-15:00: 60 minutes before it, the other 180 from 15:00 to 18:00.
    paused = [(at("2026-03-02T11:00+08:00"), at("2026-03-02T15:00+08:00"))]
    result = add_business_minutes_paused(SHANGHAI, start, 240, paused)
    assert result.isoformat() == "2026-03-02T18:00:00+08:00"
    until = at("2026-03-02T16:00+08:00")
    assert business_minutes_between_paused(SHANGHAI, start, until, paused) == 60 + 60


def test_overlapping_pauses_and_pauses_in_closed_time():
    start = at("2026-03-02T10:00+08:00")
    overlapping = [
        (at("2026-03-02T13:00+08:00"), at("2026-03-02T15:00+08:00")),
        (at("2026-03-02T11:00+08:00"), at("2026-03-02T14:00+08:00")),
    ]
    result = add_business_minutes_paused(SHANGHAI, start, 240, overlapping)
    assert result.isoformat() == "2026-03-02T18:00:00+08:00"
    evening = [(at("2026-03-02T18:30+08:00"), at("2026-03-02T20:00+08:00"))]
    result = add_business_minutes_paused(SHANGHAI, start, 480, evening)
    assert result == add_business_minutes(SHANGHAI, start, 480)


def test_an_unfinished_pause_leaves_the_deadline_unknown_unless_the_budget_ran_out_first():
    start = at("2026-03-02T10:00+08:00")
    ongoing = [(at("2026-03-02T11:00+08:00"), None)]
    assert add_business_minutes_paused(SHANGHAI, start, 240, ongoing) is None
    # The budget runs out exactly when the pause begins: that is the deadline.
    result = add_business_minutes_paused(SHANGHAI, start, 60, ongoing)
    assert result.isoformat() == "2026-03-02T11:00:00+08:00"
    tomorrow = at("2026-03-03T10:00+08:00")
    assert business_minutes_between_paused(SHANGHAI, start, tomorrow, ongoing) == 60


def test_status_history_gives_the_clock_start_and_its_pauses():
    history = [
        (at("2026-03-02T15:00+08:00"), RUNNING),
        (at("2026-03-02T10:00+08:00"), RUNNING),
        (at("2026-03-02T11:00+08:00"), PAUSED),
        (at("2026-03-02T11:30+08:00"), PAUSED),  # already paused: no change
    ]
    start, pauses = pauses_from_history(history)
    assert start == at("2026-03-02T10:00+08:00")
    assert pauses == [(at("2026-03-02T11:00+08:00"), at("2026-03-02T15:00+08:00"))]
    assert deadline_from_history(SHANGHAI, history, 240).isoformat() == "2026-03-02T18:00:00+08:00"
    assert elapsed_from_history(SHANGHAI, history, at("2026-03-02T16:00+08:00")) == 120
    still_paused = history[1:]
    assert deadline_from_history(SHANGHAI, still_paused, 240) is None
    assert elapsed_from_history(SHANGHAI, still_paused, at("2026-03-09T12:00+08:00")) == 60


def test_history_problems_are_named():
    with pytest.raises(ValueError, match="history: empty"):
        pauses_from_history([])
    with pytest.raises(ValueError, match=r"history\[1\]: state must be"):
        pauses_from_history(
            [(at("2026-03-02T10:00+08:00"), RUNNING), (at("2026-03-02T11:00"), "on hold")]
        )
    with pytest.raises(ValueError, match=r"history\[0\]: .* has no time zone"):
        pauses_from_history([(datetime(2026, 3, 2, 10), RUNNING)])


# -- a calendar edited after the ticket started ------------------------------------------------


def test_recomputing_with_an_edited_calendar_gives_the_new_deadline():
    history = [
        (at("2026-03-06T16:00+08:00"), RUNNING),  # a Friday
        (at("2026-03-09T09:30+08:00"), PAUSED),
        (at("2026-03-09T10:00+08:00"), RUNNING),
    ]
    before = SHANGHAI
    # Friday 16:00-18:00 (120), Monday 09:00-09:30 (30), paused, 10:00-11:30 (90).
    assert deadline_from_history(before, history, 240).isoformat() == "2026-03-09T11:30:00+08:00"
    # The desk starts opening on Saturday mornings and 9 March becomes a holiday.
    after = parse_calendar(
        before.to_dict()
        | {
            "hours": before.to_dict()["hours"] | {"sat": [["09:00", "12:00"]]},
            "holidays": [*before.to_dict()["holidays"], {"date": "2026-03-09"}],
        }
    )
    # Friday 16:00-18:00 (120), Saturday 09:00-11:00 (120).
    assert deadline_from_history(after, history, 240).isoformat() == "2026-03-07T11:00:00+08:00"
    # Elapsed by Monday noon: before, 120 + 30 + 120 (10:00-12:00); after, 120 + 180.
    noon = at("2026-03-09T12:00+08:00")
    assert elapsed_from_history(before, history, noon) == 270
    assert elapsed_from_history(after, history, noon) == 300


# -- bad arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: add_business_minutes(SHANGHAI, datetime(2026, 3, 2, 9), 5),
            "start: .* no time zone",
        ),
        (lambda: add_business_minutes(SHANGHAI, "2026-03-02", 5), "start: expected a datetime"),
        (lambda: add_business_minutes(SHANGHAI, at("2026-03-02T09:00Z"), -1), "cannot be negative"),
        (
            lambda: add_business_minutes(SHANGHAI, at("2026-03-02T09:00Z"), True),
            "expected a number",
        ),
        (lambda: add_business_minutes(SHANGHAI, at("2026-03-02T09:00Z"), float("inf")), "finite"),
        (lambda: add_business_minutes(SHANGHAI, at("2026-03-02T09:00Z"), 10**8), "century"),
        (lambda: add_business_minutes(SHANGHAI, at("9999-12-31T09:00Z"), 5), "supported range"),
        (lambda: elapsed(SHANGHAI, "2026-03-03T09:00Z", "2026-03-02T09:00Z"), "end: is before"),
        (lambda: elapsed(SHANGHAI, "1900-01-01T00:00Z", "2026-03-02T09:00Z"), "century"),
        (
            lambda: add_business_minutes_paused(
                SHANGHAI,
                at("2026-03-02T09:00Z"),
                5,
                [(at("2026-03-02T11:00Z"), at("2026-03-02T10:00Z"))],
            ),
            r"paused\[0\]: ends before it starts",
        ),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_deadline_more_than_a_century_away_is_refused_quickly():
    # One minute a week: 60 years of minutes would take over a million years of weeks.
    sparse = parse_calendar({"timezone": "UTC", "hours": {"mon": [["09:00", "09:01"]]}})
    with pytest.raises(ValueError, match="more than a century after the start"):
        add_business_minutes(sparse, at("2026-03-02T09:00Z"), 60 * 24 * 365 * 60)
    assert (
        add_business_minutes(sparse, at("2026-03-02T09:00Z"), 52).date()
        == (datetime(2026, 3, 2) + timedelta(weeks=51)).date()
    )
