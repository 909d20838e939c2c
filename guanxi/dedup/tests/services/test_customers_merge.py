"""Merging two customers and undoing it, through the services, as the named users."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer, MarketingConsent
from guanxi.customers.services import StaleVersionError, customer_create, customer_update
from guanxi.dedup.models import CustomerMerge, DuplicatePair, MatchKey
from guanxi.dedup.services import customer_merge_undo, customers_merge, duplicate_pair_reject
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def _person(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, **data})


@pytest.fixture
def pair(company):
    """The same customer entered twice by the rep: once from a call, once from a card."""
    rep = company.rep
    survivor = _person(
        rep,
        "张伟",
        phones=["13812345678"],
        tags=["VIP"],
        consents=[
            {
                "channel": "email",
                "granted": True,
                "method": "web_form",
                "recorded_at": timezone.now() - dt.timedelta(days=30),
            }
        ],
    )
    duplicate = _person(
        rep,
        "張偉",
        phones=["+86 138 1234 5678", "010-62345678"],
        emails=["zhang.wei@example.com"],
        addresses=[{"street": "人民路 1 号", "city": "北京", "postcode": "100000"}],
        tags=["展会2026"],
        industry="制造业",
        birth_date="1985-03-02",
        external_id="CARD-17",
        id_number="11010519491231002X",
        consents=[
            {
                "channel": "email",
                "granted": False,
                "method": "email",
                "recorded_at": timezone.now() - dt.timedelta(days=1),
            }
        ],
    )
    for customer, subject in ((survivor, "First call"), (duplicate, "Visit with the card")):
        interaction_log(
            actor=rep, customer_id=customer.pk, data={"channel": "phone", "subject": subject}
        )
    return survivor, duplicate


def test_merge_keeps_the_survivor_and_moves_the_history(company, pair):
    survivor, duplicate = pair
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=duplicate.pk)

    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert merge.survivor_id == survivor.pk and duplicate.deleted_at is not None
    assert set(Interaction.objects.filter(customer=survivor).values_list("subject", flat=True)) == {
        "First call",
        "Visit with the card",
    }
    # Contact details copied where the survivor lacked them, nothing doubled.
    assert sorted(survivor.phones.values_list("number", flat=True)) == [
        "+861062345678",
        "+8613812345678",
    ]
    assert list(survivor.emails.values_list("address", flat=True)) == ["zhang.wei@example.com"]
    assert survivor.addresses.count() == 1
    assert set(survivor.tags.values_list("name", flat=True)) == {"VIP", "展会2026"}
    # Empty fields filled; the later refusal of email marketing wins.
    assert survivor.industry == "制造业" and survivor.birth_date == dt.date(1985, 3, 2)
    assert survivor.external_id == "CARD-17" and survivor.id_number_masked
    assert survivor.consents.get(channel="email").granted is False
    # The merged customer is out of duplicate detection, the survivor is in it.
    assert not MatchKey.objects.filter(customer_id=duplicate.pk).exists()
    assert MatchKey.objects.filter(customer_id=survivor.pk).exists()
    assert "13812345678" in survivor.search_text and "62345678" in survivor.search_text
    pair_row = DuplicatePair.objects.get(left_id=survivor.pk, right_id=duplicate.pk)
    assert pair_row.status == DuplicatePair.Status.MERGED
    merges = AuditEvent.objects.filter(action=AuditEvent.Action.MERGE)
    assert set(merges.values_list("customer_id", flat=True)) == {survivor.pk, duplicate.pk}
    event = merges.get(customer_id=survivor.pk)
    assert event.changes["industry"] == {"before": "", "after": "制造业"}
    assert event.changes["id_number"]["after"] == "[changed]"  # never the value itself
    assert survivor.version == 2


def test_undo_restores_both_customers_as_they_were(company, pair):
    survivor, duplicate = pair
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=duplicate.pk)
    after_merge = Customer.objects.get(pk=survivor.pk)
    # Work done on the survivor after the merge stays with it.
    interaction_log(
        actor=company.rep, customer_id=survivor.pk, data={"channel": "email", "subject": "Later"}
    )

    customer_merge_undo(actor=company.rep, merge_id=merge.pk)

    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.deleted_at is None and duplicate.external_id == "CARD-17"
    assert survivor.external_id is None and survivor.industry == "" and not survivor.birth_date
    assert not survivor.id_number_hash and duplicate.id_number_hash
    assert list(survivor.phones.values_list("number", flat=True)) == ["+8613812345678"]
    assert not survivor.emails.exists() and not survivor.addresses.exists()
    assert set(survivor.tags.values_list("name", flat=True)) == {"VIP"}
    assert survivor.consents.get(channel="email").granted is True
    assert duplicate.phones.count() == 2 and duplicate.emails.count() == 1
    assert set(Interaction.objects.filter(customer=survivor).values_list("subject", flat=True)) == {
        "First call",
        "Later",
    }
    assert list(
        Interaction.objects.filter(customer=duplicate).values_list("subject", flat=True)
    ) == ["Visit with the card"]
    assert survivor.version == after_merge.version + 1
    assert MatchKey.objects.filter(customer_id=duplicate.pk).exists()
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == company.rep
    pair_row = DuplicatePair.objects.get(left_id=survivor.pk, right_id=duplicate.pk)
    assert pair_row.status == DuplicatePair.Status.OPEN  # back in the queue, undecided
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UNMERGE).count() == 2
    with pytest.raises(ValidationError):
        customer_merge_undo(actor=company.rep, merge_id=merge.pk)


def test_undo_keeps_what_people_changed_since(company, pair):
    survivor, duplicate = pair
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=duplicate.pk)
    current = Customer.objects.get(pk=survivor.pk)
    customer_update(
        actor=company.rep,
        customer_id=survivor.pk,
        expected_version=current.version,
        data={"industry": "批发零售"},
    )
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    survivor.refresh_from_db()
    assert survivor.industry == "批发零售"
    event = AuditEvent.objects.get(action=AuditEvent.Action.UNMERGE, customer_id=survivor.pk)
    assert event.changes["kept"]["after"] == ["industry"]


def test_merge_needs_change_rights_on_both(company):
    rep_customer = company.rep_customer
    with pytest.raises(Customer.DoesNotExist):  # out of sight: not revealed
        customers_merge(
            actor=company.rep, survivor_id=rep_customer.pk, merged_id=company.west_customer.pk
        )
    with pytest.raises(PermissionDenied):  # in sight (team shares viewing) but not theirs
        customers_merge(
            actor=company.rep,
            survivor_id=rep_customer.pk,
            merged_id=company.teammate_customer.pk,
        )
    with pytest.raises(PermissionDenied):
        customers_merge(
            actor=company.analyst,
            survivor_id=rep_customer.pk,
            merged_id=company.unowned_customer.pk,
        )
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.filter(deleted_at__isnull=False).count() == 0


def test_merge_refuses_mismatched_or_stale_customers(company, pair):
    survivor, duplicate = pair
    with pytest.raises(ValidationError):
        customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=survivor.pk)
    organisation = customer_create(
        actor=company.rep, data={"name": "华瑞科技", "party_type": "organization"}
    )
    with pytest.raises(ValidationError):
        customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=organisation.pk)
    with pytest.raises(StaleVersionError):
        customers_merge(
            actor=company.rep,
            survivor_id=survivor.pk,
            merged_id=duplicate.pk,
            merged_version=duplicate.version + 1,
        )
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.get(pk=duplicate.pk).deleted_at is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MERGE).exists()


def test_merging_organisations_moves_their_people(company):
    rep = company.rep
    first = customer_create(actor=rep, data={"name": "华瑞科技", "party_type": "organization"})
    second = customer_create(
        actor=rep, data={"name": "上海华瑞科技有限公司", "party_type": "organization"}
    )
    person = customer_create(actor=rep, data={"name": "李娜", "organization_id": second.pk})
    merge = customers_merge(actor=rep, survivor_id=first.pk, merged_id=second.pk)
    person.refresh_from_db()
    assert person.organization_id == first.pk and person.version == 2
    assert "华瑞科技" in person.search_text
    customer_merge_undo(actor=rep, merge_id=merge.pk)
    person.refresh_from_db()
    assert person.organization_id == second.pk


def test_open_pairs_of_the_merged_customer_move_to_the_survivor(company, pair):
    survivor, duplicate = pair
    third = _person(company.rep, "张伟", emails=["zhang.wei@example.com"])
    low, high = sorted((duplicate.pk, third.pk))
    DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=duplicate.pk)
    moved = DuplicatePair.objects.get(status=DuplicatePair.Status.OPEN)
    assert (moved.left_id, moved.right_id) == tuple(sorted((survivor.pk, third.pk)))


def test_undo_is_for_who_merged_or_a_manager(company, pair):
    survivor, duplicate = pair
    merge = customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=duplicate.pk)
    with pytest.raises(Customer.DoesNotExist):
        customer_merge_undo(actor=company.rep_west, merge_id=merge.pk)
    customer_merge_undo(actor=company.manager, merge_id=merge.pk)
    assert Customer.objects.get(pk=duplicate.pk).deleted_at is None


def test_rejecting_a_pair_is_remembered(company, pair):
    survivor, duplicate = pair
    row = DuplicatePair.objects.create(
        left_id=survivor.pk, right_id=duplicate.pk, score=0.85, source="scan"
    )
    with pytest.raises(PermissionDenied):
        duplicate_pair_reject(actor=company.analyst, pair_id=row.pk)
    duplicate_pair_reject(actor=company.rep, pair_id=row.pk)
    row.refresh_from_db()
    assert row.status == DuplicatePair.Status.REJECTED and row.decided_by == company.rep
    with pytest.raises(ValidationError):
        duplicate_pair_reject(actor=company.rep, pair_id=row.pk)
    assert MarketingConsent.objects.filter(customer=survivor).count() == 1
