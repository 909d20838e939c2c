"""Performance figures for Guanxi on PostgreSQL with a million demo customers (``make bench``).

What it does, in order (bench/README.md explains why each step is done this way):

1. Makes the database ``guanxi_bench`` (``BENCH_DATABASE_URL`` overrides the address), or reuses
   it when it already holds the requested number of customers — applying any migrations it
   lacks in place first; otherwise (or when migrating fails) drops it, migrates, and times
   ``guanxi demo-data --customers N`` (without orders: the ``analytics`` section loads those).
2. Collects the static files and starts ``guanxi serve`` (gunicorn, 2 workers, local settings
   with DEBUG off; without its background worker and scheduler) on a free port.
3. Over real HTTP with keep-alive connections, as a sales rep, a manager and an administrator:
   the customer detail API, the filtered customer list API (first and deep pages) and the
   customer 360 page (signed in through the login form). Each figure is measured several times
   after a warm-up; the medians of the repeats are reported.
4. Prints a table with the targets and writes everything to ``bench/results/`` as JSON.

Further sections (search, duplicate scan, import, analytics, service desk…) live in their own
modules under ``bench/`` and are listed in ``SECTIONS``: each has ``run(context)`` returning
figures, and runs after the API figures while the server is up (those in
``SECTIONS_WITHOUT_SERVER`` after it has stopped). ``--only NAME,…`` runs a subset; the
sections in ``ON_REQUEST`` run only when named there.

Usage: ``python bench/run.py [--customers N] [--requests N] [--repeats N] [--reload]
[--only api,…]``.
"""

import argparse
import datetime as dt
import http.client
import importlib
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
GUANXI = [sys.executable, "-m", "guanxi"]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/guanxi_bench"
ROLES = ("rep", "manager", "admin")
SEED = 1

# Sections beyond the API figures: name -> module in bench/ with ``run(context) -> list[dict]``.
# A figure is either a latency (``p50``/``p95``/``p99`` in ms, ``target_p95_ms``) or a single
# measured ``value`` with its ``unit``, ``target`` and ``better`` ("lower" or "higher").
# ``module:function`` names another entry point than ``run``; a section may have a part in
# each list (``service``: the ticket list while the server runs, the sweep after).
SECTIONS: dict[str, str] = {
    "search": "bench.search",
    "clv": "bench.clv",
    "dedup": "bench.dedup",
    "service": "bench.service",
    "export": "bench.exports",
}
# Sections that need the database to themselves: they run after the server has stopped.
SECTIONS_WITHOUT_SERVER: dict[str, str] = {
    "import": "bench.imports",
    "analytics": "bench.analytics",
    "service": "bench.service:run_sweep",
    "import-floor": "bench.import_floor",
}
# Sections run only when named with ``--only``: diagnoses rather than figures with a target.
ON_REQUEST = {"import-floor"}


@dataclass
class BenchContext:
    """What a section gets: the prepared database, the running server, and the demo users."""

    args: argparse.Namespace
    database_url: str
    env: dict[str, str]
    data_dir: Path
    port: int
    subjects: dict
    credentials: dict[str, str]
    results_dir: Path


TARGETS = {
    "load_seconds": 300.0,  # a million customers in at most five minutes
    "detail_p95_ms": 30.0,
    "list_p95_ms": 60.0,
}


# --- the database ----------------------------------------------------------------------------


def _database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def _maintenance_url(url: str) -> str:
    return urllib.parse.urlsplit(url)._replace(path="/postgres").geturl()


def _environment(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUANXI_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="guanxi.settings.local",
        GUANXI_DATA_DIR=str(data_dir),
        GUANXI_DEBUG="0",
        GUANXI_LOG_LEVEL="WARNING",
    )
    return env


def _guanxi(env: dict[str, str], *args: str, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GUANXI, *args], env=env, cwd=REPO, check=True, text=True, capture_output=capture
    )


