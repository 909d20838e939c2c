"""The duplicates queue reads a page in a fixed number of queries, however many pairs it holds:
the customers' organisations, owners, phones and emails come with the page, not one by one."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db


def _pairs(company, count: int, **pair) -> None:
    organization = customer_create(
        actor=company.rep, data={"name": "华瑞科技", "party_type": "organization"}
    )
    for i in range(count):
        left, right = (
            customer_create(
                actor=company.rep,
                data={
                    "name": f"张伟{i}{side}",
                    "organization_id": organization.pk,
                    "phones": [f"1381234{i:04d}"],
                    "emails": [f"zw{i}{side}@example.com"],
                },
            )
            for side in "ab"
        )
        DuplicatePair.objects.create(
            left_id=left.pk, right_id=right.pk, score=0.9 - i / 1000, source="scan", **pair
        )


def _queries(client, limit: int, status: str = "open") -> tuple[int, list[dict]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/duplicates", {"limit": limit, "status": status})
    assert response.status_code == 200, response.content
    return len(queries), response.json()["items"]


def test_a_page_costs_the_same_queries_at_any_size(api_as, company):
    _pairs(company, 12)
    client = api_as("rep")
    client.get("/duplicates", {"limit": 1})  # the token's first use writes its last-used time
    small, items = _queries(client, 2)
    large, items = _queries(client, 12)
    assert len(items) == 12
    assert items[0]["left"]["company"] == "华瑞科技"
    assert items[0]["left"]["emails"] and items[0]["left"]["phones_masked"]
    assert items[0]["left"]["owner"]["username"] == "rep"
    assert large == small
    assert large <= 12


@pytest.mark.parametrize("username", ["manager", "admin"])
def test_decided_pairs_too(api_as, company, username):
    _pairs(company, 12, status="rejected", decided_by=company.rep, decided_at=timezone.now())
    client = api_as(username)
    client.get("/duplicates", {"limit": 1})
    small, _items = _queries(client, 2, "rejected")
    large, items = _queries(client, 12, "rejected")
    assert len(items) == 12 and items[0]["decided_by"]["username"] == "rep"
    assert large == small
