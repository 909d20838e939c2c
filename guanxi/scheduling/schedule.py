"""When periodic jobs fall due: pure date arithmetic, no database.

A schedule entry is either *daily at a wall-clock time* in a time zone (the analytics refresh at
02:30 Beijing time) or *every N minutes* (a sweep). :func:`latest_due` answers the one question
the scheduler asks: what is the most recent moment at or before ``now`` when this entry was due?
The scheduler runs each such moment once; moments missed while it was stopped collapse into the
latest one, so a scheduler started at 09:00 runs the 02:30 refresh once, not once per missed day.

Daily times are wall-clock times, and a daily job runs exactly once each local day: on a day when
the time happens twice (the clocks fall back) it runs at the first of them; on a day when the
clocks jump over it, it runs as long after the jump as the time was after its start (02:30 with
clocks going from 02:00 to 03:00 runs at 03:30).
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ScheduleEntry:
    """One periodic job: ``task`` (the dotted path of a django-tasks task) run either daily at
    ``at`` in ``timezone`` or every ``every_minutes`` minutes (counted from midnight UTC)."""

    name: str
    task: str
    at: dt.time | None = None
    timezone: str = "UTC"
    every_minutes: int | None = None

    def __post_init__(self) -> None:
        if (self.at is None) == (self.every_minutes is None):
            raise ValueError(
                f"schedule {self.name!r}: give exactly one of 'at' and 'every_minutes'"
            )
        if self.every_minutes is not None and not 1 <= self.every_minutes <= 24 * 60:
            raise ValueError(f"schedule {self.name!r}: every_minutes must be 1 to 1440")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start-up


def parse_entry(name: str, spec: dict) -> ScheduleEntry:
    """An entry from its settings form: ``{"task": ..., "at": "HH:MM", "timezone": ...}`` or
    ``{"task": ..., "every_minutes": N}``."""
    unknown = set(spec) - {"task", "at", "timezone", "every_minutes"}
    if unknown:
        raise ValueError(f"schedule {name!r}: unknown keys {sorted(unknown)}")
    if not spec.get("task"):
        raise ValueError(f"schedule {name!r}: 'task' is required")
    at = spec.get("at")
    return ScheduleEntry(
        name=name,
        task=spec["task"],
        at=dt.time.fromisoformat(at) if at else None,
        timezone=spec.get("timezone", "UTC"),
        every_minutes=spec.get("every_minutes"),
    )


def _wall_clock(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The moment ``at`` on ``day`` in ``zone``, in UTC (see the module docstring for the days
    the clocks change: ``fold=0`` picks the first of a repeated time, and reads a skipped time
    with the offset from before the jump)."""
    return dt.datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


def latest_due(entry: ScheduleEntry, now: dt.datetime) -> dt.datetime:
    """The most recent moment at or before ``now`` (aware) when ``entry`` fell due, in UTC."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(dt.UTC)
    if entry.every_minutes is not None:
        step = dt.timedelta(minutes=entry.every_minutes)
        return EPOCH + ((now - EPOCH) // step) * step
    zone = ZoneInfo(entry.timezone)
    today = now.astimezone(zone).date()
    for day in (today, today - dt.timedelta(days=1), today - dt.timedelta(days=2)):
        moment = _wall_clock(day, entry.at, zone)
        if moment <= now:
            return moment
    raise AssertionError("a daily time falls due within any two days")  # pragma: no cover
