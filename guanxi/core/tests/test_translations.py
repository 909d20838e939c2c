"""The Chinese catalogue covers every message of the interface.

The catalogue is regenerated from the current sources in a scratch copy of the package (the
same ``makemessages`` run as ``make messages``) and must then have no untranslated or fuzzy
entry, so adding an English message without its Chinese text fails here rather than in front of
a Chinese-speaking user.
"""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]


def _entries(po_text: str) -> list[tuple[str, str, bool]]:
    entries = []
    for block in po_text.split("\n\n"):
        msgid = re.search(r'^msgid "(.*)"', block, re.M)
        if not msgid or (msgid.group(1) == "" and 'msgid ""\n"' not in block):
            continue  # the header
        strings = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, re.M)
        text = "".join(re.findall(r'"(.*)"', "".join(strings)))
        entries.append((block, text, "fuzzy" in (re.search(r"^#,.*$", block, re.M) or [""])[0]))
    return entries


@pytest.fixture(scope="module")
def regenerated_catalogue(tmp_path_factory) -> str:
    """The Chinese catalogue as ``make messages`` would write it from the current sources."""
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext is not installed")
    copy = tmp_path_factory.mktemp("messages") / "guanxi"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--no-location",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "guanxi.settings.test", "PATH": "/usr/bin:/bin"},
    )
    return (copy / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")


def _keys(po_text: str) -> set[tuple[str, str]]:
    """Each entry's context and message, as the catalogue writes them."""
    keys = set()
    for block, _text, _fuzzy in _entries(po_text):
        context = re.search(r'^msgctxt "(.*)"$', block, re.MULTILINE)
        msgid = "".join(re.findall(r'"(.*)"', block.split("msgid ", 1)[1].split("msgstr")[0]))
        keys.add((context.group(1) if context else "", msgid))
    return keys


def test_every_message_has_a_chinese_translation(regenerated_catalogue):
    missing = [block for block, text, fuzzy in _entries(regenerated_catalogue) if not text or fuzzy]
    assert not missing, (
        "Messages without a Chinese translation (run `make messages` and translate them in "
        "guanxi/locale/zh_Hans/LC_MESSAGES/django.po):\n\n" + "\n\n".join(missing)
    )


def test_make_messages_keeps_every_translation(regenerated_catalogue):
    """A translation the code no longer marks is dropped by the next ``make messages``: words
    of another package that Guanxi translates must be marked in Guanxi's code (as
    ``guanxi/scheduling/tasks_app.py`` does), and a message no code uses any more is removed
    from the catalogue, so that the catalogue holds what running it gives."""
    committed = (PACKAGE / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    dropped = sorted(_keys(committed) - _keys(regenerated_catalogue))
    assert not dropped, f"`make messages` would drop these translations: {dropped[:10]}"


def test_the_compiled_catalogue_matches_the_source():
    """django.mo is what Django reads; it must say what django.po says."""
    locale = PACKAGE / "locale/zh_Hans/LC_MESSAGES"
    with (locale / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    stale = []
    for block, text, fuzzy in _entries((locale / "django.po").read_text(encoding="utf-8")):
        msgid = "".join(re.findall(r'"(.*)"', block.split("msgid ", 1)[1].split("msgstr")[0]))
        if "msgid_plural" in block or fuzzy:
            continue
        key = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        context = re.search(r'^msgctxt "(.*)"$', block, re.MULTILINE)
        if context:  # gettext keys a message with a context as "context\x04message"
            key = f"{context.group(1)}\x04{key}"
        value = text.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        if catalog.get(key) != value:
            stale.append(msgid)
    assert not stale, f"django.mo is out of date (run `make messages`): {stale[:5]}"
