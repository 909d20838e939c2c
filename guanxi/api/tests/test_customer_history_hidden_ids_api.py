"""The history endpoint's changes give the id of another customer (the other customer of a
rejected duplicate or of a merge, a person's organisation) only to a caller who may see that
customer, or who reads it as part of this history (a customer merged into this one), as the
history page decides; to anyone else it is "[hidden]"."""

import pytest

from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customer_merge_undo, customers_merge, duplicate_pair_reject

pytestmark = pytest.mark.django_db

HIDDEN = "[hidden]"


def _changes(client, customer, key: str) -> list[dict]:
    """The changes under ``key`` of the customer's history, newest first."""
    response = client.get(f"/customers/{customer.pk}/history", {"limit": 100})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_cursor"] is None
    return [item["changes"][key] for item in body["items"] if key in item["changes"]]


def _reject(actor, first, second) -> None:
    low, high = sorted((first.pk, second.pk))
    pair = DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")
    duplicate_pair_reject(actor=actor, pair_id=pair.pk)


def _person(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, **data})


def test_a_rejected_duplicate_out_of_sight_is_hidden(api_as, company):
    # The administrator decides on a pair across departments: the East rep reads it on their
    # customer's history without learning which West customer it was.
    _reject(company.admin, company.rep_customer, company.west_customer)
    assert _changes(api_as("rep"), company.rep_customer, "not_duplicate_of") == [
        {"before": None, "after": HIDDEN}
    ]
    assert _changes(api_as("manager_west"), company.west_customer, "not_duplicate_of") == [
        {"before": None, "after": HIDDEN}
    ]
    # Who may see the other customer reads its id.
    assert _changes(api_as("admin"), company.rep_customer, "not_duplicate_of") == [
        {"before": None, "after": company.west_customer.pk}
    ]


def test_a_rejected_duplicate_in_sight_is_given_by_its_id(api_as, company):
    first, second = company.rep_customer, company.teammate_customer  # Team A shares for viewing
    _reject(company.admin, first, second)
    assert _changes(api_as("rep"), first, "not_duplicate_of") == [
        {"before": None, "after": second.pk}
    ]
    assert _changes(api_as("teammate"), second, "not_duplicate_of") == [
        {"before": None, "after": first.pk}
    ]


def test_the_other_customer_of_an_undone_merge_out_of_sight_is_hidden(api_as, company):
    # The administrator merged a West customer into the rep's and took it back out.
    survivor = _person(company.rep, "赵云")
    stranger = _person(company.admin, "西部客户乙", owner_id=company.rep_west.pk)
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=stranger.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    undone, merged = _changes(api_as("rep"), survivor, "merged_from")
    assert (undone, merged) == (
        {"before": HIDDEN, "after": None},
        {"before": None, "after": HIDDEN},
    )
    assert _changes(api_as("admin"), survivor, "merged_from") == [
        {"before": stranger.pk, "after": None},
        {"before": None, "after": stranger.pk},
    ]
    # The West customer's own history, read by its manager, does not give the rep's customer.
    assert _changes(api_as("manager_west"), stranger, "merged_into") == [
        {"before": HIDDEN, "after": None},
        {"before": None, "after": HIDDEN},
    ]
    assert _changes(api_as("admin"), stranger, "merged_into") == [
        {"before": survivor.pk, "after": None},
        {"before": None, "after": survivor.pk},
    ]


def test_a_customer_merged_into_this_one_is_given_by_its_id(api_as, company):
    survivor, merged = _person(company.rep, "张伟"), _person(company.rep, "張偉")
    # Merged by the administrator into the rep's customer: deleted, so nobody may open it,
    # but it is part of this customer's history, whose rows name it.
    customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk)
    assert _changes(api_as("rep"), survivor, "merged_from") == [
        {"before": None, "after": merged.pk}
    ]


def test_a_persons_organisation_out_of_sight_is_hidden(api_as, company):
    ours = customer_create(
        actor=company.rep, data={"name": "华瑞科技", "party_type": "organization"}
    )
    theirs = customer_create(
        actor=company.admin,
        data={
            "name": "上海华瑞科技有限公司",
            "party_type": "organization",
            "owner_id": company.rep_west.pk,
        },
    )
    person = _person(company.rep, "李娜", organization_id=ours.pk)
    customers_merge(actor=company.admin, survivor_id=theirs.pk, merged_id=ours.pk)

    # The rep's organisation is merged away and the one it went into is West's: the rep
    # may open neither now.
    moved, created = _changes(api_as("rep"), person, "organization_id")
    assert moved == {"before": HIDDEN, "after": HIDDEN}
    assert created == {"before": None, "after": HIDDEN}
    # The administrator may open the West organisation; the merged-away one nobody may, as
    # the page's "another customer, which you cannot open" says of a deleted one.
    assert _changes(api_as("admin"), person, "organization_id") == [
        {"before": HIDDEN, "after": theirs.pk},
        {"before": None, "after": HIDDEN},
    ]
