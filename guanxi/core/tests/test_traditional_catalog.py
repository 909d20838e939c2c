"""The Traditional Chinese catalogue is made from the Simplified one (``make messages`` runs
``guanxi.core.traditional_catalog``): only the translations change script, every message id,
plural form and placeholder is kept, and the committed catalogue is the one the committed
Simplified catalogue makes."""

import gettext
import re
import shutil
import subprocess

import pytest

from guanxi.core.traditional_catalog import SIMPLIFIED, TRADITIONAL, traditional_catalog

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


def _blocks(po: str) -> list[str]:
    return [block for block in po.split("\n\n") if "msgid" in block]


def _strings(block: str, keyword: str) -> dict[str, str]:
    """Each ``keyword`` string of ``block`` (``msgstr``, ``msgstr[0]``, ``msgid``...), joined
    over its lines."""
    found = {}
    for name, first, rest in re.findall(
        rf'^({keyword}(?:\[\d+\])?) "(.*)"\n?((?:".*"\n?)*)', block, re.M
    ):
        found[name] = first + "".join(re.findall(r'"(.*)"', rest))
    return found


def _real(msgid: str) -> str:
    """The Simplified catalogue's entry for ``msgid`` (a real one, not made up here)."""
    po = SIMPLIFIED.read_text(encoding="utf-8")
    [block] = [b for b in _blocks(po) if _strings(b, "msgid").get("msgid") == msgid]
    return block


def test_a_plural_entry_keeps_its_ids_forms_and_placeholder():
    entry = _real("%(customers)s of them never bought.")
    converted = traditional_catalog(entry)
    assert "#, python-format" in converted
    assert 'msgid_plural "%(customers)s of them never bought."' in converted
    assert 'msgstr[0] "其中 %(customers)s 個從未購買。"' in converted


def test_a_wrapped_translation_converts_whole_and_keeps_its_lines():
    entries = [b for b in _blocks(SIMPLIFIED.read_text(encoding="utf-8")) if 'msgstr ""\n"' in b]
    entry = next(b for b in entries if "%(" in b)
    converted = traditional_catalog(entry).split("\n", 1)[1]  # after the notice
    assert converted.count("\n") == entry.count("\n")
    assert _strings(converted, "msgid") == _strings(entry, "msgid")
    [(_name, before)] = _strings(entry, "msgstr").items()
    [(_name, after)] = _strings(converted, "msgstr").items()
    assert after != before and PLACEHOLDER.findall(after) == PLACEHOLDER.findall(before)


def test_format_placeholders_survive_though_no_message_uses_them_yet():
    # The catalogue has only %-style placeholders today; str.format ones must survive too.
    entry = (
        "#, python-brace-format\n"
        'msgid "{name} wrote {count} notes"\n'
        'msgstr "{name} 写了 {count} 条备注"\n'
    )
    assert 'msgstr "{name} 寫了 {count} 條備註"' in traditional_catalog(entry)


def test_every_entry_keeps_its_ids_and_placeholders():
    simplified = _blocks(SIMPLIFIED.read_text(encoding="utf-8"))
    traditional = _blocks(traditional_catalog(SIMPLIFIED.read_text(encoding="utf-8")))
    assert len(traditional) == len(simplified) > 1000
    changed = 0
    for before, after in zip(simplified[1:], traditional[1:], strict=True):
        for keyword in ("msgctxt", "msgid", "msgid_plural"):
            assert _strings(after, keyword) == _strings(before, keyword)
        old, new = _strings(before, "msgstr"), _strings(after, "msgstr")
        assert old.keys() == new.keys(), before
        for form, text in old.items():
            assert PLACEHOLDER.findall(new[form]) == PLACEHOLDER.findall(text), before
            changed += new[form] != text
    assert changed > len(simplified) / 2  # most Chinese sentences have a simplified character


def test_the_header_names_traditional_chinese():
    header = traditional_catalog(SIMPLIFIED.read_text(encoding="utf-8")).split("\n\n")[0]
    assert '"Language: zh_Hant\\n"' in header
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header
    assert "zh_Hans" not in header.replace("../../zh_Hans/", "")


def test_the_committed_catalogue_is_made_from_the_committed_simplified_one(tmp_path):
    expected = traditional_catalog(SIMPLIFIED.read_text(encoding="utf-8"))
    stale = (
        "The Traditional Chinese catalogue is not the one the Simplified catalogue makes: run "
        "`make messages` (or `python -m guanxi.core.traditional_catalog`, then "
        "`guanxi compilemessages -l zh_Hant` in guanxi/) and commit "
        "guanxi/locale/zh_Hant/LC_MESSAGES/django.po and django.mo."
    )
    assert TRADITIONAL.exists() and TRADITIONAL.read_text(encoding="utf-8") == expected, stale
    if shutil.which("msgfmt") is None:
        pytest.skip("GNU gettext is not installed to compile the catalogue")
    (tmp_path / "django.po").write_text(expected, encoding="utf-8")
    subprocess.run(["msgfmt", "-o", tmp_path / "django.mo", tmp_path / "django.po"], check=True)
    with (
        open(tmp_path / "django.mo", "rb") as fresh,
        open(TRADITIONAL.with_suffix(".mo"), "rb") as mo,
    ):
        assert gettext.GNUTranslations(mo)._catalog == gettext.GNUTranslations(fresh)._catalog, (
            stale
        )
