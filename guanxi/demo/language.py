"""The language the demo company's own words are written in: its staff's names, its
departments and teams, the customers' tags it adds.

What the demo writes is data, stored once and shown as written to every reader, whatever
language they read the site in; so it is chosen when the demo is made, for the company that will
read it: ``guanxi demo-data --language``, by default the site's (``settings.LANGUAGE_CODE``, set
by ``GUANXI_LANGUAGE_CODE``). Words the site translates for each reader (the ticket categories,
which keep a Chinese and an English name) are not chosen here. The customers' own names and
addresses are not either: they are a Chinese company's customers, in Chinese and English alike.
"""

from guanxi.core.text import to_traditional

LANGUAGES = ("en", "zh-hans", "zh-hant")


def worded(english: str, chinese: str, language: str) -> str:
    """``english`` in English, ``chinese`` (written in Simplified characters) in Chinese, in
    Traditional characters for ``zh-hant``."""
    if language == "en":
        return english
    return to_traditional(chinese) if language == "zh-hant" else chinese


def every_wording(english: str, chinese: str) -> set[str]:
    """The words in each language, to find what a run in another language made."""
    return {worded(english, chinese, language) for language in LANGUAGES}
