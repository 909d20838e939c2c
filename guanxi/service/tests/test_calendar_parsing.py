"""Reading and validating service calendars: canonical form, equality, and errors that name the
offending key."""

import pytest

from guanxi.service.calendar import CalendarError, parse_calendar

OFFICE = [["09:00", "12:00"], ["13:00", "18:00"]]


def errors_of(data) -> dict[str, str]:
    with pytest.raises(CalendarError) as caught:
        parse_calendar(data)
    return dict(caught.value.errors)


def test_canonical_form_sorts_and_merges_intervals_and_holidays():
    calendar = parse_calendar(
        {
            "timezone": "Asia/Shanghai",
            "hours": {
                "tue": [["13:00", "18:00"], ["09:00", "12:00"]],
                "mon": [["09:00", "12:00"], ["12:00", "18:00"]],
                "sat": [],
            },
            "holidays": [
                {"date": "2026-12-24", "from": "15:00", "to": "18:00"},
                {"date": "2026-10-01"},
                {"date": "2026-12-24", "from": "13:00", "to": "16:00"},
                {"date": "2026-12-31", "from": "12:00"},
                {"date": "2027-01-04", "to": "10:30"},
            ],
        }
    )
    assert calendar.to_dict() == {
        "timezone": "Asia/Shanghai",
        "hours": {"mon": [["09:00", "18:00"]], "tue": OFFICE},
        "holidays": [
            {"date": "2026-10-01"},
            {"date": "2026-12-24", "from": "13:00", "to": "18:00"},
            {"date": "2026-12-31", "from": "12:00", "to": "24:00"},
            {"date": "2027-01-04", "from": "00:00", "to": "10:30"},
        ],
    }
    assert parse_calendar(calendar.to_dict()) == calendar


def test_round_the_clock_written_either_way_is_the_same_calendar():
    keyword = parse_calendar({"timezone": "Europe/Berlin", "hours": "24x7"})
    spelled_out = parse_calendar(
        {
            "timezone": "Europe/Berlin",
            "hours": {
                day: [["00:00", "24:00"]]
                for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
            "holidays": [],
        }
    )
    assert keyword == spelled_out
    assert keyword.round_the_clock
    assert spelled_out.to_dict() == {"timezone": "Europe/Berlin", "hours": "24x7", "holidays": []}


def test_calendars_compare_and_hash_by_content():
    first = parse_calendar({"timezone": "Asia/Shanghai", "hours": {"mon": OFFICE}})
    same = parse_calendar({"holidays": [], "hours": {"mon": OFFICE}, "timezone": "Asia/Shanghai"})
    other_zone = parse_calendar({"timezone": "Asia/Hong_Kong", "hours": {"mon": OFFICE}})
    with_holiday = parse_calendar(
        {
            "timezone": "Asia/Shanghai",
            "hours": {"mon": OFFICE},
            "holidays": [{"date": "2026-10-01"}],
        }
    )
    assert first == same and hash(first) == hash(same)
    assert len({first, same, other_zone, with_holiday}) == 3


def test_interval_that_ends_before_it_starts_is_named():
    errors = errors_of(
        {"timezone": "Asia/Shanghai", "hours": {"mon": [OFFICE[0], ["13:00", "12:00"]]}}
    )
    assert errors["hours.mon[1]"].startswith('"13:00-12:00" ends before it starts')


def test_night_shift_across_midnight_is_refused_with_how_to_write_it():
    errors = errors_of({"timezone": "Asia/Shanghai", "hours": {"sun": [["22:00", "06:00"]]}})
    message = errors["hours.sun[0]"]
    assert "ends before it starts" in message
    assert '["22:00", "24:00"] on sun and ["00:00", "06:00"] on mon' in message


def test_the_split_night_shift_is_accepted():
    calendar = parse_calendar(
        {
            "timezone": "Asia/Shanghai",
            "hours": {"sun": [["22:00", "24:00"]], "mon": [["00:00", "06:00"]]},
        }
    )
    assert calendar.to_dict()["hours"] == {
        "mon": [["00:00", "06:00"]],
        "sun": [["22:00", "24:00"]],
    }


@pytest.mark.parametrize(
    ("hours", "path", "fragment"),
    [
        (
            {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]},
            "hours.mon[1]",
            'overlaps "09:00-12:00"',
        ),
        ({"mon": [["09:00", "09:00"]]}, "hours.mon[0]", "is empty"),
        ({"mon": [["9:00", "12:00"]]}, "hours.mon[0][0]", 'expected a time "HH:MM"'),
        ({"mon": [["09:00", "24:30"]]}, "hours.mon[0][1]", 'got "24:30"'),
        ({"mon": [["24:00", "24:00"]]}, "hours.mon[0][0]", "(00:00 to 23:59)"),
        ({"mon": [["09:00"]]}, "hours.mon[0]", 'expected ["HH:MM", "HH:MM"]'),
        ({"mon": "09:00-18:00"}, "hours.mon", "expected a list"),
        ({"monday": OFFICE}, "hours.monday", "unknown weekday; use mon, tue"),
        ("9x5", "hours", 'expected "24x7" or an object of weekdays'),
        ({"mon": [], "sat": []}, "hours", "no weekday has business hours"),
        (None, "hours", "required"),
    ],
)
def test_bad_hours_are_named(hours, path, fragment):
    data = {"timezone": "Asia/Shanghai"}
    if hours is not None:
        data["hours"] = hours
    errors = errors_of(data)
    assert fragment in errors[path]


