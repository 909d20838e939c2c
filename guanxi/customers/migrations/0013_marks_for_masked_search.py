"""Customers stored before get the marks their search text now ends with (``customers.search``):
each token of a field other than the phones that starts with digits again after ``#`` (and the
first four digits of the longer ones), and what the mask shows of each phone after ``~l`` (its
last four digits), ``~s`` (its country code and the first digits shown) and ``~w`` (the whole
number), by which the index answers a masked searcher's digits (``customers.masked_phone_search``).

On SQLite, the search table is made again with ``#`` and ``~`` among its token characters, so
that it keeps a mark whole (its tokenizer split on them before), and filled from the customers.

Only tokens are added, at the end of the text, and only rows that gain one are written. Rows are
read by primary key in batches and each batch is written in its own transaction, so the
migration holds the locks of one batch at a time, can be stopped and run again (a row that has
its marks gets nothing more), and never overwrites a customer changed while it runs: a row is
only written if its search text is still the one read. Servers still running the code before
this migration may save a customer without marks meanwhile; such a customer gets them at its
next save, and until then a masked searcher's digits miss it (never the other way round: a
customer without marks is never found by digits the mask hides).

Measured on the million-customer bench database, on a machine busy with other work: 26 minutes,
999,509 rows written (every customer with a phone), two minutes of it Python; a
``VACUUM (ANALYZE)`` of the table after it took 93 s, and ``REINDEX INDEX customer_search_tokens``
4.6 minutes (558 MB after it).

The rules are copied here as they were when this migration was written, so that it gives the
same result whatever the application code later becomes (the country codes come from the
installed phonenumbers library, as the application's do).
"""

import re
import unicodedata
from collections import defaultdict
from itertools import islice

import phonenumbers
from django.db import migrations, transaction

BATCH = 2000
MAX_TOKEN = 64
MAX_TAILS = 8
HEAD = 4
DIGITS = frozenset("0123456789")
FIELD_DIGITS_MARK = "#"
LAST_DIGITS_MARK = "~l"
SHOWN_START_MARK = "~s"
WHOLE_NUMBER_MARK = "~w"
LONG_NATIONAL_NUMBER = 10
LAST_DIGITS_SHOWN = 4
FIRST_DIGITS_SHOWN_OF_LONG = 3
FIRST_DIGITS_SHOWN_OF_SHORT = 2
COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_NUMBER_ALONE = re.compile(r"[-+0-9 ().]+")

_PUNCTUATION = ".@_+-"
_PIECES = re.compile(r"[.@_+\-]+")
_LOCAL_PIECES = re.compile(r"[._+\-]+")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUNS = re.compile(f"[{_HAN_CLASS}]+|[^{_HAN_CLASS}]+")
_HAN = re.compile(f"[{_HAN_CLASS}]")
_SPACES = re.compile(r"\s+")
_ID_PIECES = re.compile(r"\d+|[^\W\d_]+")
_REGISTRY_LABELS = frozenset(
    ["ac", "co", "com", "edu", "gov", "ltd", "mil", "ne", "net", "or", "org"]
)
_PLAIN_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)
_SPELLED_LETTERS = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ø": "oe",
        "å": "aa",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
    }
)
_SPELLABLE = re.compile("[äöüøåæœłđðþ]")


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


def _normalise(text):
    global _simplifier
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = _SPACES.sub(" ", text).strip().casefold()
    if not _HAN.search(text):
        return text
    if _simplifier is None:
        import opencc

        _simplifier = opencc.OpenCC("t2s")
    return _simplifier.convert(text)


def _chunks(text):
    chunks = (chunk.strip(_PUNCTUATION) for chunk in text.translate(_SEPARATORS).split())
    return [chunk for chunk in chunks if chunk]


