"""Which language to write in when there is no request to say it: mail and notices the SLA
sweep, the mailbox fetch or a service write for someone else.

Staff choose their language in the top bar and it is stored on them (``User.language``); a
ticket keeps the language its customer is emailed in (``Ticket.language``: guessed from the
request, which the desk may change). Blank means the site default, ``settings.LANGUAGE_CODE``.
Text is built inside :func:`in_language`, one recipient (or one language) at a time, because
the active language otherwise is whichever the worker or the acting user's request happens to
have.
"""

from collections.abc import Iterable

from django.conf import settings
from django.utils import translation

from .text import has_han


def in_language(code: str | None) -> translation.override:
    """Translate in ``code``, or in the site default when it is blank."""
    return translation.override(code or settings.LANGUAGE_CODE)


def language_of(user) -> str:
    """The language ``user`` reads Guanxi in."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def by_language(users: Iterable) -> dict[str, list]:
    """``users`` grouped by the language they read, in the order first met."""
    groups: dict[str, list] = {}
    for user in users:
        groups.setdefault(language_of(user), []).append(user)
    return groups


def chinese_if_written_in_it(*texts: str) -> str:
    """``zh-hans`` when any of ``texts`` has Han characters, else blank (the site default):
    all Guanxi can tell of the language of someone who wrote to it without choosing one."""
    return "zh-hans" if any(has_han(text or "") for text in texts) else ""


def speak_unless_chosen(request, code: str | None) -> None:
    """Answer ``request`` in ``code`` (blank: the site default) unless this browser has chosen a
    language with the switcher, whose cookie still wins.

    For pages reached from an email: their reader was written to in ``code``, and the browser's
    own Accept-Language (an English phone, a shared computer) says less about what they read
    than the email they just followed. Activated for the rest of the request, rather than held
    in a ``with`` block, so that ``LocaleMiddleware`` heads the response (``Content-Language``)
    with the language the page is written in."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen:
        try:
            translation.get_supported_language_variant(chosen)
        except LookupError:
            pass  # a cookie naming no language of the site is no choice
        else:
            return
    translation.activate(code or settings.LANGUAGE_CODE)
    request.LANGUAGE_CODE = translation.get_language()
