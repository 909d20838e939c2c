"""Undoing a merge says nothing about whether the two customers are one: whoever undid it may
have kept the wrong record or merged too soon. Their pair goes back to the review queue as open,
however the merge was started (the pair's page, the API's merge of a customer, a pair an import
queued), and the history of both customers shows the merge and its undo."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge, DuplicatePair
from guanxi.dedup.selectors import duplicate_pairs_for_user
from guanxi.dedup.services import customer_merge_undo, customers_merge, duplicate_pair_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(company):
    first = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    second = customer_create(
        actor=company.rep, data={"name": "張偉", "phones": ["+86 138 1234 5678"]}
    )
    return first, second


def _queued(first, second, source=DuplicatePair.Source.SCAN) -> DuplicatePair:
    low, high = sorted((first.pk, second.pk))
    return DuplicatePair.objects.create(
        left_id=low,
        right_id=high,
        score=0.97,
        source=source,
        details={"fields": [{"field": "phone", "level": "shared", "weight": 8.8}]},
    )


def _assert_open_again(company, pair: DuplicatePair) -> None:
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.OPEN
    assert (pair.decided_at, pair.decided_by) == (None, None)
    assert pair.pk in set(duplicate_pairs_for_user(company.manager).values_list("pk", flat=True))


def _assert_history_tells(first, second) -> None:
    for customer in (first, second):
        actions = list(
            AuditEvent.objects.filter(customer_id=customer.pk)
            .exclude(action=AuditEvent.Action.CREATE)
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert actions == [AuditEvent.Action.MERGE, AuditEvent.Action.UNMERGE], actions


def test_a_pair_merged_from_the_queue_is_open_again_after_the_undo(company, twins):
    first, second = twins
    pair = _queued(first, second)
    merge = duplicate_pair_merge(actor=company.manager, pair_id=pair.pk, survivor_id=first.pk)
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.MERGED

    customer_merge_undo(actor=company.manager, merge_id=merge.pk)

    _assert_open_again(company, pair)
    # As it was queued: the same score and reasons, found by the same scan.
    assert (pair.score, pair.source) == (0.97, DuplicatePair.Source.SCAN)
    assert pair.details["fields"][0]["field"] == "phone"
    _assert_history_tells(first, second)
    # And it can be merged again, the other way round this time.
    again = duplicate_pair_merge(actor=company.manager, pair_id=pair.pk, survivor_id=second.pk)
    assert again.survivor_id == second.pk


def test_a_pair_an_import_queued_is_open_again_after_the_undo(company, twins):
    first, second = twins
    pair = _queued(first, second, source=DuplicatePair.Source.IMPORT)
    # Merged from the customer's page rather than from the pair.
    merge = customers_merge(actor=company.rep, survivor_id=second.pk, merged_id=first.pk)

    customer_merge_undo(actor=company.rep, merge_id=merge.pk)

    _assert_open_again(company, pair)
    assert (pair.score, pair.source) == (0.97, DuplicatePair.Source.IMPORT)
    _assert_history_tells(first, second)


def test_a_merge_of_two_customers_nobody_queued_leaves_them_queued_with_their_score(company, twins):
    first, second = twins
    merge = customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)

    customer_merge_undo(actor=company.rep, merge_id=merge.pk)

    pair = DuplicatePair.objects.get()
    _assert_open_again(company, pair)
    # Scored as the two are, not the certainty the merge stood for while it lasted.
    assert 0.5 < pair.score < 1.0
    assert "phone" in {reason["field"] for reason in pair.details["fields"]}
    _assert_history_tells(first, second)


def test_the_pages_merge_and_undo_leave_the_pair_in_the_queue(client, company, twins):
    first, second = twins
    pair = _queued(first, second)
    client.force_login(company.manager)
    merged = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {"keep": str(second.pk), "version_left": "1", "version_right": "1"},
    )
    assert merged.status_code == 302
    assert f'href="/duplicates/{pair.pk}/"' not in client.get("/duplicates/").content.decode()
    merge = CustomerMerge.objects.get()

    assert client.post(f"/duplicates/merges/{merge.pk}/undo/").status_code == 302

    assert f'href="/duplicates/{pair.pk}/"' in client.get("/duplicates/").content.decode()
    assert f'href="/duplicates/{pair.pk}/"' not in (
        client.get("/duplicates/?status=rejected").content.decode()
    )
