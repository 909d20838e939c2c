"""What PostgreSQL alone needs to take an import's rows (section ``import-floor``, ``make bench``).

The import section measures the whole importer: reading, checking, matching, building rows and
writing them. This section asks what is left when everything but the database is taken away:
the same 100,000-row file is imported into one ``TEMPLATE`` copy of the bench database, every row
the import wrote there is read back, and those rows are written again into a second, fresh copy
with nothing but ``COPY`` and set-based ``UPDATE``/``DELETE`` statements, in 50 transactions as
the importer's batches commit (the changed customers' rows and their new blocking keys, the new
customers with their phones, emails, addresses, tag links, blocking keys, comparison profiles,
audit rows and review pairs). No Python work is left in it; what remains is the table and index
maintenance, the deferred foreign-key checks at each commit and the write-ahead log.

It prints the replay's wall time and the processor time of its server process (read from
``/proc``, so the figure needs the database on the same machine), each by step. 5,000 rows/s
means 20 s for the file; if one connection's writes alone take longer than that, no importer
writing through one connection can reach the target with the schema as it is, however little
its own work. The figures for a few schema and setting changes, measured the same way, are in
bench/README.md ("Import, seventh round").

Run ``make bench BENCH_ARGS="--only import-floor"``.
"""

import collections
import os
import time
import urllib.parse
from pathlib import Path

import psycopg
from psycopg import sql

from bench.imports import make_import_file
from bench.run import timed_guanxi

BATCHES = 50  # the importer's 2,000-row batches for 100,000 rows
# Tables the import adds rows to, each with the column naming the customer a row belongs to, so
# that a row is replayed in the same transaction as its customer.
CHILD_TABLES = {
    "customers_phone": "customer_id",
    "customers_email": "customer_id",
    "customers_address": "customer_id",
    "customers_customer_tags": "customer_id",
    "dedup_matchkey": "customer_id",
    "audit_auditevent": "customer_id",
    "dedup_duplicatepair": "right_id",
}
ID_TABLES = ("customers_customer", "customers_tag", *CHILD_TABLES)


def _url(database_url: str, name: str) -> str:
    return urllib.parse.urlsplit(database_url)._replace(path=f"/{name}").geturl()


def _copy_database(maintenance: str, source: str, copy: str) -> None:
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')


def _drop_database(maintenance: str, name: str) -> None:
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lines(connection: psycopg.Connection, query: str, *values) -> list[bytes]:
    """The rows of ``query`` (``{}`` for each of ``values``, a table name or a literal) in COPY's
    text format, one line each (a tab or newline inside a value is escaped, so a row is one line
    and its fields split on tabs)."""
    parts = [v if isinstance(v, sql.Identifier) else sql.Literal(v) for v in values]
    statement = sql.SQL("COPY ({}) TO STDOUT").format(sql.SQL(query).format(*parts))
    blocks = []
    with connection.cursor().copy(statement) as copy:
        blocks.extend(bytes(block) for block in copy)
    return b"".join(blocks).splitlines(keepends=True)


def _column_index(connection: psycopg.Connection, table: str, column: str) -> int:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " ORDER BY ordinal_position",
            [table],
        )
    ]
    return names.index(column)


def _written_rows(connection: psycopg.Connection, before: dict[str, int], since) -> dict:
    """Every row the import wrote, from the copy it ran in. Rows it added have ids above the
    largest before it; customers it changed carry an ``updated_at`` after it started."""
    last = before["customers_customer"]
    changed = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM customers_customer WHERE id <= %s AND updated_at >= %s ORDER BY id",
            [last, since],
        )
    ]
    written = {
        "changed": changed,
        "new_customers": _lines(
            connection, "SELECT * FROM customers_customer WHERE id > {} ORDER BY id", last
        ),
        "changed_customers": _lines(
            connection,
            "SELECT * FROM customers_customer WHERE id = ANY({}::bigint[]) ORDER BY id",
            changed,
        ),
        "new_tags": _lines(
            connection, "SELECT * FROM customers_tag WHERE id > {}", before["customers_tag"]
        ),
        "new_profiles": _lines(
            connection, "SELECT * FROM dedup_matchprofile WHERE customer_id > {}", last
        ),
        "changed_profiles": _lines(
            connection,
            "SELECT * FROM dedup_matchprofile WHERE customer_id = ANY({}::bigint[])",
            changed,
        ),
        # A changed customer's blocking keys that the import left in place; the others it
        # deleted (and wrote new ones, among the added rows).
        "kept_keys": {
            row[0]
            for row in connection.execute(
                "SELECT id FROM dedup_matchkey WHERE customer_id = ANY(%s) AND id <= %s",
                [changed, before["dedup_matchkey"]],
            )
        },
    }
    for table, column in CHILD_TABLES.items():
        written[table] = (
            _column_index(connection, table, column),
            _lines(
                connection,
                "SELECT * FROM {} WHERE id > {} ORDER BY id",
                sql.Identifier(table),
                before[table],
            ),
        )
    return written


