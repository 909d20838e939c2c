"""Customers stored before get the search tokens that let the search find what people type
otherwise than it was saved, as a customer saved from now on has them (``customers.search``):

* words joined by apostrophes run together (O'Brien: obrien);
* names, companies and tags also in the spellings without letters keyboards lack (Müller:
  mueller; Søren: soren, soeren);
* an email's local part from each piece on (li.wei_88: wei_88) and its domain from each label
  or hyphenated word on (pacific-rim.com: rim.com);
* an external id's letters and digits run together from each part on (ERP-2024-0001:
  erp20240001, 20240001).

Only tokens are added; none of the existing ones (pinyin above all, the slow part of building
them) is computed again, and only rows that gain a token are written. Rows are read by primary
key in batches and each batch is written in its own transaction, so the migration holds the
locks of one batch at a time, can be stopped and run again (a row that has its tokens gets
nothing more), and never overwrites a customer changed while it runs: a row is only written if
its search text is still the one read.

Measured on demo databases: 5,000 customers on SQLite, 1.1 s (2,399 rows written); 50,000 on
PostgreSQL, 21 s (24,306 rows written, the search index updated with them). Linear in the
number of customers, so a million take about seven minutes on PostgreSQL, during which searches
and edits go on (each batch's rows are locked for a fraction of a second). The stored text grows
by under 2% (452 to 460 characters a customer on average), the index by about 3% once rebuilt
(``REINDEX INDEX customer_search_tokens`` after the migration gives back the space the updates
leave behind).

The rules are copied here as they were when this migration was written, so that it gives the
same result whatever the application code later becomes.
"""

import re
import unicodedata
from collections import defaultdict
from itertools import islice

from django.db import migrations, transaction

BATCH = 2000
MAX_TOKEN = 64
MAX_TAILS = 8
_PUNCTUATION = ".@_+-"
_PIECES = re.compile(r"[.@_+\-]+")
_LOCAL_PIECES = re.compile(r"[._+\-]+")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUNS = re.compile(f"[{_HAN_CLASS}]+|[^{_HAN_CLASS}]+")
_HAN = re.compile(f"[{_HAN_CLASS}]")
_HAN_ONLY_RUNS = re.compile(f"[{_HAN_CLASS}]{{2,}}")
_SPACES = re.compile(r"\s+")
_APOSTROPHES = re.compile("['\u2018\u2019\u02bc]")
_LETTER = rf"(?:(?![{_HAN_CLASS}])[^\W\d_])"
_APOSTROPHE_WORDS = re.compile(f"{_LETTER}+(?:{_APOSTROPHES.pattern}{_LETTER}+)+")
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


def _apostrophe_words(text):
    return [_APOSTROPHES.sub("", match.group()) for match in _APOSTROPHE_WORDS.finditer(text)]


def _address_tokens(address):
    """Every token of an address, the tails included."""
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
    for run in _HAN_ONLY_RUNS.findall(address):
        tokens += [run[start : start + 2] for start in range(len(run) - 1)]
    return tokens


def _addresses_in(text):
    """The tokens of the addresses in a normalised text that is no email field: a name, company,
    tag or external id saved as an address (li.wei_88@example.com) has their tails too."""
    if "@" not in text:
        return []
    return [token for chunk in _chunks(text) if "@" in chunk for token in _address_tokens(chunk)]


def _text_tokens(text, run_together):
    """The tokens of a normalised text, except those of its runs of Han characters (which the
    other spellings of a text share with the text itself)."""
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
    tokens += _apostrophe_words(text)
    if run_together and len(latin) > 1:
        tokens.append("".join(latin))
    return tokens


def new_tokens(*, name, company, emails, tags, external_id):
    """The tokens a customer gets now that it did not get before."""
    tokens = []
    written = [(name, True), (company, False), *((tag, False) for tag in tags)]
    for text, run_together in written:
        normalised = _normalise(text)
        tokens += _apostrophe_words(normalised)
        tokens += _addresses_in(normalised)
        for form in _other_spellings(text):
            tokens += _text_tokens(form, run_together)
    for address in emails:
        normalised = _normalise(address)
        tokens += _apostrophe_words(normalised)
        for chunk in _chunks(normalised):
            if "@" in chunk:
                tokens += _address_tokens(chunk)
    if external_id:
        normalised = _normalise(external_id)
        tokens += _apostrophe_words(normalised)
        tokens += _addresses_in(normalised)
        pieces = _ID_PIECES.findall(normalised)
        if len(pieces) > 1:
            tokens += ["".join(pieces[start:]) for start in range(min(len(pieces), MAX_TAILS))]
    return [token[:MAX_TOKEN] for token in tokens if token]


def add_tokens(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
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
            .values_list(
                "pk", "name", "company", "organization__name", "external_id", "search_text"
            )[:BATCH]
        )
        if not batch:
            return
        ids = [row[0] for row in batch]
        last = ids[-1]
        emails, tags = defaultdict(list), defaultdict(list)
        for customer_id, address in (
            Email.objects.using(db)
            .filter(customer_id__in=ids)
            .values_list("customer_id", "address")
        ):
            emails[customer_id].append(address)
        for customer_id, tag in (
            CustomerTag.objects.using(db)
            .filter(customer_id__in=ids)
            .values_list("customer_id", "tag__name")
        ):
            tags[customer_id].append(tag)
        updates = []
        for pk, name, company, organisation, external_id, text in batch:
            tokens = dict.fromkeys(text.split())
            added = new_tokens(
                name=name,
                company=organisation or company or "",
                emails=emails[pk],
                tags=tags[pk],
                external_id=external_id,
            )
            added = [token for token in dict.fromkeys(added) if token not in tokens]
            if added:
                updates.append((" ".join([*tokens, *added]), pk, text))
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE customers_customer SET search_text = %s"
                    " WHERE id = %s AND search_text = %s",
                    updates,
                )


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [("customers", "0004_surname_reading_tokens")]

    operations = [migrations.RunPython(add_tokens, migrations.RunPython.noop, elidable=True)]
