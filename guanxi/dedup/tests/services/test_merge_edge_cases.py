"""Merging and undoing where rows, rights or decisions collide: unique rules on related rows,
people of a merged organisation, a merged customer out of the undoer's reach, chains of merges,
the pairs and last contact a merge changes, and what the audit trail says about it all."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.analytics.models import AnalyticsRun, Blacklist, ChurnFollowUp, CustomerValue
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(company):
    first = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    second = customer_create(actor=company.rep, data={"name": "張偉", "phones": ["13812345678"]})
    return first, second


# --- rows under a unique rule --------------------------------------------------------------


def test_both_blacklisted_each_keeps_its_own_entry_through_merge_and_undo(company, twins):
    first, second = twins
    Blacklist.objects.create(customer=first, reason="late payer")
    Blacklist.objects.create(customer=second, reason="fraud")
    merge = customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    assert Blacklist.objects.get(customer=first).reason == "late payer"
    assert Blacklist.objects.get(customer=second).reason == "fraud"
    assert list(merge.details["stayed"]) == ["analytics.blacklist.customer"]
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    assert Blacklist.objects.get(customer=first).reason == "late payer"
    assert Blacklist.objects.get(customer=second).reason == "fraud"


def test_a_blacklist_entry_the_survivor_lacks_moves_and_comes_back(company, twins):
    first, second = twins
    entry = Blacklist.objects.create(customer=second, reason="fraud")
    merge = customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    assert Blacklist.objects.get(pk=entry.pk).customer_id == first.pk
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    assert Blacklist.objects.get(pk=entry.pk).customer_id == second.pk


def test_only_one_open_churn_follow_up_after_merging_two_customers_that_each_had_one(
    company, twins
):
    first, second = twins
    ChurnFollowUp.objects.create(customer=first, owner=company.rep, reason="recency")
    theirs = ChurnFollowUp.objects.create(customer=second, owner=company.rep, reason="recency")
    done = ChurnFollowUp.objects.create(
        customer=second, owner=company.rep, reason="recency", done_at=timezone.now()
    )
    customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    assert ChurnFollowUp.objects.filter(customer=first, done_at__isnull=True).count() == 1
    # The open one stays with the customer in the recycle bin; the closed one is history.
    assert ChurnFollowUp.objects.get(pk=theirs.pk).customer_id == second.pk
    assert ChurnFollowUp.objects.get(pk=done.pk).customer_id == first.pk


def test_value_rows_of_the_same_run_stay_apart_and_other_runs_move(company, twins):
    first, second = twins
    today = dt.date.today()
    current = AnalyticsRun.objects.create(as_of=today, status="succeeded", is_current=True)
    older = AnalyticsRun.objects.create(as_of=today - dt.timedelta(days=1), status="succeeded")
    CustomerValue.objects.create(run=current, customer=first)
    theirs = CustomerValue.objects.create(run=current, customer=second)
    older_theirs = CustomerValue.objects.create(run=older, customer=second)
    customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    assert CustomerValue.objects.filter(run=current, customer=first).count() == 1
    assert CustomerValue.objects.get(pk=theirs.pk).customer_id == second.pk
    assert CustomerValue.objects.get(pk=older_theirs.pk).customer_id == first.pk


# --- people of a merged organisation -------------------------------------------------------


@pytest.fixture
def organisations(company):
    kept = customer_create(
        actor=company.rep, data={"name": "华瑞科技", "party_type": "organization"}
    )
    merged = customer_create(
        actor=company.rep, data={"name": "上海华瑞科技有限公司", "party_type": "organization"}
    )
    return kept, merged


def test_merging_organisations_moves_and_audits_their_people_both_ways(company, organisations):
    kept, merged = organisations
    person = customer_create(actor=company.rep, data={"name": "李娜", "organization_id": merged.pk})
    merge = customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=merged.pk)
    person.refresh_from_db()
    assert person.organization_id == kept.pk
    event = AuditEvent.objects.get(customer_id=person.pk, action=AuditEvent.Action.MERGE)
    assert event.actor == company.rep
    assert event.changes == {"organization_id": {"before": merged.pk, "after": kept.pk}}

    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    person.refresh_from_db()
    assert person.organization_id == merged.pk
    event = AuditEvent.objects.get(customer_id=person.pk, action=AuditEvent.Action.UNMERGE)
    assert event.changes == {"organization_id": {"before": kept.pk, "after": merged.pk}}


def test_an_organisation_with_people_out_of_reach_is_not_merged(company, organisations):
    kept, merged = organisations
    west_person = CustomerFactory(name="王五", owner=company.rep_west, organization=merged)
    with pytest.raises(ValidationError) as raised:
        customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=merged.pk)
    assert "merged_id" in raised.value.message_dict
    west_person.refresh_from_db()
    merged.refresh_from_db()
    assert west_person.organization_id == merged.pk
    assert merged.deleted_at is None
    # An administrator may change them all, so may merge.
    customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    west_person.refresh_from_db()
    assert west_person.organization_id == kept.pk


# --- who may undo --------------------------------------------------------------------------


def test_undo_is_refused_to_whom_the_merged_customer_is_out_of_reach(company):
    west, survivor = company.west_customer, company.rep_customer
    interaction_log(
        actor=company.admin, customer_id=west.pk, data={"channel": "phone", "subject": "west"}
    )
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=west.pk)
    # The East manager may change the survivor, but the West customer is not theirs.
    with pytest.raises(PermissionDenied):
        customer_merge_undo(actor=company.manager, merge_id=merge.pk)
    assert Customer.objects.get(pk=west.pk).deleted_at is not None
    assert Interaction.objects.get(subject="west").customer_id == survivor.pk
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert Interaction.objects.get(subject="west").customer_id == west.pk


def test_the_customer_page_offers_undo_only_where_it_would_be_allowed(client, company):
    west, survivor = company.west_customer, company.rep_customer
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=west.pk)
    undo_url = f"/duplicates/merges/{merge.pk}/undo/"
    client.force_login(company.manager)
    assert undo_url not in client.get(f"/customers/{survivor.pk}/").content.decode()
    client.force_login(company.admin)
    assert undo_url in client.get(f"/customers/{survivor.pk}/").content.decode()


def test_undoing_the_first_merge_of_a_chain_says_which_to_undo_first(client, company):
    first, second, third = (
        customer_create(actor=company.rep, data={"name": name, "phones": ["13812345678"]})
        for name in ("甲", "乙", "丙")
    )
    earlier = customers_merge(actor=company.rep, survivor_id=second.pk, merged_id=first.pk)
    customers_merge(actor=company.rep, survivor_id=third.pk, merged_id=second.pk)
    client.force_login(company.rep)
    response = client.post(f"/duplicates/merges/{earlier.pk}/undo/", follow=True)
    assert response.redirect_chain[-1][0] == f"/customers/{third.pk}/"
    assert "undo that merge first" in response.content.decode()
    assert Customer.objects.get(pk=first.pk).deleted_at is not None


# --- what undo gives back ------------------------------------------------------------------


def test_undo_gives_back_the_merged_customers_other_pairs(company, twins):
    first, second = twins
    third = customer_create(actor=company.rep, data={"name": "张伟", "emails": ["z@example.com"]})
    fourth = customer_create(actor=company.rep, data={"name": "张伟", "emails": ["y@example.com"]})

    def pair(a, b, score):
        low, high = sorted((a.pk, b.pk))
        return DuplicatePair.objects.create(left_id=low, right_id=high, score=score, source="scan")

    moved = pair(second, third, 0.9)  # re-pointed to (first, third) by the merge
    pair(first, fourth, 0.8)
    removed = pair(second, fourth, 0.7)  # the survivor has that pair already: removed
    merge = customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    assert not DuplicatePair.objects.filter(pk=removed.pk).exists()
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    open_pairs = {
        (p.left_id, p.right_id, p.score) for p in DuplicatePair.objects.filter(status="open")
    }
    # The undone pair itself is open again too, scored as the two are.
    undone = DuplicatePair.objects.get(left_id=first.pk, right_id=second.pk)
    assert undone.status == DuplicatePair.Status.OPEN
    assert open_pairs - {(first.pk, second.pk, undone.score)} == {
        (moved.left_id, moved.right_id, 0.9),
        (min(first.pk, fourth.pk), max(first.pk, fourth.pk), 0.8),
        (removed.left_id, removed.right_id, 0.7),
    }


def test_undo_gives_the_survivor_its_own_last_contact_back(company, twins):
    first, second = twins
    old = timezone.now() - dt.timedelta(days=300)
    recent = timezone.now() - dt.timedelta(days=1)
    Customer.objects.filter(pk=first.pk).update(last_contacted_at=old)
    Customer.objects.filter(pk=second.pk).update(last_contacted_at=recent)
    merge = customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    assert Customer.objects.get(pk=first.pk).last_contacted_at == recent
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    assert Customer.objects.get(pk=first.pk).last_contacted_at == old


# --- the audit trail -----------------------------------------------------------------------


@pytest.fixture
def consenting(company):
    survivor = customer_create(
        actor=company.rep,
        data={
            "name": "张伟",
            "phones": ["13812345678"],
            "tags": ["VIP"],
            "consents": [
                {
                    "channel": "email",
                    "granted": True,
                    "method": "web_form",
                    "recorded_at": timezone.now() - dt.timedelta(days=30),
                }
            ],
        },
    )
    duplicate = customer_create(
        actor=company.rep,
        data={
            "name": "張偉",
            "phones": ["010-62345678"],
            "emails": ["zw@example.com"],
            "tags": ["展会"],
            "industry": "制造业",
            "consents": [
                {
                    "channel": "email",
                    "granted": False,
                    "method": "email",
                    "recorded_at": timezone.now() - dt.timedelta(days=1),
                }
            ],
        },
    )
    return survivor, duplicate


def test_merge_and_undo_audit_every_change_to_the_survivor(company, consenting):
    survivor, duplicate = consenting
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=duplicate.pk)
    event = AuditEvent.objects.get(action=AuditEvent.Action.MERGE, customer_id=survivor.pk)
    assert {"industry", "phones", "emails", "tags", "consents"} <= set(event.changes)
    assert event.changes["tags"] == {"before": ["VIP"], "after": ["VIP", "展会"]}
    assert event.changes["industry"] == {"before": "", "after": "制造业"}
    assert event.changes["merged_from"] == {"before": None, "after": duplicate.pk}

    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    event = AuditEvent.objects.get(action=AuditEvent.Action.UNMERGE, customer_id=survivor.pk)
    assert {"industry", "phones", "emails", "tags", "consents"} <= set(event.changes)
    assert event.changes["tags"] == {"before": ["VIP", "展会"], "after": ["VIP"]}
    survivor.refresh_from_db()
    assert survivor.consents.get(channel="email").granted is True
