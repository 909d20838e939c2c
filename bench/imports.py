"""Import figures (section ``import`` of ``make bench``).

``guanxi import customers FILE --dedup auto`` of a 100,000-row CSV into a copy of the bench
database (``CREATE DATABASE … TEMPLATE``, so the bench database itself is never changed and the
next run starts from the same state), timed from process start to exit. The file is made from the
database the way such files look: 10 % rows carry the ERP id of an organisation already there
(updates), 15 % are people already there typed again without an id — name in traditional
characters or pinyin, phones in another format, emails in capitals, some fields left out
(duplicates to merge or queue) — and 75 % are new customers from the generated Chinese data set.
Target ≥ 5,000 rows/s.

A template database cannot have other connections, so ``bench/run.py`` runs this section after
the server has stopped.
"""

import csv
import random
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg

from bench.run import timed_guanxi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IMPORT_TARGET_ROWS_PER_SECOND = 5000.0
IMPORT_ROWS = 100_000


# --- the import file -----------------------------------------------------------------------


def _existing(database_url: str, count: int, seed: int, *, party_type: str) -> list[dict]:
    """Random customers of the database with their contact details."""
    with psycopg.connect(database_url) as connection:
        low, high = connection.execute("SELECT min(id), max(id) FROM customers_customer").fetchone()
        rng = random.Random(seed)
        ids = rng.sample(range(low, high + 1), min(count * 12, high - low + 1))
        rows = connection.execute(
            """
            SELECT c.id, c.name, c.external_id, COALESCE(o.name, c.company), c.birth_date,
                   (SELECT string_agg(p.number, ';') FROM customers_phone p
                    WHERE p.customer_id = c.id),
                   (SELECT string_agg(e.address, ';') FROM customers_email e
                    WHERE e.customer_id = c.id),
                   (SELECT a.city FROM customers_address a WHERE a.customer_id = c.id LIMIT 1),
                   (SELECT a.postcode FROM customers_address a
                    WHERE a.customer_id = c.id LIMIT 1)
            FROM customers_customer c
            LEFT JOIN customers_customer o ON o.id = c.organization_id
            WHERE c.id = ANY(%s) AND c.deleted_at IS NULL AND c.party_type = %s
              AND (c.external_id IS NOT NULL OR %s = 'person')
            """,
            [ids, party_type, party_type],
        ).fetchall()
    keys = ("id", "name", "external_id", "company", "birth_date", "phones", "emails", "city",
            "postcode")  # fmt: skip
    found = [dict(zip(keys, row, strict=True)) for row in rows]
    rng.shuffle(found)
    return found[:count]


def make_import_file(database_url: str, path: Path, rows: int = IMPORT_ROWS, seed: int = 1) -> dict:
    from guanxi.dedup.datasets import chinese

    rng = random.Random(seed)
    # Organisations carry the demo's ERP ids; people are the ones typed again by hand.
    updates = _existing(database_url, int(rows * 0.10), seed, party_type="organization")
    retyped = _existing(database_url, int(rows * 0.15), seed + 1, party_type="person")
    new = chinese.generate(
        entities=rows - len(updates) - len(retyped), duplicate_share=0, seed=seed
    )
    header = ["external_id", "party_type", "name", "company", "phone", "email", "birth_date",
              "city", "postcode", "tags"]  # fmt: skip
    lines = []
    for customer in updates:
        lines.append(
            [customer["external_id"], "organization", customer["name"], "",
             customer["phones"] or "", customer["emails"] or "", customer["birth_date"] or "",
             customer["city"] or "", customer["postcode"] or "", "导入2026"]
        )  # fmt: skip
    for customer in retyped:
        name = customer["name"]
        roll = rng.random()
        if roll < 0.3:
            name = chinese._traditional(name)
        phones = [
            chinese._format_mobile(p[3:], rng) if p.startswith("+861") else p
            for p in (customer["phones"] or "").split(";")
            if p and rng.random() < 0.8
        ]
        emails = [
            e.upper() if rng.random() < 0.3 else e
            for e in (customer["emails"] or "").split(";")
            if e and rng.random() < 0.7
        ]
        lines.append(
            ["", "person", name, customer["company"] or "", ";".join(phones), ";".join(emails),
             customer["birth_date"] or "" if rng.random() < 0.5 else "",
             customer["city"] or "", "", ""]
        )  # fmt: skip
    for customer in new:
        address = customer.addresses[0] if customer.addresses else {}
        lines.append(
            ["", customer.party_type, customer.name, customer.company, ";".join(customer.phones),
             ";".join(customer.emails), customer.birth_date or "", address.get("city", ""),
             address.get("postcode", ""), ""]
        )  # fmt: skip
    rng.shuffle(lines)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(lines)
    return {"rows": len(lines), "updates": len(updates), "retyped": len(retyped), "new": len(new)}


def _copy_url(database_url: str, name: str) -> str:
    return urllib.parse.urlsplit(database_url)._replace(path=f"/{name}").geturl()


def run(context) -> list[dict]:
    source = urllib.parse.urlsplit(context.database_url).path.lstrip("/")
    copy = f"{source}_import"
    maintenance = _copy_url(context.database_url, "postgres")
    path = context.results_dir / "import-100k.csv"
    made = make_import_file(context.database_url, path)
    print(
        f"  import file: {made['rows']:,} rows ({made['updates']:,} with an existing ERP id, "
        f"{made['retyped']:,} existing customers typed again, {made['new']:,} new)"
    )
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        started = time.monotonic()
        connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
        print(f"  copied the database in {time.monotonic() - started:.0f} s")
    env = {**context.env, "DATABASE_URL": _copy_url(context.database_url, copy)}
    try:
        seconds, stdout = timed_guanxi(
            env, "import", "-v", "2", "customers", str(path), "--user", "admin"
        )
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    print("  " + stdout.strip().replace("\n", "\n  "))
    return [
        {
            "figure": "import 100k rows, dedup auto (rate)",
            "role": "",
            "value": made["rows"] / seconds,
            "unit": "rows/s",
            "target": IMPORT_TARGET_ROWS_PER_SECOND,
            "better": "higher",
            "seconds": seconds,
            "file": made,
            "output": stdout,
        }
    ]
