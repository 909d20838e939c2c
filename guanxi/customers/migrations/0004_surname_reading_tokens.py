"""People whose name starts with a character that reads differently as a surname (曾 céng in
曾经, Zēng as a surname) get the two search tokens of that reading (zengwei, zw), as a person
saved from now on does (``customers.search.SearchTokens.add_surname``).

Only the few names concerned are touched, in batches: about one person in a hundred. The rule
and its table are copied here as they were when this migration was written, so that it gives the
same result whatever the application code later becomes.
"""

import re
import unicodedata
from functools import reduce
from operator import or_

from django.db import migrations
from django.db.models import Q

BATCH = 2000
MAX_TOKEN = 64
HAN_WINDOW = 16
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "乐": "yue",
    "召": "shao",
    "种": "chong",
    "重": "chong",
    "秘": "bi",
    "员": "yun",
    "句": "gou",
    "繁": "po",
    "祭": "zhai",
    "折": "she",
    "隗": "wei",
    "洗": "xian",
    "能": "nai",
    "佴": "nai",
    "都": "du",
    "粘": "nian",
    "番": "pan",
    "阚": "kan",
    "乜": "nie",
    "蔚": "yu",
    "炅": "gui",
}
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN_CLASS}]+")
_SPACES = re.compile(r"\s+")
_simplifier = None


def _normalise(text):
    global _simplifier
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = _SPACES.sub(" ", text).strip().casefold()
    if not _HAN_RUN.search(text):
        return text
    if _simplifier is None:
        import opencc

        _simplifier = opencc.OpenCC("t2s")
    return _simplifier.convert(text)


def _syllables(run):
    from pypinyin import lazy_pinyin

    def blank(chars):
        return [""] * len(chars)

    syllables = lazy_pinyin(run, errors=blank)
    if len(syllables) != len(run):
        syllables = [(lazy_pinyin(char, errors=blank) or [""])[0] for char in run]
    return [s if s.isascii() else _normalise(s) for s in syllables]


def surname_tokens(name):
    match = _HAN_RUN.search(_normalise(name))
    reading = SURNAME_READINGS.get(match.group()[0]) if match else None
    if reading is None:
        return []
    syllables = _syllables(match.group())
    if syllables[0] == reading:
        return []
    tokens = [
        reading + "".join(syllables[1:HAN_WINDOW]),
        reading[0] + "".join(s[:1] for s in syllables[1:]),
    ]
    return [token[:MAX_TOKEN] for token in tokens]


def _written_forms():
    """The table's characters as they may be stored: simplified, or in a traditional form
    (單 for 单) that normalising turns into them."""
    import opencc

    forms = set(SURNAME_READINGS)
    for config in ("s2t", "s2tw", "s2hk"):
        converter = opencc.OpenCC(config)
        forms |= {converter.convert(char) for char in SURNAME_READINGS}
    return sorted(forms)


def add_surname_tokens(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    connection = schema_editor.connection
    db = connection.alias
    concerned = reduce(or_, (Q(name__contains=char) for char in _written_forms()))
    people = Customer.objects.using(db).filter(concerned, party_type="person").order_by("pk")
    last = 0
    while True:
        batch = list(people.filter(pk__gt=last).values_list("pk", "name", "search_text")[:BATCH])
        if not batch:
            return
        last = batch[-1][0]
        updates = []
        for pk, name, text in batch:
            tokens = text.split()
            added = [token for token in surname_tokens(name) if token not in tokens]
            if added:
                updates.append((" ".join([*tokens, *added]), pk))
        if updates:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE customers_customer SET search_text = %s WHERE id = %s", updates
                )


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_fewer_indexes")]

    operations = [
        migrations.RunPython(add_surname_tokens, migrations.RunPython.noop, elidable=True)
    ]
