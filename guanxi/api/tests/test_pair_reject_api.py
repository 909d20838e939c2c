"""Rejecting a pair of the review queue through the API, naming the two customers the caller
read: a pair that moved to another customer since (one of its customers was merged into a
third) is refused instead of marking that third customer, which nobody compared, as
different."""

import pytest

from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved_pair(company):
    """The pair of ``first`` and ``second`` as the caller read it, then ``first`` merged into
    ``third``, which moves the pair to it."""
    third = customer_create(actor=company.rep, data={"name": "陈静"})
    first = customer_create(actor=company.rep, data={"name": "陈静"})
    second = customer_create(actor=company.rep, data={"name": "陈静"})
    pair = DuplicatePair.objects.create(left_id=first.pk, right_id=second.pk, score=0.9)
    read = {"left_id": first.pk, "right_id": second.pk}
    customers_merge(actor=company.manager, survivor_id=third.pk, merged_id=first.pk)
    pair.refresh_from_db()
    assert (pair.left_id, pair.right_id) == (third.pk, second.pk)
    return pair, read, (first, second, third)


def test_a_pair_that_moved_since_it_was_read_is_not_rejected(api_as, moved_pair):
    pair, read, _customers = moved_pair
    response = api_as("rep").post(f"/duplicates/{pair.pk}/reject", json=read)
    assert response.status_code == 409, response.content
    body = response.json()
    assert [error["field"] for error in body["errors"]] == ["left_id"]
    assert "left_id" in body["detail"]
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.OPEN


def test_the_pair_as_it_is_now_is_rejected(api_as, moved_pair):
    pair, _read, (_first, second, third) = moved_pair
    body = {"left_id": third.pk, "right_id": second.pk}
    response = api_as("rep").post(f"/duplicates/{pair.pk}/reject", json=body)
    assert response.status_code == 200, response.content
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.REJECTED


def test_without_the_ids_a_pair_is_rejected_as_before(api_as, moved_pair):
    pair, _read, _customers = moved_pair
    response = api_as("rep").post(f"/duplicates/{pair.pk}/reject")
    assert response.status_code == 200, response.content
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.REJECTED


@pytest.mark.parametrize(("sent", "missing"), [("left_id", "right_id"), ("right_id", "left_id")])
def test_one_id_without_the_other_is_refused_naming_the_missing_one(
    api_as, moved_pair, sent, missing
):
    pair, read, _customers = moved_pair
    response = api_as("rep").post(f"/duplicates/{pair.pk}/reject", json={sent: read[sent]})
    assert response.status_code == 422, response.content
    assert [error["field"] for error in response.json()["errors"]] == [missing]
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.OPEN


def test_a_right_id_that_no_longer_matches_is_named(api_as, company, moved_pair):
    pair, _read, (_first, second, third) = moved_pair
    fourth = customer_create(actor=company.rep, data={"name": "陈静"})
    customers_merge(actor=company.manager, survivor_id=fourth.pk, merged_id=second.pk)
    body = {"left_id": third.pk, "right_id": second.pk}
    response = api_as("rep").post(f"/duplicates/{pair.pk}/reject", json=body)
    assert response.status_code == 409, response.content
    assert [error["field"] for error in response.json()["errors"]] == ["right_id"]