def timed_guanxi(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run ``guanxi ARGS`` to completion; its wall-clock seconds (process start to exit) and
    its standard output."""
    started = time.monotonic()
    result = _guanxi(env, *args)
    return time.monotonic() - started, result.stdout


def vacuum_analyze(database_url: str, tables: tuple[str, ...] = ()) -> float:
    """``VACUUM (ANALYZE)`` of the given tables (of the whole database without any); seconds."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
    return time.monotonic() - started


def _customer_count(database_url: str) -> int | None:
    with psycopg.connect(database_url) as connection:
        exists = connection.execute("SELECT to_regclass('customers_customer')").fetchone()[0]
        if exists is None:
            return None
        return connection.execute(
            "SELECT count(*) FROM customers_customer WHERE deleted_at IS NULL"
        ).fetchone()[0]


def _pending_migrations(env: dict[str, str]) -> list[str]:
    """Names of the migrations not yet applied to the database, in the order they would run."""
    result = subprocess.run(
        [*GUANXI, "showmigrations", "--plan"], env=env, cwd=REPO, capture_output=True, text=True
    )
    return [line[4:].strip() for line in result.stdout.splitlines() if line.startswith("[ ]")]


def prepare_database(database_url: str, env: dict[str, str], customers: int, reload: bool) -> dict:
    """Reuse or rebuild the bench database; return what was done and how long loading took."""
    name = _database_name(database_url)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"Unexpected database name {name!r}.")
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    schema_current = (
        subprocess.run(
            [*GUANXI, "migrate", "--check"], env=env, cwd=REPO, capture_output=True
        ).returncode
        == 0
    )
    count = _customer_count(database_url)
    migrated: list[str] = []
    if not reload and not schema_current and count == customers:
        # The customers are there and only newer migrations are missing: apply them rather than
        # spend ten minutes loading the same customers again. Rebuild only if that fails.
        migrated = _pending_migrations(env)
        if migrated:
            print(
                f"Migrating {name} in place ({count:,} customers kept), "
                f"{len(migrated)} migration(s): {', '.join(migrated)}"
            )
            started = time.monotonic()
            try:
                _guanxi(env, "migrate", "--noinput", "-v0")
            except subprocess.CalledProcessError as error:
                last = (error.stderr or "").strip().splitlines()[-1:] or ["(no message)"]
                print(f"  migrating failed ({last[0]}); rebuilding the database instead.")
                migrated = []
            else:
                schema_current = True
                print(f"  migrated in {time.monotonic() - started:.0f} s")
    if not reload and schema_current and count == customers:
        print(f"Reusing {name}: {count:,} customers, schema current.")
        reused = {"reused": True, **({"migrated": migrated} if migrated else {})}
        with psycopg.connect(database_url) as connection:
            indexed = connection.execute("SELECT count(*) FROM dedup_matchprofile").fetchone()[0]
        if indexed < count:  # a database loaded by older code: the index comes on top
            print("  building its duplicate-detection index first (guanxi dedup reindex)")
            started = time.monotonic()
            _guanxi(env, "dedup", "reindex")
            return {**reused, "duplicate_index_seconds": time.monotonic() - started}
        return reused

    print(f"Rebuilding {name} with {customers:,} customers (seed {SEED}).")
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    _guanxi(env, "migrate", "--noinput", "-v0")
    started = time.monotonic()
    result = subprocess.run(
        [
            *GUANXI,
            "demo-data",
            "--customers",
            str(customers),
            "--seed",
            str(SEED),
            # Orders are loaded by the analytics section, outside the load's target.
            "--orders-per-customer",
            "0",
            "--no-duplicate-index",
        ],
        env=env,
        cwd=REPO,
        check=True,
        text=True,
        stdout=subprocess.PIPE,  # the credentials table; the progress bar stays on stderr
    )
    load_seconds = time.monotonic() - started
    loaded_line = next(
        (line for line in result.stdout.splitlines() if line.startswith("Loaded")), ""
    )
    # The duplicate-detection index (blocking keys and profiles of every customer), which the
    # import and the new-customer form look candidates up in; timed apart from the load.
    started = time.monotonic()
    _guanxi(env, "dedup", "reindex")
    index_seconds = time.monotonic() - started
    # Autovacuum would get there on its own in a while; doing it now makes the figures
    # independent of when it happens to run (index-only scans need the visibility map).
    vacuum_seconds = vacuum_analyze(database_url)
    return {
        "reused": False,
        "load_seconds": load_seconds,
        "load_rate": customers / load_seconds,
        "load_summary": loaded_line,
        "duplicate_index_seconds": index_seconds,
        "vacuum_seconds": vacuum_seconds,
    }


# --- what to ask for -------------------------------------------------------------------------


@dataclass
class Subject:
    """One benchmark user: how they authenticate and what they may see."""

    username: str
    password: str
    token: str
    user_id: int
    visible_ids: list[int] = field(default_factory=list)
    session_cookie: str = ""


