"""A customer's history holds the history of every customer merged into it (and of those merged
into them) for as long as the merge stands, read in one query and paged like any history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.audit.models import AuditEvent
from guanxi.core.keyset import keyset_page
from guanxi.core.testing.factories import change_customer
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_history_for_user
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db

A = AuditEvent.Action


def _person(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, **data})


def _events(user, customer) -> list[AuditEvent]:
    return list(customer_history_for_user(user, customer.pk).events())


def _own(customer) -> set[int]:
    return set(AuditEvent.objects.filter(customer_id=customer.pk).values_list("pk", flat=True))


def _merge_row(customer) -> AuditEvent:
    """The merged customer's own "merged into" row of its (last) merge."""
    return AuditEvent.objects.filter(customer_id=customer.pk, action=A.MERGE).latest("id")


def test_the_survivors_history_holds_the_merged_customers_earlier_events(company):
    rep = company.rep
    survivor = _person(rep, "张伟")
    merged = _person(rep, "張偉", industry="制造业")
    change_customer(rep, merged, industry="零售")
    interaction_log(actor=rep, customer_id=merged.pk, data={"channel": "phone", "subject": "来电"})
    before_merge = _own(merged)
    customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)

    events = _events(rep, survivor)
    ids = [event.pk for event in events]
    assert ids == sorted(ids, reverse=True)  # newest first, by id
    assert set(ids) == _own(survivor) | before_merge
    # The merged customer's own "merged into" row would only repeat the survivor's merge row.
    assert _merge_row(merged).pk not in ids
    kinds = {(e.customer_id, e.object_type, e.action) for e in events}
    assert {
        (merged.pk, "customer", A.CREATE),
        (merged.pk, "customer", A.UPDATE),
        (merged.pk, "interaction", A.CREATE),
        (survivor.pk, "customer", A.CREATE),
        (survivor.pk, "customer", A.MERGE),
    } <= kinds
    # The merged customer is in the recycle bin: its own history is nobody's to read.
    with pytest.raises(Customer.DoesNotExist):
        customer_history_for_user(company.admin, merged.pk)
    history = customer_history_for_user(rep, survivor.pk)
    assert history.merged_name(merged.pk) == "張偉"
    assert history.merged_name(survivor.pk) is None


def test_chained_merges_bring_every_history_along(company):
    rep = company.rep
    first, second, third = (_person(rep, name) for name in ("王芳", "王芳 ", "王 芳"))
    change_customer(rep, first, industry="物流")
    first_past = _own(first)
    customers_merge(actor=rep, survivor_id=second.pk, merged_id=first.pk)
    second_past = _own(second)  # including its merge with the first
    customers_merge(actor=rep, survivor_id=third.pk, merged_id=second.pk)

    ids = {event.pk for event in _events(rep, third)}
    assert ids == _own(third) | second_past | first_past
    assert _merge_row(first).pk not in ids and _merge_row(second).pk not in ids
    history = customer_history_for_user(rep, third.pk)
    assert set(history.merged) == {first.pk, second.pk}


def test_undoing_a_merge_separates_the_histories_again(company):
    rep = company.rep
    first, second, third = (_person(rep, name) for name in ("李娜", "李娜 ", "李 娜"))
    inner = customers_merge(actor=rep, survivor_id=second.pk, merged_id=first.pk)
    outer = customers_merge(actor=rep, survivor_id=third.pk, merged_id=second.pk)

    customer_merge_undo(actor=rep, merge_id=outer.pk)
    assert {e.customer_id for e in _events(rep, third)} == {third.pk}
    # The first customer's merge into the second still stands.
    assert {e.customer_id for e in _events(rep, second)} == {second.pk, first.pk}

    customer_merge_undo(actor=rep, merge_id=inner.pk)
    assert {e.customer_id for e in _events(rep, second)} == {second.pk}
    assert {e.customer_id for e in _events(rep, first)} == {first.pk}
    assert customer_history_for_user(rep, second.pk).merged == {}


