"""How often a link to set a forgotten password may be asked for: the page sends email to
whatever address it is given, so without a limit anyone could have it mail one address without
end. An address is given at most ``PER_ADDRESS`` times, and one client (by
:func:`guanxi.core.client_address.client_address`, the address the audit rows name) asks at
most ``PER_CLIENT`` times (a client on IPv6 counted by its /64 network, any address of which
it may send from), in a window of ``WINDOW_SECONDS`` from the first ask. Every address counts
alike, with an account or without, so a refusal tells nothing of who has one.

The counts are rows of the database (``PasswordResetCount``), not entries of Django's cache:
the settings configure no cache, so the default one is each server process's memory, where
``guanxi serve``'s processes would each count on their own (the limit multiplied by their
number) and a restart would forget the counts. The database is shared by every process.

The client is the address the server received the request from, unless
``GUANXI_TRUSTED_PROXIES`` says how many reverse proxies stand in front of the site: then it is
read from ``X-Forwarded-For``, counting the proxies' entries from the right. An
``X-Forwarded-For`` header believed from anyone would let every ask claim a new address and
escape the limit; behind a proxy not declared, every client has the proxy's address and the
client limit is shared by all (the limit per address still holds for each address).
"""

import hashlib
import ipaddress
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import PasswordResetCount

WINDOW_SECONDS = 60 * 60
PER_ADDRESS = 5
PER_CLIENT = 20


def _counted(key: str) -> int:
    """Count one more under ``key``; the count ends ``WINDOW_SECONDS`` after its first. The row
    is locked while counting, so asks at the same moment from different processes each count."""
    # Hashed: the table holds no email addresses, and the key is the same length for any.
    digest = hashlib.sha256(key.encode()).hexdigest()
    now = timezone.now()
    started_before = now - timedelta(seconds=WINDOW_SECONDS)
    # Counts whose window is over say nothing any more; without this the table would keep a
    # row for every address ever asked for.
    PasswordResetCount.objects.filter(window_started_at__lte=started_before).exclude(
        key=digest
    ).delete()
    with transaction.atomic():
        counts = PasswordResetCount.objects.select_for_update()
        row = counts.filter(key=digest).first()
        if row is None:
            try:
                with transaction.atomic():
                    PasswordResetCount.objects.create(key=digest, window_started_at=now, count=1)
                return 1
            except IntegrityError:  # another process counted its first ask meanwhile
                row = counts.get(key=digest)
        if row.window_started_at <= started_before:
            row.window_started_at, row.count = now, 1
        else:
            row.count += 1
        row.save(update_fields=["window_started_at", "count"])
        return row.count


def _network(client: str) -> str:
    """What a client is counted by: its address, or on IPv6 the /64 network it is in. A home or
    a server on IPv6 is given a whole /64 and may send from any address in it, so counted by
    address one client could ask without end."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def password_reset_refusal(*, email: str, client: str) -> str | None:
    """Count one ask for a link to ``email`` from ``client``; the reason to refuse it, in the
    active language, when it passes a limit, else None. An ask refused for its client does not
    count for its address."""
    if _counted(f"guanxi:password-reset:client:{_network(client)}") > PER_CLIENT:
        return _(
            "Too many links to set a password were asked for from your network in the last "
            "hour. Try again later."
        )
    address = email.strip().casefold()
    if _counted(f"guanxi:password-reset:address:{address}") > PER_ADDRESS:
        return _(
            "A link to set a password was asked for this address %(n)d times in the last hour. "
            "Use the link already emailed, or try again later."
        ) % {"n": PER_ADDRESS}
    return None
