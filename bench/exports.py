"""Customer export figures (``make bench BENCH_ARGS="--only export"``): the whole list, from the
list page's export buttons.

As the rep, the manager and the administrator, with no filter: everyone they may see, phones
and ID numbers masked. For each user, once each:

* CSV, which streams: ``POST /customers/export/`` over real HTTP against the running server,
  signed in through the login form; the time to the first byte of the body (the audit row,
  counting the list and making the first piece) and the total time to the last byte;
* XLSX: the workbook written in this process by ``customers_export_xlsx_counted``, as the
  background task the web and the API hand a list of more than
  ``GUANXI_EXPORT_BACKGROUND_ROWS`` customers to writes it (the server, whose background worker
  the bench does not start, would only queue it): the total time, until the file is complete.

Both with the bytes and the rows the audit row counted, and customers a second. One untimed
warm-up before the figures, the rep's CSV export (the shortest), brings the customer tables
into memory; each figure is measured ``RUNS`` times (the median is reported): a million
customers take minutes.

The target of 60 s is a reverse proxy's usual read timeout (nginx's ``proxy_read_timeout``): a
CSV export must send its first byte within it, an XLSX export its whole file, or a user behind
such a proxy gets a gateway error instead of the file.
"""

import http.client
import io
import re
import statistics
import time
import urllib.parse

import psycopg

from bench.run import ROLES, sign_in

RUNS = 1
# Seconds to wait for a response; well over anything measured, so a slow export is timed and
# not cut off (the bench client's own 60 s would fail on the administrator's workbook).
EXPORT_TIMEOUT = 3600
PROXY_TIMEOUT_S = 60.0
PIECE = 1024 * 1024


def _session(port: int, subject) -> tuple[str, str]:
    """The Cookie header of a signed-in session, and its CSRF token for posting forms."""
    client = sign_in(port, subject)
    client.close()
    cookie = client.headers["Cookie"]
    csrf = re.search(r"csrftoken=([^;]+)", cookie).group(1)
    return cookie, csrf


def export_once(port: int, cookie: str, csrf: str, export_format: str) -> dict:
    """One export on a connection of its own: seconds to the first byte of the body and to the
    last, and the bytes received."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=EXPORT_TIMEOUT)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "format": export_format})
    try:
        started = time.perf_counter()
        connection.request(
            "POST",
            "/customers/export/",
            body=body,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(
                f"The {export_format} export answered {response.status}: {response.read(300)!r}"
            )
        first_byte = None
        size = 0
        while piece := response.read1(PIECE):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(piece)
        total = time.perf_counter() - started
    finally:
        connection.close()
    return {"first_byte_s": first_byte, "total_s": total, "bytes": size}


def xlsx_once(username: str) -> dict:
    """One XLSX export of the user's whole list, written in this process: seconds until the
    workbook is complete, and its bytes."""
    import django

    django.setup()
    from django.db import connections

    from guanxi.accounts.models import User
    from guanxi.customers.exports import customers_export_xlsx_counted

    try:
        user = User.objects.get(username=username)
        started = time.perf_counter()
        workbook, _rows = customers_export_xlsx_counted(actor=user)
        total = time.perf_counter() - started
    finally:
        # The sections after this one copy the database as a template, which PostgreSQL
        # refuses while any session, this process's included, is connected to it.
        connections.close_all()
    try:
        size = workbook.seek(0, io.SEEK_END)
    finally:
        workbook.close()
    return {"first_byte_s": None, "total_s": total, "bytes": size}


def _audited_rows(database_url: str, user_id: int) -> int:
    """The row count of the user's latest export, as its audit row has it."""
    with psycopg.connect(database_url) as connection:
        (changes,) = connection.execute(
            "SELECT changes FROM audit_auditevent WHERE action = 'export' AND actor_id = %s "
            "ORDER BY id DESC LIMIT 1",
            [user_id],
        ).fetchone()
    return changes["rows"]["after"]


def run(context) -> list[dict]:
    """The section entry point of ``bench/run.py``."""
    sessions = {role: _session(context.port, context.subjects[role]) for role in ROLES}
    print("  warm-up: the rep's CSV export (not timed)", flush=True)
    export_once(context.port, *sessions["rep"], "csv")
    figures = []
    for role in ROLES:
        for export_format in ("csv", "xlsx"):
            if export_format == "csv":
                runs = [export_once(context.port, *sessions[role], "csv") for _ in range(RUNS)]
                first_byte = statistics.median(r["first_byte_s"] for r in runs)
            else:
                runs = [xlsx_once(context.subjects[role].username) for _ in range(RUNS)]
                first_byte = None
            rows = _audited_rows(context.database_url, context.subjects[role].user_id)
            total = statistics.median(r["total_s"] for r in runs)
            size = statistics.median(r["bytes"] for r in runs)
            label = f"export {export_format.upper()}"
            common = {"role": role, "rows": rows, "runs": runs}
            if export_format == "csv":
                figures.append(
                    {
                        "figure": f"{label}: first byte",
                        "value": first_byte,
                        "unit": "s",
                        "target": PROXY_TIMEOUT_S,
                        "better": "lower",
                        **common,
                    }
                )
            figures += [
                {
                    "figure": f"{label}: total",
                    "value": total,
                    "unit": "s",
                    "target": PROXY_TIMEOUT_S if export_format == "xlsx" else None,
                    "better": "lower",
                    **common,
                },
                {"figure": f"{label}: size", "value": size / 1e6, "unit": "MB", **common},
                {"figure": f"{label}: rows/s", "value": rows / total, "unit": "rows/s", **common},
            ]
            first = f"first byte {first_byte:7.2f} s" if first_byte is not None else " " * 20
            print(
                f"  {role:<8} {export_format:<5} {rows:>9,} rows  {first}  total {total:7.2f} s  "
                f"{size / 1e6:8.1f} MB  {rows / total:8,.0f} rows/s",
                flush=True,
            )
    return figures
