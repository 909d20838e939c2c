"""How often a link to set a forgotten password may be asked for: the page sends email to
whatever address it is given, so without a limit anyone could have it mail one address without
end. An address is given at most ``PER_ADDRESS`` times, and one client (``REMOTE_ADDR``, the
address the audit rows name) asks at most ``PER_CLIENT`` times, in a window of
``WINDOW_SECONDS`` from the first ask. Behind a reverse proxy every client has the proxy's
address and the client limit is shared by all. Every address counts alike, with an account or
without, so a refusal tells nothing of who has one.

The counts are kept in Django's default cache. The settings configure none, so it is each
server process's memory: ``guanxi serve``'s two processes each count on their own (at most
twice the limit), and a restart forgets them; a site with a shared cache set in ``CACHES``
counts once for all.
"""

import hashlib

from django.core.cache import cache
from django.utils.translation import gettext as _

WINDOW_SECONDS = 60 * 60
PER_ADDRESS = 5
PER_CLIENT = 20


def _counted(key: str) -> int:
    """Count one more under ``key``; the count ends ``WINDOW_SECONDS`` after its first."""
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # ended between the two
        cache.set(key, 1, WINDOW_SECONDS)
        return 1


def password_reset_refusal(*, email: str, client: str) -> str | None:
    """Count one ask for a link to ``email`` from ``client``; the reason to refuse it, in the
    active language, when it passes a limit, else None. An ask refused for its client does not
    count for its address."""
    if _counted(f"guanxi:password-reset:client:{client}") > PER_CLIENT:
        return _(
            "Too many links to set a password were asked for from your network in the last "
            "hour. Try again later."
        )
    # Hashed: the cache holds no email addresses, and the key is the same length for any.
    address = hashlib.sha256(email.strip().casefold().encode()).hexdigest()
    if _counted(f"guanxi:password-reset:address:{address}") > PER_ADDRESS:
        return _(
            "A link to set a password was asked for this address %(n)d times in the last hour. "
            "Use the link already emailed, or try again later."
        ) % {"n": PER_ADDRESS}
    return None