def _batches(written: dict) -> list[dict[str, list]]:
    """The written rows split into ``BATCHES`` transactions: new and changed customers evenly,
    each other row with its customer (rows naming none spread evenly)."""
    new_ids = [int(line.split(b"\t", 1)[0]) for line in written["new_customers"]]
    changed = written["changed"]
    per_new = -(-len(new_ids) // BATCHES) or 1
    per_changed = -(-len(changed) // BATCHES) or 1
    batch_of = {pk: i // per_new for i, pk in enumerate(new_ids)}
    batch_of.update({pk: i // per_changed for i, pk in enumerate(changed)})
    batches = [collections.defaultdict(list) for _ in range(BATCHES)]
    for line in written["new_customers"]:
        batches[batch_of[int(line.split(b"\t", 1)[0])]]["new_customers"].append(line)
    for line in written["changed_customers"]:
        pk = int(line.split(b"\t", 1)[0])
        batches[batch_of[pk]]["changed_customers"].append(line)
        batches[batch_of[pk]]["changed"].append(pk)
    for table in CHILD_TABLES:
        index, lines = written[table]
        for position, line in enumerate(lines):
            value = line.rstrip(b"\n").split(b"\t")[index]
            spread = position % BATCHES
            batch = spread if value == b"\\N" else batch_of.get(int(value), spread)
            batches[batch][table].append(line)
    for key in ("new_profiles", "changed_profiles"):
        for line in written[key]:
            batches[batch_of[int(line.split(b"\t", 1)[0])]][key].append(line)
    return batches


def _processor_seconds(pid: int) -> float:
    """User and system time of a server process so far (``/proc/PID/stat``, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _copy_in(cursor: psycopg.Cursor, table: str, lines: list[bytes]) -> None:
    if lines:
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
            copy.write(b"".join(lines))


def replay(database_url: str, written: dict) -> dict:
    """Write ``written`` into the database at ``database_url``; wall and server processor
    seconds in all and by step."""
    wall: dict[str, float] = collections.defaultdict(float)
    processor: dict[str, float] = collections.defaultdict(float)
    with psycopg.connect(database_url) as connection:
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        columns = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'customers_customer' AND column_name <> 'id'"
            )
        ]
        assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        connection.execute(
            "CREATE TEMPORARY TABLE changed_customers AS"
            " SELECT * FROM customers_customer WITH NO DATA"
        )
        connection.execute(
            "CREATE TEMPORARY TABLE changed_profiles AS"
            " SELECT * FROM dedup_matchprofile WITH NO DATA"
        )
        connection.commit()
        started, started_processor = time.perf_counter(), _processor_seconds(pid)
        with connection.cursor() as cursor:

            def step(name, function):
                at, at_processor = time.perf_counter(), _processor_seconds(pid)
                function()
                wall[name] += time.perf_counter() - at
                processor[name] += _processor_seconds(pid) - at_processor

            step("tags", lambda: _copy_in(cursor, "customers_tag", written["new_tags"]))
            for batch in _batches(written):

                def update_customers(batch=batch):
                    cursor.execute("TRUNCATE changed_customers")
                    _copy_in(cursor, "changed_customers", batch["changed_customers"])
                    cursor.execute(
                        f"UPDATE customers_customer t SET {assignments}"  # noqa: S608
                        " FROM changed_customers s WHERE t.id = s.id"
                    )

                def delete_keys(batch=batch):
                    stored = cursor.execute(
                        "SELECT id FROM dedup_matchkey WHERE customer_id = ANY(%s)",
                        [batch["changed"]],
                    ).fetchall()
                    gone = [row[0] for row in stored if row[0] not in written["kept_keys"]]
                    cursor.execute("DELETE FROM dedup_matchkey WHERE id = ANY(%s)", [gone])

                def update_profiles(batch=batch):
                    cursor.execute("TRUNCATE changed_profiles")
                    _copy_in(cursor, "changed_profiles", batch["changed_profiles"])
                    cursor.execute(
                        "UPDATE dedup_matchprofile t SET profile = s.profile"
                        " FROM changed_profiles s WHERE t.customer_id = s.customer_id"
                    )

                step("customers, changed", update_customers)
                step("blocking keys, deleted", delete_keys)
                step("profiles, changed", update_profiles)
                step(
                    "customers, new",
                    lambda batch=batch: _copy_in(
                        cursor, "customers_customer", batch["new_customers"]
                    ),
                )
                for table in CHILD_TABLES:
                    step(table, lambda t=table, batch=batch: _copy_in(cursor, t, batch[t]))
                step(
                    "profiles, new",
                    lambda batch=batch: _copy_in(
                        cursor, "dedup_matchprofile", batch["new_profiles"]
                    ),
                )
                # The deferred foreign-key checks run here.
                step("commit", connection.commit)
        return {
            "seconds": time.perf_counter() - started,
            "processor_seconds": _processor_seconds(pid) - started_processor,
            "wall_by_step": dict(wall),
            "processor_by_step": dict(processor),
        }


def run(context) -> list[dict]:
    source = urllib.parse.urlsplit(context.database_url).path.lstrip("/")
    imported, replayed = f"{source}_floor_import", f"{source}_floor_replay"
    maintenance = _url(context.database_url, "postgres")
    path = context.results_dir / "import-100k.csv"
    made = make_import_file(context.database_url, path)
    with psycopg.connect(context.database_url) as connection:
        before = {
            table: connection.execute(
                sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in ID_TABLES
        }
    try:
        _copy_database(maintenance, source, imported)
        with psycopg.connect(maintenance) as connection:
            since = connection.execute("SELECT now()").fetchone()[0]
        env = {**context.env, "DATABASE_URL": _url(context.database_url, imported)}
        seconds, _stdout = timed_guanxi(env, "import", "customers", str(path), "--user", "admin")
        print(f"  imported {made['rows']:,} rows in {seconds:.1f} s ({made['rows'] / seconds:,.0f}"
              " rows/s) into one copy")  # fmt: skip
        with psycopg.connect(_url(context.database_url, imported)) as connection:
            written = _written_rows(connection, before, since)
        _drop_database(maintenance, imported)
        counts = {
            "new customers": len(written["new_customers"]),
            "changed customers": len(written["changed"]),
            **{table: len(written[table][1]) for table in CHILD_TABLES},
        }
        print("  rows written: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        _copy_database(maintenance, source, replayed)
        replay_url = _url(context.database_url, replayed)
        with psycopg.connect(replay_url, autocommit=True) as connection:
            # Start from a checkpoint, as the import did on its fresh copy.
            connection.execute("CHECKPOINT")
        result = replay(replay_url, written)
    finally:
        _drop_database(maintenance, imported)
        _drop_database(maintenance, replayed)
    by_step = sorted(result["processor_by_step"].items(), key=lambda item: -item[1])
    print(
        f"  replayed with COPY alone: {result['seconds']:.1f} s, the server process's processor"
        f" time {result['processor_seconds']:.1f} s; by step (processor s): "
        + ", ".join(f"{name} {value:.1f}" for name, value in by_step if value >= 0.05)
    )
    return [
        {
            "figure": "import 100k rows: PostgreSQL's writes alone (wall)",
            "role": "",
            "value": result["seconds"],
            "unit": "s",
            "target": made["rows"] / 5000.0,
            "better": "lower",
            **result,
            "rows_written": counts,
            "import_seconds": seconds,
        },
        {
            "figure": "import 100k rows: PostgreSQL's writes alone (server CPU)",
            "role": "",
            "value": result["processor_seconds"],
            "unit": "s",
            "target": made["rows"] / 5000.0,
            "better": "lower",
        },
    ]
