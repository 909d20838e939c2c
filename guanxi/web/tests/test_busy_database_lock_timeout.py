"""A request that waited longer than PostgreSQL's ``lock_timeout`` for a lock another connection
holds (a migration, a long write) is answered 503 with Retry-After, a page as a page and the API
in its error shape, rather than as a fault: the lock will be let go, and the request is worth
repeating. The lock is real, held by this connection while the request runs on a thread, and
a connection of its own, with the limit set as a site would set it."""

import json

from django.db import connection, transaction
from django.test import Client

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread
from guanxi.customers.models import Customer

pytestmark = CONCURRENT

BUSY = "The database is busy. Try again in a moment."


def _while_customers_are_locked(client: Client, path: str, headers: dict | None = None):
    """``client``'s answer to ``path``, asked with a ``lock_timeout`` of 200 ms while this
    connection holds the customers table."""
    results: dict = {}

    def ask():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        return client.get(path, headers=headers or {})

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Customer._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        in_thread(ask, results, "request").join(30)
    assert results["request"][0] == "ok", results["request"][-1]
    return results["request"][1]


def test_a_page_that_waited_past_lock_timeout_is_a_503(company):
    client = Client(raise_request_exception=False)
    client.force_login(company.rep)

    response = _while_customers_are_locked(client, "/customers/")

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert BUSY in response.content.decode()
    assert client.get("/customers/").status_code == 200


def test_the_api_answers_a_request_that_waited_past_lock_timeout_503(company):
    from guanxi.accounts.services import api_token_create

    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="tests")
    client = Client(raise_request_exception=False)
    headers = {"Authorization": f"Bearer {raw}"}

    response = _while_customers_are_locked(client, "/api/v1/customers", headers)

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert json.loads(response.content) == {"detail": BUSY, "errors": []}
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
