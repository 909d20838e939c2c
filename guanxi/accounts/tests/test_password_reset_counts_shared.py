"""The limits on asking for a link to set a password hold for the whole site, not for each
server process: the counts are in the database, which every process shares."""

import threading

import pytest
from django.core import mail
from django.test import override_settings

from guanxi.accounts import reset_limits
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread


def _ask(client, email, **extra):
    return client.post("/accounts/password/reset/", {"email": email}, **extra)


def _process_memory(name):
    """Django's cache as one server process has it when no shared cache is configured: the
    memory of that process alone."""
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": name,
            }
        }
    )


@pytest.mark.django_db
def test_an_address_asked_for_through_another_process_counts_once_for_all(client, company):
    for _ in range(reset_limits.PER_ADDRESS):
        with _process_memory("first process"):
            assert _ask(client, "rep@example.com").status_code == 302
    with _process_memory("second process"):
        refused = _ask(client, "rep@example.com")
    assert refused.status_code == 429
    assert len(mail.outbox) == reset_limits.PER_ADDRESS


@pytest.mark.django_db
def test_a_client_asking_through_another_process_counts_once_for_all(client, company):
    for n in range(reset_limits.PER_CLIENT):
        with _process_memory("first process"):
            assert _ask(client, f"someone{n}@example.com").status_code == 302
    with _process_memory("second process"):
        assert _ask(client, "rep@example.com").status_code == 429
    # Another client is not held up.
    with _process_memory("second process"):
        assert _ask(client, "rep@example.com", REMOTE_ADDR="10.0.0.9").status_code == 302


@pytest.mark.django_db
def test_the_address_is_the_one_the_server_received_not_one_a_header_claims(client, company):
    """No proxy is configured to be trusted: an X-Forwarded-For header anyone can send must
    not make each ask look like a new client's."""
    for n in range(reset_limits.PER_CLIENT):
        response = _ask(client, f"someone{n}@example.com", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 302
    refused = _ask(client, "rep@example.com", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert refused.status_code == 429


def _concurrent(test):
    for mark in CONCURRENT:
        test = mark(test)
    return test


@_concurrent
def test_asks_at_the_same_moment_each_count():
    """Ten processes asking for one address at once, each on a connection of its own: exactly
    the limit get a link, the first ask creating the address's count included."""
    barrier = threading.Barrier(10)
    results: dict = {}

    def ask(n):
        def run():
            barrier.wait(10)
            return reset_limits.password_reset_refusal(
                email="rep@example.com", client=f"10.0.0.{n}"
            )

        return run

    threads = [in_thread(ask(n), results, f"ask {n}") for n in range(10)]
    for thread in threads:
        thread.join(30)
    assert [result[0] for result in results.values()] == ["ok"] * 10, results
    granted = [value for _ok, value in results.values() if value is None]
    assert len(granted) == reset_limits.PER_ADDRESS


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, company, settings):
    """Every ask comes from the proxy's address; the client is the entry the proxy added to
    X-Forwarded-For, whatever the client put before it."""
    settings.GUANXI_TRUSTED_PROXIES = 1
    for n in range(reset_limits.PER_CLIENT):
        response = _ask(
            client,
            f"someone{n}@example.com",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.4",
        )
        assert response.status_code == 302
    refused = _ask(
        client,
        "rep@example.com",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.200, 198.51.100.4",
    )
    assert refused.status_code == 429
    # Someone else behind the same proxy is not held up.
    other = _ask(
        client, "rep@example.com", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.5"
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_a_client_on_ipv6_is_counted_by_its_network_not_by_each_address(client, company):
    """A home or a server on IPv6 is given a whole /64 network and may ask from any address in
    it; counted by address, one client would never reach its limit."""
    for n in range(reset_limits.PER_CLIENT):
        response = _ask(client, f"someone{n}@example.com", REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
        assert response.status_code == 302
    refused = _ask(client, "rep@example.com", REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert refused.status_code == 429
    # Another network is another client.
    assert _ask(client, "rep@example.com", REMOTE_ADDR="2001:db8:1:3::1").status_code == 302