def _other_spellings(text):
    if not text or text.isascii():
        return []
    lowered = unicodedata.normalize("NFKC", text).lower()
    if not _SPELLABLE.search(lowered):
        return []
    as_is = _normalise(text)
    forms = (_normalise(lowered.translate(table)) for table in (_PLAIN_LETTERS, _SPELLED_LETTERS))
    return [form for form in dict.fromkeys(forms) if form != as_is]


def _address_tokens(address):
    local, _at, domain = address.partition("@")
    tokens = [address, local, domain]
    pieces = [p for p in _LOCAL_PIECES.split(local) if p]
    if len(pieces) > 1:
        tokens += pieces
        tokens += [
            local[separator.end() :]
            for separator in islice(_LOCAL_PIECES.finditer(local), MAX_TAILS)
        ]
    for separator in islice(re.finditer(r"[.\-]+", domain), MAX_TAILS):
        tail = domain[separator.end() :]
        label, dot, _rest = tail.partition(".")
        if dot and label not in _REGISTRY_LABELS:
            tokens.append(tail)
    return tokens


def _text_tokens(text, run_together):
    """The tokens of a normalised text that may start with a digit, in the order the search
    adds them (those of Han runs and words joined by apostrophes never do)."""
    tokens, latin = [], []
    for chunk in _chunks(text):
        if "@" in chunk:
            tokens += _address_tokens(chunk)
            continue
        for run in _HAN_RUNS.findall(chunk):
            if _HAN.match(run):
                continue
            run = run.strip(_PUNCTUATION)
            if not run:
                continue
            tokens.append(run)
            pieces = [p for p in _PIECES.split(run) if p]
            if len(pieces) > 1:
                tokens += pieces
            latin += pieces
    if run_together and len(latin) > 1:
        tokens.append("".join(latin))
    return tokens


def _has_digits(text):
    return any(ch.isdigit() for ch in unicodedata.normalize("NFKC", text or ""))


def _written_tokens(text, run_together):
    if not _has_digits(text):  # no token of it can start with one; skip the normalising
        return []
    tokens = _text_tokens(_normalise(text), run_together)
    for form in _other_spellings(text):
        tokens += _text_tokens(form, run_together)
    return tokens


def _country_code_of(digits):
    for length in (1, 2, 3):
        if digits[:length] in COUNTRY_CODES:
            return digits[:length]
    return ""


def _phone_marks(number, display):
    digits = "".join(ch for ch in number or "" if ch.isdigit())[:MAX_TOKEN]
    if not digits:
        return []
    code = _country_code_of(digits)
    national = digits[len(code) or 3 :]
    long = len(national) >= LONG_NATIONAL_NUMBER
    marks = []
    if long and _NUMBER_ALONE.fullmatch(display or ""):
        marks.append(LAST_DIGITS_MARK + digits[-LAST_DIGITS_SHOWN:])
    if code:
        first_shown = FIRST_DIGITS_SHOWN_OF_LONG if long else FIRST_DIGITS_SHOWN_OF_SHORT
        marks += [
            SHOWN_START_MARK + code + national[:count]
            for count in range(min(first_shown, len(national)) + 1)
        ]
    marks.append(WHOLE_NUMBER_MARK + digits)
    return [mark[:MAX_TOKEN] for mark in marks]


def marks(*, name, company, phones, emails, tags, external_id):
    """The marks of a customer, in the order the search adds them."""
    tokens = _written_tokens(name, True) + _written_tokens(company, False)
    for address in emails:
        if _has_digits(address):
            tokens += _text_tokens(_normalise(address), False)
    for tag in tags:
        tokens += _written_tokens(tag, False)
    if external_id and _has_digits(external_id):
        normalised = _normalise(external_id)
        tokens += _text_tokens(normalised, False)
        pieces = _ID_PIECES.findall(normalised)
        if len(pieces) > 1:
            tokens += ["".join(pieces[start:]) for start in range(min(len(pieces), MAX_TAILS))]
    field = dict.fromkeys(
        (FIELD_DIGITS_MARK + token[:MAX_TOKEN])[:MAX_TOKEN]
        for token in tokens
        if token and token[0] in DIGITS
    )
    marked = len(FIELD_DIGITS_MARK)
    heads = [
        mark[: marked + HEAD]
        for mark in field
        if len(mark) > marked + HEAD and all(ch in DIGITS for ch in mark[marked:][:HEAD])
    ]
    field.update(dict.fromkeys(heads))
    shown = [mark for number, display in phones for mark in _phone_marks(number, display)]
    return list(dict.fromkeys([*field, *shown]))


