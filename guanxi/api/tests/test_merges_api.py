"""Merging through the API where the two customers' related rows collide, and the merged pairs
of the review queue."""

import pytest

from guanxi.analytics.models import Blacklist
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(company):
    first = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    second = customer_create(actor=company.rep, data={"name": "張偉", "phones": ["13812345678"]})
    pair = DuplicatePair.objects.create(
        left_id=first.pk, right_id=second.pk, score=0.99, source="scan"
    )
    return first, second, pair


def _merge_body(kept: Customer, other: Customer) -> dict:
    return {"merged_id": other.pk, "version": kept.version, "merged_version": other.version}


def test_two_blacklisted_customers_merge(api_as, company, twins):
    first, second, _pair = twins
    Blacklist.objects.create(customer=first, reason="late payer")
    Blacklist.objects.create(customer=second, reason="fraud")
    response = api_as("rep").post(f"/customers/{first.pk}/merge", json=_merge_body(first, second))
    assert response.status_code == 200, response.content
    assert Customer.objects.get(pk=second.pk).deleted_at is not None
    assert Blacklist.objects.get(customer=first).reason == "late payer"


def test_the_merged_pairs_are_listed_for_who_sees_the_kept_customer(api_as, company, twins):
    first, second, pair = twins
    api_as("rep").post(f"/customers/{first.pk}/merge", json=_merge_body(first, second))
    listed = api_as("admin").get("/duplicates", {"status": "merged"}).json()["items"]
    assert [item["id"] for item in listed] == [pair.pk]
    assert api_as("rep_west").get("/duplicates", {"status": "merged"}).json()["items"] == []
