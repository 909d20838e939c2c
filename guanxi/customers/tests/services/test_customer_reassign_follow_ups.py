"""Reassigning customers takes their open churn follow-ups along: a follow-up is a task for the
customer's account manager, so it must not stay with someone who no longer holds the customer
(and who may not even be allowed to close it)."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.services import customer_update, customers_reassign

pytestmark = pytest.mark.django_db


def _follow_up(customer, owner, **extra):
    return ChurnFollowUp.objects.create(customer=customer, owner=owner, reason="overdue", **extra)


def _events(follow_up):
    return AuditEvent.objects.filter(object_type="churn_follow_up", object_id=follow_up.pk)


def test_open_follow_ups_move_to_the_new_account_manager_with_an_audit_row(company):
    follow_up = _follow_up(company.rep_customer, company.rep)
    customers_reassign(
        actor=company.manager, from_owner_id=company.rep.pk, to_owner_id=company.teammate.pk
    )
    follow_up.refresh_from_db()
    assert follow_up.owner == company.teammate and follow_up.done_at is None
    event = _events(follow_up).get()
    assert event.action == AuditEvent.Action.REASSIGN and event.actor == company.manager
    assert event.customer_id == company.rep_customer.pk
    assert event.changes == {"owner_id": {"before": company.rep.pk, "after": company.teammate.pk}}


def test_a_done_follow_up_stays_as_it_was(company):
    done = _follow_up(company.rep_customer, company.rep, done_at="2026-01-01T00:00:00Z")
    customers_reassign(
        actor=company.manager, from_owner_id=company.rep.pk, to_owner_id=company.teammate.pk
    )
    done.refresh_from_db()
    assert done.owner == company.rep
    assert not _events(done).exists()


def test_only_the_chosen_customers_follow_ups_move(company):
    other = CustomerFactory(owner=company.rep)
    chosen = _follow_up(company.rep_customer, company.rep)
    left = _follow_up(other, company.rep)
    customers_reassign(
        actor=company.admin,
        from_owner_id=company.rep.pk,
        to_owner_id=company.teammate.pk,
        customer_ids=[company.rep_customer.pk],
    )
    chosen.refresh_from_db()
    left.refresh_from_db()
    assert (chosen.owner, left.owner) == (company.teammate, company.rep)


def test_a_follow_up_left_with_an_earlier_owner_follows_the_customer_too(company):
    # The refresh opens a follow-up for the customer's owner and nothing gives one to anyone
    # else, so one held by another person is left over from an earlier move; that person may
    # not even be allowed to close it.
    stale = _follow_up(company.rep_customer, company.rep_b)
    customers_reassign(
        actor=company.admin, from_owner_id=company.rep.pk, to_owner_id=company.teammate.pk
    )
    stale.refresh_from_db()
    assert stale.owner == company.teammate
    assert _events(stale).get().changes["owner_id"] == {
        "before": company.rep_b.pk,
        "after": company.teammate.pk,
    }


def test_to_the_unowned_pool_open_follow_ups_are_closed(company):
    # The pool has nobody to do the task; the refresh opens a new one for whoever takes the
    # customer, if the customer still looks lost.
    follow_up = _follow_up(company.rep_customer, company.rep)
    customers_reassign(actor=company.manager, from_owner_id=company.rep.pk, to_owner_id=None)
    follow_up.refresh_from_db()
    assert follow_up.owner == company.rep and follow_up.done_at is not None
    event = _events(follow_up).get()
    assert event.action == AuditEvent.Action.UPDATE
    assert event.changes["done_at"]["before"] is None


def test_a_refused_reassignment_leaves_the_follow_ups_alone(company):
    follow_up = _follow_up(company.rep_customer, company.rep)
    with pytest.raises(ValidationError):  # an analyst changes nothing, so may own nothing
        customers_reassign(
            actor=company.admin, from_owner_id=company.rep.pk, to_owner_id=company.analyst.pk
        )
    follow_up.refresh_from_db()
    assert follow_up.owner == company.rep
    assert not _events(follow_up).exists()


def test_changing_the_account_manager_on_the_customer_moves_its_follow_ups_too(company):
    # The edit form and PATCH /customers/{id} change the owner as a reassignment does.
    follow_up = _follow_up(company.rep_customer, company.rep)
    customer = customer_update(
        actor=company.manager,
        customer_id=company.rep_customer.pk,
        expected_version=company.rep_customer.version,
        data={"owner_id": company.teammate.pk},
    )
    follow_up.refresh_from_db()
    assert follow_up.owner == company.teammate and follow_up.done_at is None
    assert _events(follow_up).get().changes == {
        "owner_id": {"before": company.rep.pk, "after": company.teammate.pk}
    }
    # Into the pool, nobody is left to do it.
    customer_update(
        actor=company.manager,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"owner_id": None},
    )
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None


def test_an_edit_that_keeps_the_account_manager_leaves_the_follow_ups_alone(company):
    follow_up = _follow_up(company.rep_customer, company.rep)
    customer_update(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        expected_version=company.rep_customer.version,
        data={"industry": "零售", "owner_id": company.rep.pk},
    )
    follow_up.refresh_from_db()
    assert (follow_up.owner, follow_up.done_at) == (company.rep, None)
    assert not _events(follow_up).exists()
