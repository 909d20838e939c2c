"""The concurrency tests' look at who waits for a lock sees a session that began waiting after
the look before, also from inside a transaction (where PostgreSQL keeps showing the sessions as
they were at the first look unless told otherwise)."""

import time

import pytest
from django.db import connection, transaction

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's locks"),
]

LOCK = 4242


def test_a_session_that_begins_waiting_later_is_seen_from_inside_a_transaction():
    results: dict = {}

    def wait_for_the_lock():
        time.sleep(0.5)  # after the first look below
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        assert not waiting_for_a_lock()
        waiter = in_thread(wait_for_the_lock, results, "waiter")
        seen = wait_until(waiting_for_a_lock, 10)
    waiter.join(10)
    assert seen
    assert results["waiter"][0] == "ok"
