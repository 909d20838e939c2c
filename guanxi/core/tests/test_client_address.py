"""The address of the client a request came from: the one the server received it from, unless
the site says how many reverse proxies stand in front of it; then the entry of X-Forwarded-For
the nearest of those proxies did not write itself, counting from the right, where each proxy
adds the address it was reached from. Entries further left are whatever the client sent."""

import pytest
from django.test import RequestFactory

from guanxi.core.client_address import client_address

PROXY = "10.0.0.2"


def _request(forwarded_for: str | None = None, remote_addr: str | None = PROXY):
    meta = {}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = RequestFactory().get("/", **meta)
    if remote_addr is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote_addr
    return request


def test_without_a_trusted_proxy_a_forwarded_for_header_is_ignored(settings):
    settings.GUANXI_TRUSTED_PROXIES = 0
    assert client_address(_request("192.0.2.7", remote_addr="198.51.100.4")) == "198.51.100.4"


def test_behind_one_proxy_the_entry_it_wrote_is_the_client_whatever_the_client_sent(settings):
    settings.GUANXI_TRUSTED_PROXIES = 1
    assert client_address(_request("198.51.100.4")) == "198.51.100.4"
    # A client claiming an address of its own: the proxy appends the one it saw.
    assert client_address(_request("192.0.2.7, 198.51.100.4")) == "198.51.100.4"
    assert client_address(_request("2001:db8::1")) == "2001:db8::1"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.GUANXI_TRUSTED_PROXIES = 2
    assert client_address(_request("192.0.2.7,198.51.100.4, 10.0.0.1")) == "198.51.100.4"


@pytest.mark.parametrize(
    "header",
    [
        "",  # reached the server past the proxy, or the proxy adds no header
        " , ",
        "not-an-address",
        "192.0.2.7, 999.1.1.1",  # the entry that would be the client's is not an address
        "198.51.100.4:port",
        "[198.51.100.4]",  # brackets are for IPv6 only
        "[2001:db8::1",
    ],
)
def test_a_header_with_no_usable_entry_for_the_client_leaves_the_address_received(settings, header):
    settings.GUANXI_TRUSTED_PROXIES = 1
    assert client_address(_request(header)) == PROXY


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("198.51.100.4:5555", "198.51.100.4"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:5555", "2001:db8::1"),
        ("192.0.2.7, \t198.51.100.4 ", "198.51.100.4"),
    ],
)
def test_an_entry_written_with_its_port_or_in_brackets_names_the_client(settings, header, client):
    """Some proxies write the client's port too, and an IPv6 address then in brackets; the
    entry is still the proxy's, so the address in it is read."""
    settings.GUANXI_TRUSTED_PROXIES = 1
    assert client_address(_request(header)) == client


def test_fewer_entries_than_proxies_give_the_left_most(settings):
    """A request that reached the inner proxy without the outer one, the client sending no
    header: the one entry is the inner proxy's, about the client."""
    settings.GUANXI_TRUSTED_PROXIES = 2
    assert client_address(_request("198.51.100.4")) == "198.51.100.4"


def test_no_header_and_no_address_is_none(settings):
    settings.GUANXI_TRUSTED_PROXIES = 1
    assert client_address(_request(None)) == PROXY
    assert client_address(_request(None, remote_addr=None)) is None
    assert client_address(_request(None, remote_addr="")) is None
    assert client_address(_request("not-an-address", remote_addr="")) is None
    settings.GUANXI_TRUSTED_PROXIES = 0
    assert client_address(_request("198.51.100.4", remote_addr="")) is None


def test_behind_a_proxy_on_a_unix_socket_the_client_is_read_from_the_header(settings):
    """A WSGI server listening on a unix socket, which only processes of its machine reach
    (the proxy), gives no address it received the request from (gunicorn: an empty one)."""
    settings.GUANXI_TRUSTED_PROXIES = 1
    assert client_address(_request("192.0.2.7, 198.51.100.4", remote_addr="")) == "198.51.100.4"
    assert client_address(_request("198.51.100.4", remote_addr=None)) == "198.51.100.4"
