"""Similar cases against 100,000 past tickets: ``python bench/suggest.py`` (run by hand, not part
of ``make bench``, because it needs a database of its own for several minutes).

While an agent writes a ticket, the panel beside it suggests published articles and resolved or
closed tickets like it (``guanxi.knowledge.selectors.similar_cases``), on every keystroke. The
bench database's tickets are all open, so this works on a copy of it:

1. ``guanxi_bench`` is copied to ``guanxi_bench_suggest`` (``CREATE DATABASE … TEMPLATE``: the
   bench database itself is never changed); ``--reuse`` keeps a copy left by ``--keep``.
2. Unless the copy holds :data:`TICKETS` tickets, they are loaded into it (``guanxi demo-tickets
   --total 1000000 --seed 1 --replace``, a few minutes), and every tenth ticket is marked done
   (:data:`DONE` of them, half resolved, half closed), then ``VACUUM (ANALYZE)``.
3. The copy is migrated, so it has the indexes of the code checked out (timed, when there was
   something to apply: that is how long a deployment's migration takes on these tickets).
4. In a separate process against the copy: for the administrator, a service agent and a
   manager, :data:`SAMPLE` random tickets each can see, ``similar_cases_for_ticket`` timed for
   each, once as a warm-up, then ``--repeats`` times; the median and p95 of all the timings per
   role are printed (milliseconds), with ``--explain`` also the plan of one ticket query.
5. The copy is dropped (``--keep`` leaves it for the next ``--reuse``).

The demo tickets' tokens come from 40-odd subjects and no description, so many past tickets
share a probe token with any given one: a harder case for an index than real, more varied text.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    DEFAULT_DATABASE_URL,
    REPO,
    SEED,
    _database_name,
    _environment,
    _maintenance_url,
    _pending_migrations,
    percentiles,
    timed_guanxi,
    vacuum_analyze,
)

TICKETS = 1_000_000
DONE = 100_000  # every tenth ticket
SAMPLE = 30
ROLES = ("admin", "agent", "manager")


def _url(database_url: str, name: str) -> str:
    return urllib.parse.urlsplit(database_url)._replace(path=f"/{name}").geturl()


def prepare(source_url: str, copy: str, *, reuse: bool, data_dir: Path) -> dict[str, str]:
    """The copy, with its tickets and done tickets, migrated; its environment."""
    source = _database_name(source_url)
    if copy == source:
        raise SystemExit("The copy must not be the bench database itself.")
    maintenance = _maintenance_url(source_url)
    copy_url = _url(source_url, copy)
    env = _environment(copy_url, data_dir)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [copy]
        ).fetchone()
        if not (reuse and exists):
            connection.execute(f'DROP DATABASE IF EXISTS "{copy}"')
            started = time.monotonic()
            connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
            print(f"Copied {source} to {copy} in {time.monotonic() - started:.0f} s")
    with psycopg.connect(copy_url, autocommit=True) as connection:
        count = connection.execute("SELECT count(*) FROM service_ticket").fetchone()[0]
    if count != TICKETS:
        print(f"{count:,} tickets in the copy; loading {TICKETS:,} (a few minutes)", flush=True)
        seconds, _output = timed_guanxi(
            env, "demo-tickets", "--total", str(TICKETS), "--seed", str(SEED), "--replace"
        )
        print(f"  loaded in {seconds:.0f} s")
    with psycopg.connect(copy_url, autocommit=True) as connection:
        done = connection.execute(
            "SELECT count(*) FROM service_ticket WHERE status IN ('resolved', 'closed')"
        ).fetchone()[0]
        if done != DONE:
            connection.execute(
                "UPDATE service_ticket SET status = CASE WHEN id % 20 = 0 THEN 'closed'"
                " ELSE 'resolved' END, resolved_at = COALESCE(resolved_at, updated_at)"
                " WHERE id % 10 = 0"
            )
    if done != DONE:
        vacuum_analyze(copy_url, ("service_ticket",))
        print("Marked every tenth ticket done (half resolved, half closed)")
    pending = _pending_migrations(env)
    if pending:
        seconds, _output = timed_guanxi(env, "migrate", "--noinput", "-v", "0")
        print(f"Migrated the copy ({', '.join(pending)}) in {seconds:.1f} s")
    return env


def measure(*, repeats: int, explain: bool) -> dict:
    """In this process, against ``DATABASE_URL``: the timings of ``similar_cases_for_ticket``
    per role (milliseconds)."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.models import User
    from guanxi.knowledge.selectors import similar_cases_for_ticket
    from guanxi.service.selectors import tickets_for_user

    results = {}
    for username in ROLES:
        user = User.objects.get(username=username)
        visible = list(tickets_for_user(user).order_by("pk").values_list("pk", flat=True))
        sample = random.Random(SEED).sample(visible, min(SAMPLE, len(visible)))
        for ticket_id in sample:  # warm-up
            similar_cases_for_ticket(user=user, ticket_id=ticket_id)
        timings, found = [], []
        for _ in range(repeats):
            for ticket_id in sample:
                started = time.perf_counter()
                cases = similar_cases_for_ticket(user=user, ticket_id=ticket_id)
                timings.append(time.perf_counter() - started)
                found.append(len(cases))
        results[username] = {
            "tickets": len(sample),
            "visible": len(visible),
            "p50": statistics.median(timings) * 1000,
            "p95": percentiles(timings)["p95"],
            "cases": statistics.mean(found),
            # Which cases, to compare runs of different code: they must be the same.
            "suggested": {
                ticket_id: [
                    (case.kind, (case.article or case.ticket).pk, round(case.score, 9))
                    for case in similar_cases_for_ticket(user=user, ticket_id=ticket_id)
                ]
                for ticket_id in sample
            },
        }
        if explain:
            with CaptureQueriesContext(connection) as queries:
                similar_cases_for_ticket(user=user, ticket_id=sample[0])
            sql = next(
                q["sql"]
                for q in queries
                if 'FROM "service_ticket"' in q["sql"] and "knowledge_hits" in q["sql"]
            )
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                results[username]["plan"] = "\n".join(row[0] for row in cursor.fetchall())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copy", default="guanxi_bench_suggest")
    parser.add_argument("--reuse", action="store_true", help="use the copy --keep left")
    parser.add_argument("--keep", action="store_true", help="leave the copy for --reuse")
    parser.add_argument("--explain", action="store_true", help="print a ticket query's plan")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child process
        print(json.dumps(measure(repeats=args.repeats, explain=args.explain)))
        return
    source_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    # Only for the settings' generated secrets, which nothing here reads.
    data_dir = Path(tempfile.mkdtemp(prefix="guanxi-suggest-"))
    env = prepare(source_url, args.copy, reuse=args.reuse, data_dir=data_dir)
    try:
        child = [sys.executable, str(Path(__file__).resolve()), "--measure"]
        child += ["--repeats", str(args.repeats)] + (["--explain"] if args.explain else [])
        output = subprocess.run(
            child, env=env, cwd=REPO, check=True, capture_output=True, text=True
        ).stdout
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if not args.keep:
            with psycopg.connect(_url(source_url, "postgres"), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{args.copy}" WITH (FORCE)')
    results = json.loads(output.strip().splitlines()[-1])
    print(f"similar_cases_for_ticket, {DONE:,} done tickets of {TICKETS:,}, ms:")
    for username, figures in results.items():
        print(
            f"  {username:<8} p50 {figures['p50']:7.1f}  p95 {figures['p95']:7.1f}"
            f"  ({figures['tickets']} tickets × {args.repeats}, {figures['cases']:.1f} cases each)"
        )
        if "plan" in figures:
            print("    " + figures["plan"].replace("\n", "\n    "))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
