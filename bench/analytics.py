"""Customer-value analytics figures (section ``analytics`` of ``make bench``).

1. Orders: the customer load leaves them out (it has its own target), so when the bench
   database holds fewer than 10,000,000 orders this section replaces them with exactly that many
   — with their invoices and payments — by ``guanxi demo-orders --total 10000000 --seed 1``, the
   demo generator's purchase model over the million customers, then ``VACUUM (ANALYZE)`` of the
   order tables. Both are timed and reported without a target. A database that already holds
   them is reused.
2. ``VACUUM (ANALYZE)`` of the whole database (timed, no target): earlier sections loaded a
   million tickets and earlier refreshes left a million value rows per run behind them, and what
   autovacuum would do to those tables a little later should not decide the figure.
3. ``guanxi analytics refresh`` three times, timed from process start to exit; the median is the
   figure, target ≤ 60 s. Each run's steps (aggregate, compute, write, swap) are printed.
4. The analytics page as the administrator (every customer), a manager and a rep, rendered
   in-process three times each (``bench/dashboard_page.py``); the median is reported without a
   target.

It writes to the bench database while it runs, so ``bench/run.py`` runs it after the server has
stopped.
"""

import json
import statistics
import subprocess
import sys
from pathlib import Path

import psycopg

from bench.run import timed_guanxi, vacuum_analyze

ORDERS = 10_000_000
REFRESH_RUNS = 3
REFRESH_TARGET_SECONDS = 60.0
ORDER_TABLES = ("orders_order", "orders_invoice", "orders_payment")
GUANXI = [sys.executable, "-m", "guanxi"]
REPO = Path(__file__).resolve().parent.parent
SEED = 1
DASHBOARD_USERS = ("admin", "manager", "rep")


def _order_count(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT count(*) FROM orders_order").fetchone()[0]


def _refresh_exists(env: dict) -> bool:
    result = subprocess.run(
        [*GUANXI, "analytics", "refresh", "--help"], env=env, cwd=REPO, capture_output=True
    )
    return result.returncode == 0


def load_orders(context) -> list[dict]:
    """Exactly :data:`ORDERS` orders in the bench database; figures for loading them, if it
    had to."""
    count = _order_count(context.database_url)
    if count >= ORDERS:
        print(f"  reusing the {count:,} orders already in the database")
        return []
    print(f"  {count:,} orders in the database; loading {ORDERS:,} (guanxi demo-orders)")
    seconds, stdout = timed_guanxi(
        context.env, "demo-orders", "--total", str(ORDERS), "--seed", str(SEED), "-v", "0"
    )
    print("  " + stdout.strip())
    vacuum_seconds = vacuum_analyze(context.database_url, ORDER_TABLES)
    print(f"  VACUUM (ANALYZE) of the order tables: {vacuum_seconds:.0f} s")
    return [
        {
            "figure": "demo orders, 10M (generate and load)",
            "role": "",
            "value": seconds,
            "unit": "s",
            "output": stdout,
        },
        {
            "figure": "demo orders, VACUUM (ANALYZE)",
            "role": "",
            "value": vacuum_seconds,
            "unit": "s",
        },
    ]


def run(context) -> list[dict]:
    """The section entry point of ``bench/run.py``."""
    figures = load_orders(context)
    if not _refresh_exists(context.env):
        print("  `guanxi analytics refresh` does not exist yet: no refresh figure")
        return figures
    vacuum_seconds = vacuum_analyze(context.database_url)
    print(f"  VACUUM (ANALYZE) of the database before the refreshes: {vacuum_seconds:.0f} s")
    figures.append(
        {
            "figure": "VACUUM (ANALYZE) before the refreshes",
            "role": "",
            "value": vacuum_seconds,
            "unit": "s",
        }
    )
    runs = []
    outputs = []
    for number in range(1, REFRESH_RUNS + 1):
        seconds, output = timed_guanxi(context.env, "analytics", "refresh")
        runs.append(seconds)
        outputs.append(output)
        steps = output.strip().splitlines()[-1:]  # "12.34 s (aggregate …, compute …, write …)"
        print(f"  refresh {number}: {seconds:.1f} s; in the command {''.join(steps)}", flush=True)
    print("  " + output.strip().replace("\n", "\n  "))
    page = subprocess.run(
        [sys.executable, str(REPO / "bench" / "dashboard_page.py"), *DASHBOARD_USERS],
        env=context.env,
        cwd=REPO,
        check=True,
        text=True,
        capture_output=True,
    )
    page_seconds = json.loads(page.stdout.strip().splitlines()[-1])
    for username, runs_of_user in page_seconds.items():
        print(f"  /analytics/ as {username}: " + ", ".join(f"{s:.2f} s" for s in runs_of_user))
        figures.append(
            {
                "figure": "analytics page, in-process (median of 3)",
                "role": username,
                "value": statistics.median(runs_of_user),
                "unit": "s",
                "target": None,
                "better": "lower",
                "runs": runs_of_user,
            }
        )
    return [
        *figures,
        {
            "figure": "analytics refresh, 1M customers / 10M orders",
            "role": "",
            "value": statistics.median(runs),
            "unit": "s",
            "target": REFRESH_TARGET_SECONDS,
            "better": "lower",
            "runs": runs,
            "outputs": outputs,
        },
    ]
