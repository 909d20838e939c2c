"""Customer search from an index: search_text becomes a set of tokens matched by prefix.

1. Every customer's search_text is rebuilt in the token format (in batches).
2. PostgreSQL: a GIN index on the tokens as a tsvector (array_to_tsvector takes them verbatim,
   so no text-search configuration or database locale is involved) and the account manager,
   with a larger statistics sample so that the planner knows how rare most tokens are.
   SQLite: an FTS5 table over search_text, kept in step by triggers, filled from the rows.

The token builder is copied here as it was when this migration was written: a migration must
give the same result whatever the application code later becomes.
"""

import re
import unicodedata
from collections import defaultdict
from functools import lru_cache

from django.db import migrations

BATCH = 2000

# --- the token builder, as of this migration ---------------------------------------------

MAX_TOKEN = 64
HAN_WINDOW = 16
_PUNCTUATION = ".@_+-"
_PIECES = re.compile(r"[.@_+\-]+")
_LOCAL_PIECES = re.compile(r"[._+\-]+")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUNS = re.compile(f"[{_HAN_CLASS}]+|[^{_HAN_CLASS}]+")
_HAN = re.compile(f"[{_HAN_CLASS}]")
_HAN_ONLY_RUNS = re.compile(f"[{_HAN_CLASS}]{{2,}}")
_SPACES = re.compile(r"\s+")


class _Separators(dict):
    def __missing__(self, code):
        char = chr(code)
        category = unicodedata.category(char)
        keep = category[0] in "LNM" or category == "Co" or char in _PUNCTUATION
        value = code if keep else " "
        self[code] = value
        return value


_SEPARATORS = _Separators()
_simplifier = None


def _fold(text):
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return _SPACES.sub(" ", text).strip().casefold()


def _normalise(text):
    global _simplifier
    text = _fold(text)
    if not _HAN.search(text):
        return text
    if _simplifier is None:
        import opencc

        _simplifier = opencc.OpenCC("t2s")
    return _simplifier.convert(text)


@lru_cache(maxsize=8192)
def _syllables(run):
    from pypinyin import lazy_pinyin

    def blank(chars):
        return [""] * len(chars)

    syllables = lazy_pinyin(run, errors=blank)
    if len(syllables) != len(run):
        syllables = [(lazy_pinyin(char, errors=blank) or [""])[0] for char in run]
    return tuple(s if s.isascii() else _fold(s) for s in syllables)


class _Tokens:
    def __init__(self):
        self.tokens = {}

    def add(self, token):
        if token:
            self.tokens[token[:MAX_TOKEN]] = None

    def add_han(self, run, syllables, pinyin_pairs):
        for start in range(len(run)):
            self.add(run[start : start + HAN_WINDOW])
            self.add("".join(syllables[start : start + HAN_WINDOW]))
        self.add("".join(s[:1] for s in syllables))
        for start in range(len(run) - 2):
            self.add(run[start : start + 2])
            if pinyin_pairs:
                self.add(syllables[start] + syllables[start + 1])

    def add_text(self, text, run_together=False, pinyin_pairs=True):
        latin = []
        for chunk in text.translate(_SEPARATORS).split():
            chunk = chunk.strip(_PUNCTUATION)
            if not chunk:
                continue
            if "@" in chunk:
                local, _at, domain = chunk.partition("@")
                for token in (chunk, local, domain):
                    self.add(token)
                pieces = [p for p in _LOCAL_PIECES.split(local) if p]
                if len(pieces) > 1:
                    for piece in pieces:
                        self.add(piece)
                for han in _HAN_ONLY_RUNS.findall(chunk):
                    for start in range(len(han) - 1):
                        self.add(han[start : start + 2])
                continue
            for run in _HAN_RUNS.findall(chunk):
                if _HAN.match(run):
                    self.add_han(run, _syllables(run), pinyin_pairs)
                    continue
                run = run.strip(_PUNCTUATION)
                if not run:
                    continue
                self.add(run)
                pieces = [p for p in _PIECES.split(run) if p]
                if len(pieces) > 1:
                    for piece in pieces:
                        self.add(piece)
                latin += pieces
        if run_together and len(latin) > 1:
            self.add("".join(latin))

    def add_phone(self, number):
        digits = "".join(ch for ch in number or "" if ch.isdigit())[:MAX_TOKEN]
        if not digits:
            return
        self.add(digits)
        for i in range(len(digits) - 3):
            self.add(digits[i : i + 4])