SQLITE_TABLE = [
    "DROP TABLE customers_customer_search",
    "CREATE VIRTUAL TABLE customers_customer_search USING fts5(search_text,"
    " content='customers_customer', content_rowid='id',"
    " tokenize=\"ascii tokenchars '{}'\")",
    "INSERT INTO customers_customer_search(customers_customer_search) VALUES ('rebuild')",
]


def _make_sqlite_table(schema_editor, token_characters):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in SQLITE_TABLE:
            cursor.execute(statement.format(token_characters))


def sqlite_table_with_marks(apps, schema_editor):
    _make_sqlite_table(schema_editor, ".@_+-#~")


def sqlite_table_without_marks(apps, schema_editor):
    _make_sqlite_table(schema_editor, ".@_+-")


def _rows_of(model, db, ids, *fields, order):
    rows = defaultdict(list)
    for customer_id, *values in (
        model.objects.using(db)
        .filter(customer_id__in=ids)
        .order_by("customer_id", *order)
        .values_list("customer_id", *fields)
    ):
        rows[customer_id].append(values[0] if len(values) == 1 else tuple(values))
    return rows


def _rewrite(apps, schema_editor, new_text_of):
    Customer = apps.get_model("customers", "Customer")
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Customer.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list(
                "pk", "name", "company", "organization__name", "external_id", "search_text"
            )[:BATCH]
        )
        if not batch:
            break
        ids = [row[0] for row in batch]
        last = ids[-1]
        related = {
            "phones": _rows_of(
                apps.get_model("customers", "Phone"),
                db,
                ids,
                "number",
                "display",
                order=("-is_primary", "id"),
            ),
            "emails": _rows_of(
                apps.get_model("customers", "Email"), db, ids, "address", order=("-is_primary", "id")
            ),
            "tags": _rows_of(Customer.tags.through, db, ids, "tag__name", order=("tag__name",)),
        }
        updates = []
        for pk, name, company, organisation, external_id, text in batch:
            fields = {
                "name": name,
                "company": organisation or company or "",
                "external_id": external_id,
                **{key: rows[pk] for key, rows in related.items()},
            }
            new_text = new_text_of(text or "", fields)
            if new_text is not None:
                updates.append((new_text, pk, text))
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE customers_customer SET search_text = %s"
                    " WHERE id = %s AND search_text = %s",
                    updates,
                )
    if connection.vendor == "postgresql":
        # The planner estimates a search from the tokens' statistics, which know no mark yet.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")


def _with_marks(text, fields):
    tokens = dict.fromkeys(text.split())
    added = [mark for mark in marks(**fields) if mark not in tokens]
    return " ".join([*tokens, *added]) if added else None


def _without_marks(text, fields):
    tokens = text.split()
    kept = [token for token in tokens if not token.startswith(("#", "~"))]
    return " ".join(kept) if len(kept) < len(tokens) else None


def add_marks(apps, schema_editor):
    _rewrite(apps, schema_editor, _with_marks)


def remove_marks(apps, schema_editor):
    _rewrite(apps, schema_editor, _without_marks)


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [("customers", "0012_four_digit_heads")]

    operations = [
        migrations.RunPython(sqlite_table_with_marks, sqlite_table_without_marks),
        migrations.RunPython(add_marks, remove_marks, elidable=True),
    ]
