"""Two hand-overs at the same moment, each of a rep who owns an organisation with a person of the
other's. An organisation changing hands writes its owner to its people (a database trigger),
locking them. Each hand-over locked the customers it moved in one ascending id pass and then
wrote their new owner: each held its own person while the trigger waited for the other's, and
the database broke one of them off as a deadlock. Now organisations come first, then the people
moved with the people of the organisations moved, so one waits for the other. Real concurrency
needs PostgreSQL."""

import threading

from django.db.models.query import QuerySet

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.analytics.models import ChurnFollowUp
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, hold_after_first, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update, customers_reassign
from guanxi.dedup import services as dedup_services
from guanxi.dedup.models import DuplicatePair

pytestmark = CONCURRENT


def _organisation(actor, name: str) -> Customer:
    return customer_create(actor=actor, data={"name": name, "party_type": "organization"})


def _person(actor, name: str, owner, organisation: Customer) -> Customer:
    return customer_create(
        actor=actor,
        data={"name": name, "owner_id": owner.pk, "organization_id": organisation.pk},
    )


def _crosswise(company) -> tuple[Customer, Customer, Customer, Customer]:
    """The East rep's organisation with a person of the West rep's, and the other way round."""
    eastern = _organisation(company.rep, "东方贸易")
    western = _organisation(company.rep_west, "西部物流")
    west_in_east = _person(company.admin, "李雷", company.rep_west, eastern)
    east_in_west = _person(company.admin, "韩梅", company.rep, western)
    return eastern, western, west_in_east, east_in_west


def _hold_before_new_owners(monkeypatch, *, thread: str) -> Hold:
    """Stop the hand-over on ``thread`` just before it writes the new owners, holding whatever
    it has locked to move them."""
    hold = Hold()
    original = QuerySet.update

    def update(self, **kwargs):
        if (
            threading.current_thread().name == thread
            and self.model is Customer
            and "owner_id" in kwargs
        ):
            hold.here()
        return original(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    return hold


def _owners(*customers: Customer) -> list:
    return [Customer.objects.get(pk=c.pk).owner_id for c in customers]


def _carried(*customers: Customer) -> list:
    return [Customer.objects.get(pk=c.pk).organization_owner_id for c in customers]


def test_two_reps_customers_reassigned_at_once_wait_for_each_other(company, monkeypatch):
    eastern, western, west_in_east, east_in_west = _crosswise(company)
    hold = _hold_before_new_owners(monkeypatch, thread="east")
    results = second_waits_for_first(
        lambda: customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep.pk,
            to_owner_id=company.teammate.pk,
            customer_ids=[eastern.pk, east_in_west.pk],
        ),
        lambda: customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep_west.pk,
            to_owner_id=company.manager_west.pk,
            customer_ids=[western.pk, west_in_east.pk],
        ),
        hold,
        names=("east", "west"),
    )
    assert results["east"] == ("ok", 2), results["east"][-1]
    assert results["west"] == ("ok", 2), results["west"][-1]
    assert _owners(eastern, east_in_west) == [company.teammate.pk] * 2
    assert _owners(western, west_in_east) == [company.manager_west.pk] * 2
    assert _carried(west_in_east, east_in_west) == [company.teammate.pk, company.manager_west.pk]


def test_two_reps_deactivated_at_once_wait_for_each_other(company, monkeypatch):
    eastern, western, west_in_east, east_in_west = _crosswise(company)
    # The leavers' open follow-ups: their customers are locked before the hand-over proper.
    for customer, owner in ((east_in_west, company.rep), (west_in_east, company.rep_west)):
        ChurnFollowUp.objects.create(customer=customer, owner=owner, reason="rfm")
    hold = _hold_before_new_owners(monkeypatch, thread="east")
    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
        lambda: user_deactivate(
            actor=company.admin, user_id=company.rep_west.pk, hand_over_to=POOL
        ),
        hold,
        names=("east", "west"),
    )
    assert results["east"][0] == "ok", results["east"][-1]
    assert results["west"][0] == "ok", results["west"][-1]
    assert _owners(eastern, western, west_in_east, east_in_west) == [None] * 4
    assert _carried(west_in_east, east_in_west) == [None, None]


