"""Service-desk figures (section ``service`` of ``make bench``): a million open tickets.

1. **Tickets.** When the bench database does not hold exactly :data:`TICKETS` tickets as they
   were loaded (a sweep has recorded nothing since), they are replaced by ``guanxi demo-tickets
   --total 1000000 --seed 1 --as-of MOMENT`` (timed, then ``VACUUM (ANALYZE)`` of the ticket
   tables): every ticket open, created over the 30 days up to ``MOMENT`` — the latest 10:00
   Beijing time on a weekday, when both the office-hours and the round-the-clock calendars run —
   with its status history, its deadlines and next check computed by the service's own code, and
   the warnings and breaches that a sweep running every minute would have recorded by then.
   Otherwise they are reused; the moment they stand at is that of the newest ticket.
2. **Ticket list API** (while the server runs, like the customer list): ``GET /api/v1/tickets``
   as the rep, the manager and the administrator over the filter combinations of
   :func:`list_queries`, first pages and, for three of them, the page 20 deep; every
   combination's p95 on its own in the JSON, and all of them together as the figure, target
   p95 ≤ 60 ms.
3. **The sweep** (after the server has stopped: it writes, so it runs on ``TEMPLATE`` copies of
   the database, which need it to themselves): three times, each on a fresh copy, the sweeps a
   worker would run after the load — one minute after its moment (the figure, target ≤ 5 s:
   what fell due in that minute), again at the same moment (nothing due: the cost of looking),
   the next minute, and a quarter of an hour later (a worker that was down that long catching
   up). Each is ``guanxi.service.sweep.sla_sweep(now=…)`` timed in one process: the batches
   that record the steps, then the emails (the console backend of the local settings).
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import ROLES, SEED, Client, deep_cursor, measure, vacuum_analyze

TICKETS = 1_000_000
SWEEP_RUNS = 3
SWEEP_TARGET_SECONDS = 5.0
LIST_TARGET_P95_MS = 60.0
DEEP_PAGES = 20
CUSTOMERS_PER_ROLE = 50  # customers cycled through for the customer_id filter
TICKET_TABLES = ("service_ticket", "service_ticketstatuschange", "service_slanotification")
BEIJING = ZoneInfo("Asia/Shanghai")
# The sweeps run on each copy, in minutes after the moment of the load; the first is the figure.
SWEEPS = (
    (1, "the first minute after the load"),
    (1, "again at the same moment (nothing due)"),
    (2, "the next minute"),
    (17, "a quarter of an hour later (catching up)"),
)
GUANXI = [sys.executable, "-m", "guanxi"]
REPO = Path(__file__).resolve().parent.parent


def load_moment(now: dt.datetime) -> dt.datetime:
    """The latest 10:00 Beijing time on a weekday before ``now``."""
    moment = now.astimezone(BEIJING).replace(hour=10, minute=0, second=0, microsecond=0)
    if moment > now:
        moment -= dt.timedelta(days=1)
    while moment.weekday() >= 5:
        moment -= dt.timedelta(days=1)
    return moment


def _tickets(database_url: str) -> tuple[int, dt.datetime | None, bool]:
    """How many tickets, the newest one's creation (the moment they stand at), and whether
    they are as loaded: no sweep has recorded anything since that moment."""
    with psycopg.connect(database_url) as connection:
        exists = connection.execute("SELECT to_regclass('service_ticket')").fetchone()[0]
        if exists is None:
            raise SystemExit("The bench database has no service desk tables; migrate it.")
        count, newest = connection.execute(
            "SELECT count(*), max(created_at) FROM service_ticket"
        ).fetchone()
        swept = connection.execute(
            "SELECT EXISTS (SELECT 1 FROM service_slanotification WHERE created_at > %s)"
            " OR EXISTS (SELECT 1 FROM service_notification)",
            [newest],
        ).fetchone()[0]
        return count, newest, not swept


def load_tickets(context) -> list[dict]:
    """Exactly :data:`TICKETS` tickets, as loaded, in the bench database; figures for loading
    them, if it had to."""
    count, newest, as_loaded = _tickets(context.database_url)
    if count == TICKETS and as_loaded:
        moment = newest.astimezone(BEIJING).isoformat()
        print(f"  reusing the {count:,} tickets in the database (standing at {moment})")
        return []
    moment = load_moment(dt.datetime.now(dt.UTC))
    state = "" if as_loaded else ", swept since they were loaded"
    print(
        f"  {count:,} tickets in the database{state}; loading {TICKETS:,} as of "
        f"{moment.isoformat()}"
    )
    started = time.monotonic()
    result = subprocess.run(
        [*GUANXI, "demo-tickets", "--total", str(TICKETS), "--seed", str(SEED),
         "--as-of", moment.isoformat(), "--replace", "-v", "0"],
        env=context.env, cwd=REPO, check=True, text=True, capture_output=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    print("  " + result.stdout.strip())
    vacuum_seconds = vacuum_analyze(context.database_url, TICKET_TABLES)
    print(f"  VACUUM (ANALYZE) of the ticket tables: {vacuum_seconds:.0f} s")
    return [
        {
            "figure": "demo tickets, 1M open (generate and load)",
            "role": "",
            "value": seconds,
            "unit": "s",
            "output": result.stdout,
        },
        {
            "figure": "demo tickets, VACUUM (ANALYZE)",
            "role": "",
            "value": vacuum_seconds,
            "unit": "s",
        },
    ]


# --- the ticket list -------------------------------------------------------------------------


def list_queries(context) -> dict[str, list[tuple[str, list[str]]]]:
    """Per role, the filter combinations people use, each with the query strings to cycle
    through (several only for ``customer_id``)."""
    with psycopg.connect(context.database_url) as connection:
        agent = connection.execute(
            "SELECT id FROM accounts_user WHERE username = 'agent'"
        ).fetchone()[0]
        category = connection.execute(
            "SELECT category_id FROM service_ticket WHERE category_id IS NOT NULL"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        queries = {}
        for role in ROLES:
            subject = context.subjects[role]
            customers = [
                row[0]
                for row in connection.execute(
                    "SELECT DISTINCT customer_id FROM service_ticket WHERE customer_id = ANY(%s)",
                    [subject.visible_ids],
                )
            ][:CUSTOMERS_PER_ROLE]
            combinations = [
                {},
                {"status": "open_any"},
                {"status": "open_any", "priority": "urgent"},
                {"type": "complaint", "status": "open_any"},
                {"assignee_id": subject.user_id, "status": "open_any"},
                {"assignee_id": agent, "status": "open_any"},
                {"unassigned": "true", "status": "open_any"},
                {"breached": "true"},
                {"category_id": category},
            ]
            queries[role] = [
                (urllib.parse.urlencode(q), [urllib.parse.urlencode(q)]) for q in combinations
            ]
            queries[role].append(
                ("customer_id=<one they can see>", [f"customer_id={c}" for c in customers])
            )
    return queries


DEEP = ("", "status=open_any&priority=urgent", "breached=true")


def run(context) -> list[dict]:
    """While the server runs: the tickets, then the ticket list API."""
    args = context.args
    figures = load_tickets(context)
    queries = list_queries(context)
    for role in ROLES:
        subject = context.subjects[role]
        api = Client(context.port, {"Authorization": f"Bearer {subject.token}"})
        groups = []  # the paths of each combination and page
        combinations = []
        for label, strings in queries[role]:
            paths = [f"/api/v1/tickets?{q}" for q in strings]
            pages = [("first", paths)]
            if label in DEEP:
                cursor = deep_cursor(api, label, pages=DEEP_PAGES, path="/api/v1/tickets")
                if cursor:
                    joiner = "&" if label else ""
                    pages.append(
                        (
                            "deep",
                            [f"/api/v1/tickets?{label}{joiner}cursor={urllib.parse.quote(cursor)}"],
                        )
                    )
            for page, page_paths in pages:
                groups.append(page_paths)
                one = measure(api, page_paths, requests=max(20, args.requests // 10), repeats=1)
                combinations.append({"query": label or "(none)", "page": page, **one})
                print(
                    f"  {role:<8} {page:<5} ?{label or '(none)':<44} p50 {one['p50']:6.1f}"
                    f"  p95 {one['p95']:6.1f} ms",
                    flush=True,
                )
        # Every combination weighs the same in the figure, however many paths it cycles through.
        rounds = max(len(paths) for paths in groups)
        every_path = [paths[n % len(paths)] for n in range(rounds) for paths in groups]
        result = measure(api, every_path, requests=args.requests, repeats=args.repeats)
        api.close()
        figures.append(
            {
                "figure": "ticket list API (filtered)",
                "role": role,
                "target_p95_ms": LIST_TARGET_P95_MS,
                "combinations": combinations,
                **result,
            }
        )
    return figures


# --- the sweep -------------------------------------------------------------------------------


def _copy_url(database_url: str, name: str) -> str:
    return urllib.parse.urlsplit(database_url)._replace(path=f"/{name}").geturl()


def _copy_database(maintenance: str, source: str, copy: str) -> float:
    """``copy`` made afresh from ``source``; returns the seconds the copy took. A template may
    have no other session: a server worker or autovacuum still leaving is waited for."""
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        deadline = time.monotonic() + 120
        while True:
            started = time.monotonic()
            try:
                connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
                return time.monotonic() - started
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)


def run_sweep(context) -> list[dict]:
    """After the server has stopped: the sweeps, :data:`SWEEP_RUNS` times on fresh copies."""
    source = urllib.parse.urlsplit(context.database_url).path.lstrip("/")
    copy = f"{source}_sweep"
    maintenance = _copy_url(context.database_url, "postgres")
    count, newest, _as_loaded = _tickets(context.database_url)
    moment = newest.astimezone(BEIJING)
    print(f"  {count:,} open tickets standing at {moment.isoformat()}")
    runs = []
    for number in range(1, SWEEP_RUNS + 1):
        copied = _copy_database(maintenance, source, copy)
        output = context.results_dir / "service-sweep.json"
        env = {**context.env, "DATABASE_URL": _copy_url(context.database_url, copy)}
        try:
            subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "sweep", "--as-of",
                 moment.isoformat(), "--output", str(output)],
                env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL,  # the emails
            )  # fmt: skip
        finally:
            with psycopg.connect(maintenance, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        sweeps = json.loads(output.read_text())
        runs.append(sweeps)
        print(f"  run {number} (copied the database in {copied:.0f} s):")
        for sweep in sweeps:
            print(
                f"    +{sweep['minutes']:>2} min, {sweep['due']:>6,} tickets due:"
                f" {sweep['seconds']:6.2f} s ({sweep['record_seconds']:.2f} recording,"
                f" {sweep['email_seconds']:.2f} emailing) for {sweep['tickets']:,} tickets,"
                f" {sweep['notifications']:,} notifications, {sweep['emails']:,} emails",
                flush=True,
            )
    figures = []
    for position, (minutes, label) in enumerate(SWEEPS):
        seconds = [run[position]["seconds"] for run in runs]
        figures.append(
            {
                "figure": f"SLA sweep, 1M open, +{minutes} min: {label}",
                "role": "",
                "value": statistics.median(seconds),
                "unit": "s",
                "target": SWEEP_TARGET_SECONDS if position == 0 else None,
                "better": "lower",
                "runs": seconds,
                "sweeps": [run[position] for run in runs],
            }
        )
    return figures


def _sweep(as_of: dt.datetime, output: Path) -> None:
    """The sweeps of :data:`SWEEPS`, in this process, against ``DATABASE_URL``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings.local")
    import django

    django.setup()
    from guanxi.service.models import Ticket
    from guanxi.service.sweep import deliver_emails, sla_sweep

    results = []
    for minutes, label in SWEEPS:
        now = as_of + dt.timedelta(minutes=minutes)
        due = Ticket.objects.filter(sla_check_at__lte=now).count()
        started = time.perf_counter()
        result = sla_sweep(now=now, email=False)
        recorded = time.perf_counter()
        emails = deliver_emails()
        finished = time.perf_counter()
        results.append(
            {
                "minutes": minutes,
                "label": label,
                "now": now.isoformat(),
                "due": due,
                "seconds": finished - started,
                "record_seconds": recorded - started,
                "email_seconds": finished - recorded,
                "tickets": result.tickets,
                "notifications": result.notifications,
                "emails": emails,
            }
        )
    output.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the service-level sweeps of the bench.")
    parser.add_argument("action", choices=["sweep"])
    parser.add_argument("--as-of", required=True, type=dt.datetime.fromisoformat)
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args()
    _sweep(args.as_of, args.output)


if __name__ == "__main__":
    main()