@pytest.mark.parametrize(
    ("holiday", "path", "fragment"),
    [
        ({"date": "2026-02-30"}, "holidays[1].date", 'expected a date "YYYY-MM-DD"'),
        ({"date": "1 Oct 2026"}, "holidays[1].date", 'got "1 Oct 2026"'),
        ({"from": "13:00"}, "holidays[1].date", "required"),
        ({"date": "2026-12-24", "from": "18:00", "to": "13:00"}, "holidays[1]", "ends before"),
        ({"date": "2026-12-24", "from": "13:00", "to": "13:00"}, "holidays[1]", "is empty"),
        ({"date": "2026-12-24", "from": "1pm"}, "holidays[1].from", 'expected a time "HH:MM"'),
        ({"date": "2026-12-24", "name": "Eve"}, "holidays[1].name", "unknown key"),
        ("2026-12-24", "holidays[1]", 'expected {"date": "YYYY-MM-DD"}'),
    ],
)
def test_bad_holidays_are_named(holiday, path, fragment):
    errors = errors_of(
        {
            "timezone": "Asia/Shanghai",
            "hours": {"mon": OFFICE},
            "holidays": [{"date": "2026-10-01"}, holiday],
        }
    )
    assert fragment in errors[path]
    assert list(errors) == [path]


@pytest.mark.parametrize(
    ("timezone", "fragment"),
    [
        (None, "required"),
        ("Asia/Beijing", 'unknown time zone "Asia/Beijing"'),
        ("asia/shanghai", "unknown time zone"),
        ("../../etc/passwd", "unknown time zone"),
        (8, "expected an IANA time zone name, got 8"),
        ("", "expected an IANA time zone name"),
    ],
)
def test_bad_time_zones_are_named(timezone, fragment):
    data = {"hours": "24x7"}
    if timezone is not None:
        data["timezone"] = timezone
    assert fragment in errors_of(data)["timezone"]


def test_every_problem_is_reported_at_once():
    with pytest.raises(CalendarError) as caught:
        parse_calendar(
            {
                "timezone": "Mars/Olympus",
                "hours": {"mon": [["13:00", "12:00"]], "funday": []},
                "holidays": "none",
                "holiday": [],
            }
        )
    assert [path for path, _ in caught.value.errors] == [
        "holiday",
        "timezone",
        "hours.mon[0]",
        "hours.funday",
        "holidays",
    ]
    assert str(caught.value).splitlines()[0] == (
        "holiday: unknown key; a calendar has timezone, hours, holidays"
    )


def test_a_calendar_must_be_an_object():
    assert errors_of(["Asia/Shanghai"]) == {
        "calendar": "expected an object with timezone, hours, holidays"
    }