def search_text(*, name, company, phones, emails, tags, external_id):
    tokens = _Tokens()
    tokens.add_text(_normalise(name), run_together=True)
    tokens.add_text(_normalise(company), pinyin_pairs=False)
    for number in phones:
        tokens.add_phone(number)
    for address in emails:
        tokens.add_text(_normalise(address))
    for tag in tags:
        tokens.add_text(_normalise(tag))
    if external_id:
        tokens.add_text(_normalise(external_id))
    return " ".join(tokens.tokens)


# --- operations --------------------------------------------------------------------------


def rebuild_search_text(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Phone = apps.get_model("customers", "Phone")
    Email = apps.get_model("customers", "Email")
    CustomerTag = Customer.tags.through
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Customer.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "name", "company", "organization__name", "external_id")[:BATCH]
        )
        if not batch:
            return
        ids = [row[0] for row in batch]
        last = ids[-1]
        phones, emails, tags = defaultdict(list), defaultdict(list), defaultdict(list)
        for customer_id, number in (
            Phone.objects.using(db)
            .filter(customer_id__in=ids)
            .order_by("-is_primary", "id")
            .values_list("customer_id", "number")
        ):
            phones[customer_id].append(number)
        for customer_id, address in (
            Email.objects.using(db)
            .filter(customer_id__in=ids)
            .order_by("-is_primary", "id")
            .values_list("customer_id", "address")
        ):
            emails[customer_id].append(address)
        for customer_id, tag in (
            CustomerTag.objects.using(db)
            .filter(customer_id__in=ids)
            .order_by("tag__name")
            .values_list("customer_id", "tag__name")
        ):
            tags[customer_id].append(tag)
        updates = [
            (
                search_text(
                    name=name,
                    company=organisation or company or "",
                    phones=phones[pk],
                    emails=emails[pk],
                    tags=tags[pk],
                    external_id=external_id,
                ),
                pk,
            )
            for pk, name, company, organisation, external_id in batch
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE customers_customer SET search_text = %s WHERE id = %s", updates
            )


POSTGRES_CREATE = [
    # btree_gin lets a GIN index hold a plain column beside the tokens. A sales rep sees the
    # customers of a handful of owners (some 15% of all); with owner_id in the index, their
    # search intersects the two inside the index and reads only the rows they may see, where
    # otherwise every match would be fetched from the table first and most thrown away
    # (measured on a million customers: p95 of a phone fragment 51 -> 11 ms, of a two-character
    # name fragment 64 -> 24 ms for the rep). btree_gin is a trusted extension: the database
    # owner may create it.
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX customer_search_tokens ON customers_customer USING gin"
    " ((array_to_tsvector(array_remove(string_to_array(search_text, ' '), ''))), owner_id)",
    # Most tokens are rare (an address, a run of phone digits). With the default sample the
    # least common token the statistics know still matches ~1% of customers, so the planner
    # takes any rare search to match 0.5% and reads the newest customers one by one until a
    # page is full — for a search that matches one customer, the whole table (measured: every
    # search class on a million customers went that way, 50-1000 ms). A sample of 300 knows
    # tokens ten times rarer; 200 was already enough there, ANALYZE takes 2-5 s.
    "ALTER INDEX customer_search_tokens ALTER COLUMN 1 SET STATISTICS 300",
    "ANALYZE customers_customer",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS customer_search_tokens"]

SQLITE_CREATE = [
    # The ascii tokenizer splits only on ASCII characters other than letters, digits and the
    # token characters: search_text is already folded and split into tokens, so FTS5 must keep
    # them as they are (unicode61 would also split on characters its Unicode 6.1 tables do not
    # know).
    "CREATE VIRTUAL TABLE customers_customer_search USING fts5(search_text,"
    " content='customers_customer', content_rowid='id',"
    " tokenize=\"ascii tokenchars '.@_+-'\")",
    "CREATE TRIGGER customers_customer_search_insert AFTER INSERT ON customers_customer BEGIN"
    " INSERT INTO customers_customer_search(rowid, search_text)"
    " VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER customers_customer_search_delete AFTER DELETE ON customers_customer BEGIN"
    " INSERT INTO customers_customer_search(customers_customer_search, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER customers_customer_search_update AFTER UPDATE OF search_text"
    " ON customers_customer BEGIN"
    " INSERT INTO customers_customer_search(customers_customer_search, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO customers_customer_search(rowid, search_text)"
    " VALUES (new.id, new.search_text); END",
    "INSERT INTO customers_customer_search(customers_customer_search) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS customers_customer_search_insert",
    "DROP TRIGGER IF EXISTS customers_customer_search_delete",
    "DROP TRIGGER IF EXISTS customers_customer_search_update",
    "DROP TABLE IF EXISTS customers_customer_search",
]


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def create_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_CREATE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_CREATE)


def drop_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_DROP)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(rebuild_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
