"""``guanxi sla deadline|elapsed``: service-level arithmetic on a calendar file.

    guanxi sla deadline --calendar CAL.json --start 2026-03-02T09:30 --minutes 240
    guanxi sla elapsed --calendar CAL.json --start 2026-03-02T09:30 --end 2026-03-03T11:00

``deadline`` prints the ISO 8601 moment, in the calendar's time zone with its offset, by which
that many business minutes have passed; ``elapsed`` prints the business minutes between two
moments (whole numbers without decimals). ``--pause FROM/TO`` (repeatable) leaves a paused
interval out of the count. Moments without an offset are read in the calendar's time zone. The
command needs no database, so it also runs where none is reachable; bad input ends with a message
and exit status 2.
"""

import json
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from guanxi.service.calendar import (
    BusinessCalendar,
    add_business_minutes_paused,
    business_minutes_between_paused,
    parse_calendar,
)

BAD_INPUT = 2


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


class Command(BaseCommand):
    help = "Deadline or elapsed business time on a service calendar (no database needed)."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="deadline|elapsed")
        deadline = actions.add_parser(
            "deadline", help="the moment by which N business minutes have passed"
        )
        elapsed = actions.add_parser("elapsed", help="business minutes between two moments")
        for sub in (deadline, elapsed):
            sub.add_argument("--calendar", required=True, help="calendar JSON file")
            sub.add_argument(
                "--start",
                required=True,
                help="ISO 8601 moment; without an offset it is read in the calendar's time zone",
            )
            sub.add_argument(
                "--pause",
                action="append",
                default=[],
                metavar="FROM/TO",
                help="a paused interval (two ISO 8601 moments) that does not count; repeatable",
            )
        deadline.add_argument(
            "--minutes", required=True, help="business minutes to add (may have decimals)"
        )
        elapsed.add_argument("--end", required=True, help="ISO 8601 moment")

    def handle(self, *args, action: str, **options):
        calendar = _read_calendar(options["calendar"])
        start = _read_moment(options["start"], "--start", calendar)
        pauses = [_read_pause(text, calendar) for text in options["pause"]]
        try:
            if action == "deadline":
                minutes = _read_minutes(options["minutes"])
                deadline = add_business_minutes_paused(calendar, start, minutes, pauses)
                # Every pause given here has an end, so the deadline is always known.
                self.stdout.write(deadline.isoformat())
            else:
                end = _read_moment(options["end"], "--end", calendar)
                elapsed = business_minutes_between_paused(calendar, start, end, pauses)
                self.stdout.write(format_minutes(elapsed))
        except ValueError as error:
            raise _fail(_name_options(str(error))) from None


def format_minutes(minutes: float) -> str:
    """Whole minutes without decimals; otherwise the shortest form that reads back exactly."""
    return str(int(minutes)) if minutes.is_integer() else repr(minutes)


def _name_options(message: str) -> str:
    """Say ``--start`` where the arithmetic says ``start``, so the message names the option."""
    for name, option in (("start", "--start"), ("end", "--end"), ("minutes", "--minutes")):
        if message.startswith(f"{name}:"):
            return option + message.removeprefix(name)
    if message.startswith("paused["):
        return "--pause" + message.removeprefix("paused")
    return message


def _read_calendar(path: str) -> BusinessCalendar:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise _fail(f"--calendar: cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise _fail(f"--calendar: {path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise _fail(f"--calendar: {path} is not valid JSON: {error}") from None
    try:
        return parse_calendar(data)
    except ValueError as error:
        problems = str(error).replace("\n", "\n  ")
        raise _fail(f"--calendar: {path} is not a valid calendar:\n  {problems}") from None


def _read_moment(text: str, option: str, calendar: BusinessCalendar) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _fail(
            f'{option}: expected an ISO 8601 moment such as "2026-03-02T09:30+08:00", got {text!r}'
        ) from None
    if moment.tzinfo is None:
        try:
            return calendar.localize(moment)
        except ValueError as error:
            raise _fail(f"{option}: {error}") from None
    return moment


def _read_pause(text: str, calendar: BusinessCalendar) -> tuple[datetime, datetime]:
    begin, separator, finish = text.partition("/")
    if not separator or not begin.strip() or not finish.strip():
        raise _fail(f"--pause: expected FROM/TO, two ISO 8601 moments, got {text!r}")
    return (
        _read_moment(begin, "--pause", calendar),
        _read_moment(finish, "--pause", calendar),
    )


def _read_minutes(text: str) -> float:
    try:
        minutes = float(text)
    except ValueError:
        raise _fail(f"--minutes: expected a number of minutes, got {text!r}") from None
    if minutes.is_integer() and abs(minutes) < 2**53:
        return int(minutes)
    return minutes
