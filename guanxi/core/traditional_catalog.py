"""The Traditional Chinese catalogue, made from the Simplified one: ``make messages`` runs
``python -m guanxi.core.traditional_catalog`` after refreshing zh_Hans, and both files it
writes (the .po and, through ``compilemessages``, the .mo) are committed.

Only the translations change: each ``msgstr`` (each plural form on its own) is turned into
Traditional characters with OpenCC, whole, so that a phrase wrapped over two lines converts as
one. Message ids, comments and flags are copied as they are, so gettext finds every message,
and placeholders (``%(name)s``, ``{name}``) are ASCII, which OpenCC leaves alone.

OpenCC's ``s2t`` (characters and the phrases that decide them: 头发 to 頭髮 but 发票 to 發票),
not ``s2twp``: zh-hant is what readers in Taiwan, Hong Kong and Macau are written to alike
(``zh-tw``, ``zh-hk`` and ``zh-mo`` all match it), and ``s2twp`` would also swap words for
Taiwan's (软件 to 軟體, 默认 to 預設), which read as Taiwanese in Hong Kong. The script alone is
what every reader of Traditional shares.
"""

import re
import sys
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[1] / "locale"
SIMPLIFIED = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
TRADITIONAL = LOCALE / "zh_Hant" / "LC_MESSAGES" / "django.po"

OPENCC_CONFIG = "s2t"

_MSGSTR = re.compile(r'^(msgstr(?:\[\d+\])?) "(.*)"$')
_CONTINUATION = re.compile(r'^"(.*)"$')

# The header and first comment say which catalogue this is; the rest is the Simplified one's.
_HEADER = (
    ("# Simplified Chinese translation of Guanxi.", "# Traditional Chinese translation of Guanxi."),
    ('"Language-Team: Chinese (Simplified)\\n"', '"Language-Team: Chinese (Traditional)\\n"'),
    ('"Language: zh_Hans\\n"', '"Language: zh_Hant\\n"'),
)
NOTICE = (
    "# Made from ../../zh_Hans/LC_MESSAGES/django.po by `make messages`"
    f" (OpenCC {OPENCC_CONFIG}): edit that file, not this one."
)


def traditional_catalog(simplified_po: str, convert=None) -> str:
    """The text of the Traditional Chinese .po made from ``simplified_po``, the Simplified
    one's text; ``convert`` turns Simplified text into Traditional (OpenCC's by default)."""
    if convert is None:
        import opencc

        convert = opencc.OpenCC(f"{OPENCC_CONFIG}.json").convert
    lines = simplified_po.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        matched = _MSGSTR.match(line)
        if not matched:
            out.append(line)
            i += 1
            continue
        # One translation: its keyword line and the continuation lines that follow it.
        pieces = [matched.group(2)]
        i += 1
        while i < len(lines) and (more := _CONTINUATION.match(lines[i])):
            pieces.append(more.group(1))
            i += 1
        whole = "".join(pieces)
        converted = convert(whole)
        if len(converted) == len(whole):
            # Wrapped where the Simplified one is, so the two files read side by side.
            split, start = [], 0
            for piece in pieces:
                split.append(converted[start : start + len(piece)])
                start += len(piece)
        else:
            split = [converted]
        out.append(f'{matched.group(1)} "{split[0]}"')
        out.extend(f'"{piece}"' for piece in split[1:])
    text = "\n".join(out)
    for simplified, traditional in _HEADER:
        text = text.replace(simplified, traditional, 1)
    return f"{NOTICE}\n{text}"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SIMPLIFIED
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else TRADITIONAL
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(traditional_catalog(source.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