def test_a_person_joining_an_organisation_while_both_are_reassigned(company, monkeypatch):
    # The person is older than the organisation they join: in one ascending pass the
    # reassignment locked the person first, while the save locks the organisation first.
    person = customer_create(actor=company.rep, data={"name": "王芳"})
    organisation = _organisation(company.rep, "南方电子")
    hold = hold_after_first(monkeypatch, customer_services, "_lock_organisation", thread="save")
    results = second_waits_for_first(
        lambda: customer_update(
            actor=company.rep,
            customer_id=person.pk,
            expected_version=person.version,
            data={"organization_id": organisation.pk},
        ),
        lambda: customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep.pk,
            to_owner_id=company.teammate.pk,
            customer_ids=[person.pk, organisation.pk],
        ),
        hold,
        names=("save", "reassign"),
    )
    assert results["save"][0] == "ok", results["save"][-1]
    assert results["reassign"] == ("ok", 2), results["reassign"][-1]
    stored = Customer.objects.get(pk=person.pk)
    assert (stored.organization_id, stored.owner_id, stored.organization_owner_id) == (
        organisation.pk,
        company.teammate.pk,
        company.teammate.pk,
    )


def _merged_while_the_organisation_is_handed_over(
    company, monkeypatch, merge, organisation, survivor
):
    """``merge`` (the merged person in ``organisation``, the survivor in none) held once it has
    locked the pair, then ``organisation`` reassigned: the hand-over waits for the merge, and the
    survivor ends in the organisation with its new owner."""
    hold = hold_after_first(monkeypatch, dedup_services, "_lock_pair", thread="merge")
    results = second_waits_for_first(
        merge,
        lambda: customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep.pk,
            to_owner_id=company.teammate.pk,
            customer_ids=[organisation.pk],
        ),
        hold,
        names=("merge", "reassign"),
    )
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["reassign"] == ("ok", 1), results["reassign"][-1]
    stored = Customer.objects.get(pk=survivor.pk)
    assert (stored.organization_id, stored.organization_owner_id) == (
        organisation.pk,
        company.teammate.pk,
    )


def test_a_person_merged_into_one_without_an_organisation_while_it_is_handed_over(
    company, monkeypatch
):
    # The survivor takes the merged person's organisation, whose hand-over waits for its people.
    organisation = _organisation(company.rep, "北方机械")
    survivor = customer_create(actor=company.rep, data={"name": "赵强"})
    merged = _person(company.admin, "赵强", company.rep, organisation)
    _merged_while_the_organisation_is_handed_over(
        company,
        monkeypatch,
        lambda: dedup_services.customers_merge(
            actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk
        ),
        organisation,
        survivor,
    )


def test_a_person_merged_from_the_review_queue_while_their_organisation_is_handed_over(
    company, monkeypatch
):
    # As above, the merge decided on a possible duplicate: the pair's two people are locked to
    # decide it, and the organisation was shared only after them.
    organisation = _organisation(company.rep, "东北重工")
    survivor = customer_create(actor=company.rep, data={"name": "孙立"})
    merged = _person(company.admin, "孙立", company.rep, organisation)
    pair = DuplicatePair.objects.create(
        left_id=survivor.pk,
        right_id=merged.pk,
        score=0.9,
        score_without_id_number=0.9,
        source="scan",
    )
    _merged_while_the_organisation_is_handed_over(
        company,
        monkeypatch,
        lambda: dedup_services.duplicate_pair_merge(
            actor=company.admin, pair_id=pair.pk, survivor_id=survivor.pk
        ),
        organisation,
        survivor,
    )
