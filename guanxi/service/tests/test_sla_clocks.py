"""The ticket clocks of ``service.sla`` over random calendars and random status histories:
each clock's deadline is exactly its target in business time that ran, its steps come in
order, and a sweep that looks again and again sends each step exactly once, whenever it looks.
Pure: no database."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.service.calendar import parse_calendar
from guanxi.service.sla import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    RESOLUTION,
    Targets,
    elapsed_minutes,
    running_clocks,
    steps_due,
)

from .test_calendar_properties import PROPERTY_SETTINGS, budgets, later, scenarios, utc

STATUSES = ("open", "pending_customer", "resolved")


@st.composite
def histories(draw, start: datetime) -> list[tuple[datetime, str]]:
    """A ticket opened at ``start`` and moved between statuses at random later moments."""
    offsets = sorted(draw(st.lists(st.integers(1, 20 * 86_400), unique=True, max_size=8)))
    history = [(utc(start), "new")]
    for offset in offsets:
        history.append((later(start, offset), draw(st.sampled_from(STATUSES))))
    return history


@PROPERTY_SETTINGS
@given(st.data())
def test_every_deadline_is_its_target_in_running_business_time(data):
    spec, calendar, start = data.draw(scenarios())
    history = data.draw(histories(start))
    minutes = {name: data.draw(budgets(spec)) for name in ("first", "next", "resolution")}
    waiting = data.draw(st.one_of(st.none(), st.integers(0, 20 * 86_400)))
    waiting_since = None if waiting is None else later(start, waiting)
    targets = Targets(
        first_response=minutes["first"] or None,
        next_response=minutes["next"] or None,
        resolution=minutes["resolution"] or None,
        warn_percent=data.draw(st.integers(1, 99)),
        escalation_percents=tuple(data.draw(st.lists(st.integers(101, 300), max_size=2))),
    )
    responded = None if waiting_since is None else utc(start)
    clocks = running_clocks(
        calendar, targets, statuses=history, first_responded_at=responded,
        waiting_since=waiting_since,
    )  # fmt: skip
    expected = {RESOLUTION} if targets.resolution else set()
    if responded is None and targets.first_response:
        expected.add(FIRST_RESPONSE)
    if responded is not None and targets.next_response:
        expected.add(NEXT_RESPONSE)
    assert {c.target for c in clocks} == expected
    for clock in clocks:
        start_of_clock = waiting_since if clock.target == NEXT_RESPONSE else None
        moments = [clock.moments[p] for p in targets.percents]
        # Moments are known up to the first unknown one (the clock paused with time left).
        known = [m for m in moments if m is not None]
        assert moments[: len(known)] == known
        assert [utc(m) for m in known] == sorted(utc(m) for m in known)
        for percent, moment in clock.moments.items():
            if moment is None:
                continue
            ran = elapsed_minutes(calendar, history, clock.target, moment, start=start_of_clock)
            assert ran == pytest.approx(clock.minutes * percent / 100, abs=1e-6)


@PROPERTY_SETTINGS
@given(st.data())
def test_a_sweep_looking_at_any_moments_sends_each_step_once(data):
    spec, calendar, start = data.draw(scenarios(round_the_clock=None))
    history = data.draw(histories(start))
    targets = Targets(
        first_response=data.draw(budgets(spec)) or 1, resolution=data.draw(budgets(spec)) or 1
    )
    clocks = running_clocks(
        calendar, targets, statuses=history, first_responded_at=None, waiting_since=None
    )
    looks = sorted(data.draw(st.lists(st.integers(0, 40 * 86_400), min_size=1, max_size=12)))
    done: set = set()
    sent = []
    for offset in looks:
        now = later(start, offset)
        due, upcoming = steps_due(clocks, now, done=done)
        for step in due:
            assert utc(step.moment) <= utc(now)
            key = (step.target, step.started_at, step.percent)
            assert key not in done
            done.add(key)
            sent.append(key)
        if upcoming is not None:
            assert utc(upcoming) > utc(now)
    # Everything whose moment passed by the last look was sent, and nothing else.
    last = later(start, looks[-1])
    passed = {
        (c.target, c.started_at, p)
        for c in clocks
        for p, m in c.moments.items()
        if m is not None and utc(m) <= utc(last)
    }
    assert set(sent) == passed and len(sent) == len(passed)


def test_a_pause_before_the_warning_moves_every_step_by_the_pause():
    calendar = parse_calendar({"timezone": "Asia/Shanghai", "hours": "24x7"})
    opened = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    history = [
        (opened, "new"),
        (opened + timedelta(minutes=10), "pending_customer"),
        (opened + timedelta(minutes=100), "open"),
    ]
    [clock] = running_clocks(
        calendar, Targets(first_response=60), statuses=history, first_responded_at=None,
        waiting_since=None,
    )  # fmt: skip
    assert utc(clock.moments[80]) == opened + timedelta(minutes=48 + 90)
    assert utc(clock.due) == opened + timedelta(minutes=60 + 90)
    # Still waiting for the customer after the warning: the warning stays passed, the breach
    # is unknown until the clock runs again.
    waiting = [(opened, "new"), (opened + timedelta(minutes=50), "pending_customer")]
    [clock] = running_clocks(
        calendar, Targets(first_response=60), statuses=waiting, first_responded_at=None,
        waiting_since=None,
    )  # fmt: skip
    assert utc(clock.moments[80]) == opened + timedelta(minutes=48) and clock.due is None
    due, upcoming = steps_due([clock], opened + timedelta(hours=5))
    assert [d.percent for d in due] == [80] and upcoming is None
