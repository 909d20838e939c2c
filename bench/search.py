"""Customer search figures (``make bench BENCH_ARGS=--only=search``): the search box of the API.

``GET /api/v1/customers?q=…`` over real HTTP against the running server, as the rep, the manager
and the administrator, for four kinds of query drawn at random (seeded) from the bench data:

* a two-character fragment of a real customer's Chinese name (张伟, 建华, 华瑞, 有限…),
* the full pinyin of a real person's Chinese name (zhangwei),
* the last four digits of a real phone number,
* a real email address.

The same queries are asked as every user; what each finds differs with what they may see.
Each kind is measured like the other API figures (warm-up, then runs of ``--requests``; medians
of ``--repeats`` runs), target p95 ≤ 50 ms.
"""

import json
import random
import re
import urllib.parse

import psycopg
from pypinyin import lazy_pinyin

from bench.run import ROLES, SEED, Client, measure

TARGET_P95_MS = 50.0
KINDS = {
    "chinese_2": "search API: Chinese 2-character",
    "pinyin": "search API: pinyin of a name",
    "phone_last4": "search API: phone, last 4 digits",
    "email": "search API: email address",
}
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def sample_queries(database_url: str, count: int, seed: int = SEED) -> dict[str, list[str]]:
    """``count`` queries of each kind, from customers, phones and emails picked at random."""
    rng = random.Random(seed)
    queries: dict[str, list[str]] = {kind: [] for kind in KINDS}
    with psycopg.connect(database_url) as connection:

        def rows(table: str, columns: str) -> list[tuple]:
            low, high = connection.execute(f"SELECT min(id), max(id) FROM {table}").fetchone()  # noqa: S608
            ids = [rng.randint(low, high) for _ in range(count * 2)]
            return connection.execute(
                f"SELECT {columns} FROM {table} WHERE id = ANY(%s) ORDER BY id",  # noqa: S608
                [ids],
            ).fetchall()

        while min(len(queries["chinese_2"]), len(queries["pinyin"])) < count:
            for name, party_type in rows("customers_customer", "name, party_type"):
                runs = _HAN_RUN.findall(name)
                if not runs:
                    continue
                run = rng.choice(runs)
                start = rng.randrange(len(run) - 1)
                queries["chinese_2"].append(run[start : start + 2])
                if party_type == "person" and len(runs) == 1 and run == name:
                    queries["pinyin"].append("".join(lazy_pinyin(run)))
        while len(queries["phone_last4"]) < count:
            queries["phone_last4"] += [n[-4:] for (n,) in rows("customers_phone", "number")]
        while len(queries["email"]) < count:
            queries["email"] += [a for (a,) in rows("customers_email", "address")]
    for kind, items in queries.items():
        rng.shuffle(items)
        queries[kind] = items[:count]
    return queries


def _path(query: str) -> str:
    return "/api/v1/customers?" + urllib.parse.urlencode({"q": query})


def _found_share(client: Client, queries: list[str]) -> float:
    """Share of the queries that find at least one customer (for the record, not timed)."""
    found = 0
    for query in queries:
        _elapsed, content = client.get_ok(_path(query))
        found += bool(json.loads(content)["items"])
    return found / len(queries)


def run(context) -> list[dict]:
    """The section entry point of ``bench/run.py``."""
    args = context.args
    queries = sample_queries(context.database_url, count=args.requests)
    for kind, items in queries.items():
        print(f"  {KINDS[kind]}: e.g. {', '.join(items[:6])}")
    figures = []
    for role in ROLES:
        subject = context.subjects[role]
        client = Client(context.port, {"Authorization": f"Bearer {subject.token}"})
        for kind, items in queries.items():
            found = _found_share(client, items[:50])
            result = measure(
                client,
                [_path(q) for q in items],
                requests=args.requests,
                repeats=args.repeats,
            )
            figures.append(
                {
                    "figure": KINDS[kind],
                    "role": role,
                    "target_p95_ms": TARGET_P95_MS,
                    "queries": len(items),
                    "share_found": found,
                    **result,
                }
            )
            print(
                f"  {role:<8} {KINDS[kind]:<34} p50 {result['p50']:5.1f}  p95 "
                f"{result['p95']:5.1f}  p99 {result['p99']:5.1f} ms  ({found:.0%} find someone)",
                flush=True,
            )
        client.close()
    return figures
