"""The history endpoint holds the history of the customers merged into a customer, each event
saying which customer it happened on, paged by the same cursor, only for who may see the
customer, and without naming customers the caller may not see."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import change_customer
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def _person(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, **data})


def _all_items(client, customer, *, limit=50, headers=None) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/customers/{customer.pk}/history", params, headers=headers)
        assert response.status_code == 200, response.content
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def merged_pair(company):
    rep = company.rep
    survivor, merged = _person(rep, "张伟"), _person(rep, "張偉")
    for i in range(3):
        change_customer(rep, survivor, industry=f"S{i}")
        change_customer(rep, merged, industry=f"M{i}")
    customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    return survivor, merged


def test_events_of_the_merged_customer_say_so(api_as, merged_pair):
    survivor, merged = merged_pair
    items = _all_items(api_as("rep"), survivor)
    own = [item for item in items if item["customer_id"] == survivor.pk]
    theirs = [item for item in items if item["customer_id"] == merged.pk]
    assert len(theirs) == 4  # created and changed three times; its "merged into" row is not
    assert {item["action"] for item in theirs} == {"create", "update"}
    assert all(item["merged_customer"] == {"id": merged.pk, "name": "張偉"} for item in theirs)
    assert all(item["merged_customer"] is None for item in own)
    assert own[0]["action"] == "merge"


def test_pages_walk_both_customers_events_newest_first(api_as, merged_pair):
    survivor, merged = merged_pair
    client = api_as("rep")
    whole = _all_items(client, survivor)
    paged = _all_items(client, survivor, limit=2)
    assert [item["id"] for item in paged] == [item["id"] for item in whole]
    ids = [item["id"] for item in whole]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    expected = AuditEvent.objects.filter(customer_id__in=[survivor.pk, merged.pk]).count() - 1
    assert len(ids) == expected


def test_the_marks_do_not_depend_on_the_language(api_as, merged_pair):
    survivor, _merged = merged_pair
    client = api_as("rep")
    english = _all_items(client, survivor, headers={"Accept-Language": "en"})
    chinese = _all_items(client, survivor, headers={"Accept-Language": "zh-Hans"})
    assert [(i["customer_id"], i["merged_customer"]) for i in english] == [
        (i["customer_id"], i["merged_customer"]) for i in chinese
    ]


@pytest.mark.parametrize("username", ["rep_b", "rep_west", "manager_west"])
def test_only_who_may_see_the_survivor_reads_it(api_as, merged_pair, username):
    survivor, merged = merged_pair
    client = api_as(username)
    for customer in (survivor, merged):
        assert client.get(f"/customers/{customer.pk}/history").status_code == 404


def test_after_an_undo_each_customer_has_its_own_history_again(api_as, company):
    survivor, merged = _person(company.rep, "陈静"), _person(company.rep, "陈静 ")
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    client = api_as("rep")
    for customer in (survivor, merged):
        items = _all_items(client, customer)
        assert {item["customer_id"] for item in items} == {customer.pk}
        assert all(item["merged_customer"] is None for item in items)


def test_a_summary_naming_a_customer_out_of_sight_is_left_out(api_as, company):
    stranger = _person(company.admin, "西部客户甲", owner_id=company.rep_west.pk)
    merged, survivor = _person(company.rep, "马超"), _person(company.rep, "马超 ")
    earlier = customers_merge(actor=company.admin, survivor_id=stranger.pk, merged_id=merged.pk)
    customer_merge_undo(actor=company.admin, merge_id=earlier.pk)
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)

    as_rep = _all_items(api_as("rep"), survivor)
    assert not [item for item in as_rep if stranger.name in item["summary"]]
    assert any(merged.name in item["summary"] for item in as_rep)  # the survivor's merge row
    # The withheld rows are still there, with their changes.
    actions = [(i["customer_id"], i["action"]) for i in as_rep]
    assert (merged.pk, "merge") in actions and (merged.pk, "unmerge") in actions
    as_admin = _all_items(api_as("admin"), survivor)
    assert [item for item in as_admin if stranger.name in item["summary"]]


def test_the_survivors_undo_row_does_not_name_a_customer_out_of_sight(api_as, company):
    # The admin merged a western customer into the rep's and took it back out: the rep may
    # read their customer's history, not learn the western customer's name from it.
    survivor = _person(company.rep, "赵云")
    stranger = _person(company.admin, "西部客户乙", owner_id=company.rep_west.pk)
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=stranger.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    as_rep = _all_items(api_as("rep"), survivor)
    actions = [item["action"] for item in as_rep if item["customer_id"] == survivor.pk]
    assert "merge" in actions and "unmerge" in actions  # the rows stay, with their changes
    assert not [item for item in as_rep if stranger.name in item["summary"]]
    as_admin = _all_items(api_as("admin"), survivor)
    assert len([item for item in as_admin if stranger.name in item["summary"]]) == 2


def test_a_persons_new_organisation_out_of_sight_is_not_named(api_as, company):
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

    as_rep = _all_items(api_as("rep"), person)
    moved = [item for item in as_rep if item["action"] == "merge"]
    assert len(moved) == 1 and moved[0]["summary"] == ""
    assert not [item for item in as_rep if theirs.name in item["summary"]]
    as_admin = _all_items(api_as("admin"), person)
    assert [item for item in as_admin if theirs.name in item["summary"]]