def sample_subjects(env: dict[str, str], credentials: dict[str, str], count: int) -> dict:
    """Random customers each user may see, chosen through the application's own visibility rule
    (in this process, with Django pointed at the bench database), and an API token each."""
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections

    from guanxi.accounts.models import User
    from guanxi.customers.models import Customer

    bounds = Customer.objects.filter(deleted_at__isnull=True).order_by("id")
    low, high = bounds.first().pk, bounds.last().pk
    rng = random.Random(SEED)
    subjects = {}
    for username in ROLES:
        user = User.objects.select_related("team").get(username=username)
        visible: list[int] = []
        while len(visible) < count:
            candidates = [rng.randint(low, high) for _ in range(5000)]
            visible += (
                Customer.objects.visible_to(user)
                .filter(pk__in=candidates)
                .values_list("pk", flat=True)
            )
        rng.shuffle(visible)
        token = _guanxi(env, "api-token", username, "--name", "benchmark").stdout.strip()
        subjects[username] = Subject(username, credentials[username], token, user.pk, visible)
    connections.close_all()
    return subjects


def list_queries(subjects: dict[str, Subject]) -> list[str]:
    """Filter combinations people use on the customer list."""
    rep_id = subjects["rep"].user_id
    queries = [
        {},
        {"kind": "signed"},
        {"region": "华东", "industry": "制造业"},
        {"kind": "signed", "lifecycle_stage": "repeat_purchase"},
        {"owner_id": rep_id},
        {"owner_id": rep_id, "kind": "potential"},
        {"tag": "VIP"},
        {"party_type": "organization", "region": "华南"},
        {"relationship_level": "strategic_alliance", "industry": "信息技术"},
        {"kind": "intent", "ordering": "-updated_at"},
    ]
    return [urllib.parse.urlencode(q) for q in queries]


# --- HTTP ------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection; reconnects (untimed) when the server closed it while idle."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port = port
        self.headers = headers
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict | None = None
    ) -> tuple[float, int, bytes, http.client.HTTPResponse]:
        all_headers = {**self.headers, **(headers or {})}
        for attempt in (1, 2):
            try:
                started = time.perf_counter()
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                content = response.read()
                elapsed = time.perf_counter() - started
                return elapsed, response.status, content, response
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_ok(self, path: str) -> tuple[float, bytes]:
        elapsed, status, content, _response = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {content[:300]!r}")
        return elapsed, content

    def close(self) -> None:
        self.connection.close()


def sign_in(port: int, subject: Subject) -> Client:
    """Sign in through the real login form, CSRF token and all; return a client whose
    requests carry the session cookie."""
    client = Client(port, {})
    _elapsed, status, page, response = client.request("GET", "/accounts/login/")
    if status != 200:
        raise SystemExit(f"The login page answered {status}.")
    cookies = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if match is None or "csrftoken" not in cookies:
        raise SystemExit("The login page has no CSRF token.")
    csrf_cookie = cookies["csrftoken"].value
    body = urllib.parse.urlencode(
        {
            "username": subject.username,
            "password": subject.password,
            "csrfmiddlewaretoken": match.group(1).decode(),
        }
    )
    _elapsed, status, _content, response = client.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
        },
    )
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    if status != 302 or "sessionid" not in cookies:
        raise SystemExit(
            f"Signing in as {subject.username} failed ({status}); is the credentials file from "
            "the run that loaded this database? Try --reload."
        )
    client.headers = {"Cookie": f"csrftoken={csrf_cookie}; sessionid={cookies['sessionid'].value}"}
    return client


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def measure(client: Client, paths: list[str], *, requests: int, repeats: int) -> dict:
    """Sequential GETs cycling through ``paths``: a warm-up, then ``repeats`` runs of
    ``requests`` each. Returns the median over the runs of each percentile, and the runs."""
    for path in paths[: min(len(paths), 50)]:
        client.get_ok(path)
    runs = []
    cursor = 0
    for _ in range(repeats):
        samples = []
        for _ in range(requests):
            elapsed, _content = client.get_ok(paths[cursor % len(paths)])
            samples.append(elapsed)
            cursor += 1
        runs.append(percentiles(samples))
    return {
        "p50": statistics.median(r["p50"] for r in runs),
        "p95": statistics.median(r["p95"] for r in runs),
        "p99": statistics.median(r["p99"] for r in runs),
        "runs": runs,
        "requests_per_run": requests,
    }