def test_a_merge_undone_and_made_again_brings_the_whole_past_along(company):
    rep = company.rep
    survivor, merged = _person(rep, "赵磊"), _person(rep, "赵磊 ")
    first = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    customer_merge_undo(actor=rep, merge_id=first.pk)
    change_customer(rep, merged, industry="教育")
    before_second = _own(merged)
    customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)

    ids = {event.pk for event in _events(rep, survivor)}
    assert ids == _own(survivor) | before_second


def test_a_merged_customer_brought_back_from_the_recycle_bin_keeps_its_new_history(company):
    survivor, merged = _person(company.rep, "孙丽"), _person(company.rep, "孙丽 ")
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    before_restore = _own(merged) - {_merge_row(merged).pk}
    # Brought back on its own, as a restore could before it was refused while the merge stands
    # (``customer_restore``): such customers remain in the records.
    Customer.objects.filter(pk=merged.pk).update(deleted_at=None)
    change_customer(company.rep, merged, industry="金融")

    ids = {event.pk for event in _events(company.rep, survivor)}
    assert ids == _own(survivor) | before_restore
    assert {e.customer_id for e in _events(company.rep, merged)} == {merged.pk}


@pytest.mark.parametrize("username", sorted(["rep", "teammate", "manager", "admin", "analyst"]))
def test_whoever_may_view_the_survivor_reads_the_merged_history(company, username):
    survivor, merged = _person(company.rep, "周杰"), _person(company.rep, "周杰 ")
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    customer_ids = {e.customer_id for e in _events(company.users[username], survivor)}
    assert customer_ids == {survivor.pk, merged.pk}


@pytest.mark.parametrize("username", ["rep_b", "rep_west", "manager_west"])
def test_nobody_else_reads_it(company, username):
    survivor, merged = _person(company.rep, "周杰"), _person(company.rep, "周杰 ")
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    for customer in (survivor, merged):
        with pytest.raises(Customer.DoesNotExist):
            customer_history_for_user(company.users[username], customer.pk)


def test_keyset_pages_walk_both_customers_events_once_each(company):
    rep = company.rep
    survivor, merged = _person(rep, "吴敏"), _person(rep, "吴敏 ")
    for i in range(4):  # interleaved, so every page mixes both customers
        change_customer(rep, survivor, industry=f"S{i}")
        change_customer(rep, merged, industry=f"M{i}")
    customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    expected = [event.pk for event in _events(rep, survivor)]
    assert len(expected) == len(_own(survivor)) + len(_own(merged)) - 1

    history = customer_history_for_user(rep, survivor.pk)
    seen: list[int] = []
    cursor = None
    while True:
        page = keyset_page(
            history.events(), ordering="-id", cursor=cursor, limit=3, orderings={"-id": "id"}
        )
        assert len({e.customer_id for e in page.items}) == 2 or len(page.items) < 3
        seen += [event.pk for event in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_a_page_is_one_query_however_many_customers_were_merged(company):
    rep = company.rep
    survivor = _person(rep, "郑强")
    for i in range(3):
        customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=_person(rep, f"郑强 {i}").pk)
    history = customer_history_for_user(rep, survivor.pk)
    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(history.events(), ordering="-id", limit=50, orderings={"-id": "id"})
    assert len(queries) == 1
    assert len({e.customer_id for e in page.items}) == 4


def test_the_page_does_not_name_a_customer_out_of_sight_in_the_customers_own_rows(company):
    from guanxi.customers.history import describe_history

    survivor = _person(company.rep, "赵云")
    stranger = _person(company.admin, "西部客户乙", owner_id=company.rep_west.pk)
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=stranger.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    def summaries(user):
        history = customer_history_for_user(user, survivor.pk)
        entries = describe_history(list(history.events()), viewer=user, history=history)
        return [entry.summary for entry in entries]

    assert not [s for s in summaries(company.rep) if stranger.name in s]
    assert len([s for s in summaries(company.admin) if stranger.name in s]) == 2
