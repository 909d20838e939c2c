"""A ticket's service-level clocks, worked out from its status history. Pure: no database.

Three clocks, each with its own target in business minutes on the policy's calendar:

* **first response** starts when the ticket is opened and stops at the first reply to the
  customer;
* **next response** starts when the customer writes again after that (``waiting_since``) and
  stops at the next reply;
* **resolution** starts when the ticket is opened and stops when it is resolved; a reopened
  ticket's clock runs on from where it stopped.

Every clock stands still while the ticket waits for the customer (and, for resolution, while it
is resolved or closed). A clock has a *moment* for each notification step — the warning at
``warn_percent`` of its target, the breach at 100 %, later escalations at 150 %, 200 % … — and
the deadline is its 100 % moment. A moment is ``None`` while the clock is paused with time left:
it moves on when the clock runs again. Because everything is computed from the history, an
edited policy or calendar gives the right deadlines by recomputing, for open tickets as well as
for reports on old ones.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .calendar import (
    PAUSED,
    RUNNING,
    BusinessCalendar,
    deadline_from_history,
    elapsed_from_history,
)

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
TARGETS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
BREACH = 100

# Statuses in which each clock runs; in every other status it is paused.
_RUNS_IN = {
    FIRST_RESPONSE: frozenset({"new", "open"}),
    NEXT_RESPONSE: frozenset({"new", "open"}),
    RESOLUTION: frozenset({"new", "open"}),
}


@dataclass(frozen=True)
class Targets:
    """A policy's targets in business minutes (``None``: no promise) and its notification
    steps in percent of a target."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None
    warn_percent: int = 80
    escalation_percents: tuple[int, ...] = ()

    @property
    def percents(self) -> tuple[int, ...]:
        steps = {BREACH, *self.escalation_percents}
        if 0 < self.warn_percent < BREACH:
            steps.add(self.warn_percent)
        return tuple(sorted(p for p in steps if p > 0))

    def minutes(self, target: str) -> int | None:
        return getattr(self, target)


@dataclass(frozen=True)
class Clock:
    target: str
    minutes: int
    started_at: datetime  # tells this clock from an earlier run of the same target
    moments: dict[int, datetime | None] = field(default_factory=dict)  # percent -> moment

    @property
    def due(self) -> datetime | None:
        return self.moments.get(BREACH)


def clock_history(
    statuses: Sequence[tuple[datetime, str]], target: str, *, start: datetime | None = None
) -> list[tuple[datetime, str]]:
    """The ``(moment, running | paused)`` history of one clock from a ticket's status history
    (``(moment, status)``, oldest first). ``start`` starts the clock later than the ticket (the
    next-response clock starts at the customer's message), in whatever status it then was."""
    runs_in = _RUNS_IN[target]
    history: list[tuple[datetime, str]] = []
    if start is not None:
        current = None
        for moment, status in statuses:
            if moment <= start:
                current = status
        history.append((start, RUNNING if current in runs_in else PAUSED))
    for moment, status in statuses:
        if start is not None and moment <= start:
            continue
        history.append((moment, RUNNING if status in runs_in else PAUSED))
    return history


def running_clocks(
    calendar: BusinessCalendar,
    targets: Targets,
    *,
    statuses: Sequence[tuple[datetime, str]],
    first_responded_at: datetime | None,
    waiting_since: datetime | None,
) -> list[Clock]:
    """The clocks that have not stopped for good: first response until it happened, next
    response while the customer waits for one, resolution until the ticket is resolved (a
    resolved ticket's clock is paused, not stopped: it may be reopened)."""
    if not statuses:
        return []
    clocks = []
    wanted: list[tuple[str, datetime | None]] = []
    if first_responded_at is None:
        wanted.append((FIRST_RESPONSE, None))
    elif waiting_since is not None:
        wanted.append((NEXT_RESPONSE, waiting_since))
    wanted.append((RESOLUTION, None))
    for target, start in wanted:
        minutes = targets.minutes(target)
        if minutes is None:
            continue
        history = clock_history(statuses, target, start=start)
        moments = {
            percent: deadline_from_history(calendar, history, minutes * percent / 100)
            for percent in targets.percents
        }
        clocks.append(
            Clock(target=target, minutes=minutes, started_at=history[0][0], moments=moments)
        )
    return clocks


def elapsed_minutes(
    calendar: BusinessCalendar,
    statuses: Sequence[tuple[datetime, str]],
    target: str,
    until: datetime,
    *,
    start: datetime | None = None,
) -> float:
    """Business minutes a clock ran by ``until``."""
    return elapsed_from_history(calendar, clock_history(statuses, target, start=start), until)


@dataclass(frozen=True)
class Due:
    """A notification step whose moment has come."""

    target: str
    started_at: datetime
    percent: int
    moment: datetime


def steps_due(
    clocks: Iterable[Clock], now: datetime, *, done: set[tuple[str, datetime, int]] = frozenset()
) -> tuple[list[Due], datetime | None]:
    """The steps whose moment is at or before ``now`` and not in ``done`` (``(target, clock
    start, percent)`` already recorded), and the next moment still to come (``None``: nothing
    scheduled). A step passed before a pause stays passed: its moment does not move."""
    due: list[Due] = []
    upcoming: datetime | None = None
    for clock in clocks:
        for percent, moment in sorted(clock.moments.items()):
            if moment is None:
                continue  # paused before reaching it: it moves once the clock runs again
            if moment <= now:
                if (clock.target, clock.started_at, percent) not in done:
                    due.append(Due(clock.target, clock.started_at, percent, moment))
            elif upcoming is None or moment < upcoming:
                upcoming = moment
    return due, upcoming