def deep_cursor(
    client: Client, query: str, pages: int, *, path: str = "/api/v1/customers"
) -> str | None:
    """The cursor ``pages`` pages into a list, found by following next_cursor."""
    cursor = None
    for _ in range(pages):
        page = f"{path}?{query}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        _elapsed, content = client.get_ok(page)
        cursor = json.loads(content)["next_cursor"]
        if cursor is None:
            return None
    return cursor


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    log = log_path.open("wb")
    # Without the background worker and scheduler `guanxi serve` starts by default: their
    # periodic jobs (the SLA sweep every minute, the nightly analytics refresh, queued at once
    # when it has never run) would change the bench data and compete with the requests timed.
    server = subprocess.Popen(
        [*GUANXI, "serve", "--port", str(port), "--workers", "2", "--no-background-worker"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,  # the access log: one line per request, not needed here
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server stopped; see {log_path}.")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit(f"The server did not start within a minute; see {log_path}.")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- report ----------------------------------------------------------------------------------


def _run_section(name: str, module_name: str, context: BenchContext) -> list[dict]:
    """A section's figures; a section that fails is reported as failed, with its error, and
    the others still run, so that one failure late in a long run does not lose the figures
    measured before it (the report is written only at the end)."""
    try:
        return _section_entry(module_name)(context)
    except Exception as error:
        traceback.print_exc()
        if isinstance(error, subprocess.CalledProcessError) and error.stderr:
            # A command's own error, which the captured output would otherwise swallow.
            print("\n".join(error.stderr.strip().splitlines()[-15:]), file=sys.stderr)
        print(f"  section {name} failed: {error}", flush=True)
        return [{"figure": f"section {name} failed", "error": repr(error), "value": None}]


def _section_entry(spec: str):
    """The function a ``SECTIONS`` value names (``module`` means its ``run``)."""
    module_name, _colon, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function or "run")


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return "PASS" if value <= target else "MISS"


def print_report(report: dict) -> None:
    env = report["environment"]
    print()
    print(
        f"Guanxi benchmark — {report['customers']:,} customers on {env['postgres']}, "
        f"{env['cpus']} CPUs, {report['started_at']}"
    )
    load = report["database"]
    if load.get("reused"):
        print("Demo data: reused an existing database (run with --reload to time the load).")
        if load.get("migrated"):
            print(f"           migrated in place first: {', '.join(load['migrated'])}")
    else:
        print(
            f"Demo data: {load['load_seconds']:.0f} s for {report['customers']:,} customers "
            f"({load['load_rate']:,.0f} customers/s), target ≤ {TARGETS['load_seconds']:.0f} s: "
            f"{_verdict(load['load_seconds'], TARGETS['load_seconds'])}"
        )
        if "duplicate_index_seconds" in load:
            print(
                f"           then the duplicate index (guanxi dedup reindex) "
                f"{load['duplicate_index_seconds']:.0f} s"
            )
        print(f"           then VACUUM ANALYZE {load['vacuum_seconds']:.0f} s (not part of it)")
    print()
    header = f"{'figure':<34}{'role':<9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}  {'target':<14}"
    print(header)
    print("-" * len(header))
    for row in report["figures"]:
        if "value" in row:
            continue
        target = row["target_p95_ms"]
        target_text = f"p95 ≤ {target:.0f} ms" if target else "-"
        print(
            f"{row['figure']:<34}{row['role']:<9}{row['p50']:>8.1f}{row['p95']:>8.1f}"
            f"{row['p99']:>8.1f}  {target_text:<14}{_verdict(row['p95'], target)}"
        )
    single = [row for row in report["figures"] if "value" in row]
    if single:
        print()
        for row in single:
            if "error" in row:
                print(f"{row['figure']:<51}{'FAILED':>12}  {row['error']}")
                continue
            target, better = row.get("target"), row.get("better", "lower")
            sign = "≤" if better == "lower" else "≥"
            target_text = f"{sign} {target:,.4g} {row['unit']}" if target is not None else "-"
            verdict = ""
            if target is not None:
                ok = row["value"] <= target if better == "lower" else row["value"] >= target
                verdict = "PASS" if ok else "MISS"
            label = f"{row['figure']}" + (f" ({row['role']})" if row.get("role") else "")
            print(f"{label:<51}{row['value']:>12,.4g} {row['unit']:<8}  {target_text:<18}{verdict}")
    slow = [q for q in report["list_queries"] if q["p95"] > TARGETS["list_p95_ms"]]
    if slow:
        print("\nList queries over the target (p95 of one run each):")
        for q in slow:
            print(f"  {q['role']:<8} {q['p95']:7.1f} ms  {q['page']:<5} ?{q['query']}")
    # Figures made of several filter combinations list the ones over their target.
    for row in report["figures"]:
        target = row.get("target_p95_ms")
        over = [c for c in row.get("combinations", []) if target and c["p95"] > target]
        if over:
            print(f"\n{row['figure']}, {row['role']}: combinations over the target (one run each):")
            for c in over:
                print(f"  {c['p95']:7.1f} ms  {c['page']:<5} ?{c['query']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="requests per measured run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (medians)")
    parser.add_argument(
        "--reload", action="store_true", help="rebuild the database even if it could be reused"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run: api, "
        + ", ".join(dict.fromkeys([*SECTIONS, *SECTIONS_WITHOUT_SERVER]))
        + " (default: all)",
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - {"api", *SECTIONS, *SECTIONS_WITHOUT_SERVER}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    data_dir = Path(os.environ.get("BENCH_DATA_DIR", REPO / "var" / "bench")).resolve()
    env = _environment(database_url, data_dir)
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0)

    database = prepare_database(database_url, env, args.customers, args.reload)
    credentials = {}
    for line in (data_dir / "demo-credentials.txt").read_text().splitlines():
        fields = line.split()
        if len(fields) == 3 and not line.startswith("#"):
            credentials[fields[0]] = fields[2]
    subjects = sample_subjects(env, credentials, count=max(500, args.requests))
    with psycopg.connect(database_url) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]

    # Pages need the collected static files (and their manifest), as in any deployment.
    _guanxi(env, "collectstatic", "--noinput", "-v0")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%d-%H%M%S")
    server, port = start_server(env, RESULTS / f"server-{stamp}.log")
    figures = []
    per_query = []
    try:
        queries = list_queries(subjects) if not only or "api" in only else []
        for role in ROLES if not only or "api" in only else ():
            subject = subjects[role]
            api = Client(port, {"Authorization": f"Bearer {subject.token}"})
            ids = subject.visible_ids
            print(f"Measuring as {role} ...", flush=True)
            result = measure(
                api,
                [f"/api/v1/customers/{pk}" for pk in ids],
                requests=args.requests,
                repeats=args.repeats,
            )
            figures.append(
                {
                    "figure": "customer detail API",
                    "role": role,
                    "target_p95_ms": TARGETS["detail_p95_ms"],
                    **result,
                }
            )

            list_paths = []
            for query in queries:
                first = f"/api/v1/customers?{query}"
                list_paths.append(first)
                cursor = deep_cursor(api, query, pages=20)
                pages = [("first", first)]
                if cursor:
                    deep = f"{first}&cursor={urllib.parse.quote(cursor)}"
                    list_paths.append(deep)
                    pages.append(("deep", deep))
                for page, path in pages:
                    one = measure(api, [path], requests=max(20, args.requests // 10), repeats=1)
                    per_query.append({"role": role, "query": query, "page": page, **one})
            result = measure(api, list_paths, requests=args.requests, repeats=args.repeats)
            figures.append(
                {
                    "figure": "customer list API (filtered)",
                    "role": role,
                    "target_p95_ms": TARGETS["list_p95_ms"],
                    **result,
                }
            )
            api.close()

            web = sign_in(port, subject)
            result = measure(
                web,
                [f"/customers/{pk}/" for pk in ids],
                requests=max(50, args.requests // 2),
                repeats=args.repeats,
            )
            figures.append(
                {"figure": "customer 360 page", "role": role, "target_p95_ms": None, **result}
            )
            web.close()
        context = BenchContext(
            args=args,
            database_url=database_url,
            env=env,
            data_dir=data_dir,
            port=port,
            subjects=subjects,
            credentials=credentials,
            results_dir=RESULTS,
        )
        for name, module_name in SECTIONS.items():
            if only and name not in only:
                continue
            print(f"Measuring {name} ...", flush=True)
            figures.extend(_run_section(name, module_name, context))
    finally:
        stop_server(server)
    for name, module_name in SECTIONS_WITHOUT_SERVER.items():
        if (only and name not in only) or (not only and name in ON_REQUEST):
            continue
        print(f"Measuring {name} ...", flush=True)
        figures.extend(_run_section(name, module_name, context))

    report = {
        "started_at": started_at.isoformat(),
        "customers": args.customers,
        "database": database,
        "environment": {
            "postgres": f"PostgreSQL {postgres}",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "server": "guanxi serve --no-background-worker: gunicorn, 2 workers x 4 threads, "
            "settings.local, DEBUG off",
        },
        "targets": TARGETS,
        "figures": figures,
        "list_queries": per_query,
    }
    output = RESULTS / f"bench-{stamp}.json"
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_report(report)
    print(f"\nWritten to {output.relative_to(REPO)}")


if __name__ == "__main__":
    main()
