"""The address of the client a request came from, for the audit rows and the limits counted per
client (the password-reset page's).

Without a proxy in front of the site it is ``REMOTE_ADDR``, the address the server received the
request from, and an ``X-Forwarded-For`` header is ignored: anyone can send one, and believed it
would let every request claim a new address (and escape a limit counted per client). Behind
``GUANXI_TRUSTED_PROXIES`` reverse proxies, ``REMOTE_ADDR`` is the nearest proxy's address and
each proxy adds to the right of the header the address it was reached from; the client is the
entry the outermost trusted proxy added, the number of proxies counted from the right. Entries
further left are whatever the client sent and are never read. That holds only while the site is
reached through those proxies and nothing else: a client reaching the server, or an inner
proxy, directly writes the entries counted to and names any address it likes.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> str | None:
    """The address of a proxy's entry, which some proxies write with the client's port (an
    IPv6 address then in brackets): ``198.51.100.4:5555``, ``[2001:db8::1]:5555``."""
    host = text
    if text.startswith("["):
        host, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:  # an IPv6 address has more than one
        host, _colon, port = text.partition(":")
        if not port.isdigit():
            return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if text.startswith("[") and address.version != 6:
        return None
    return host


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, or None when the server was told of none."""
    received = request.META.get("REMOTE_ADDR") or None
    proxies = settings.GUANXI_TRUSTED_PROXIES
    if not proxies:
        return received
    # No address received is a server on a unix socket (gunicorn leaves REMOTE_ADDR empty),
    # which only the processes of its own machine reach: the proxy, whose header is read.
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [e for e in entries if e]
    if not entries:
        # Reached the server without going through the proxies, or they add no header.
        return received
    # With fewer entries than proxies the request reached an inner proxy past the outer ones.
    # The left-most entry then names the client when it sent no header; when it did, it could
    # as well have sent enough entries to fill the count and name any address there, so no
    # other choice would hold it to its own. Only a site reached through all its proxies and
    # nothing else gives a client no say in its address. A malformed entry where the client's
    # should be is not guessed at.
    return _address(entries[max(len(entries) - proxies, 0)]) or received
