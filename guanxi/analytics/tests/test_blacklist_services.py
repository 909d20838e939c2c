"""Blacklist services: permission through the visibility rule, audit rows in the same
transaction."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.analytics.models import Blacklist
from guanxi.analytics.services import blacklist_add, blacklist_remove
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer


def test_owner_adds_and_removes_with_audit_rows(company):
    customer = company.rep_customer
    entry = blacklist_add(actor=company.rep, customer_id=customer.pk, reason=" never pays ")
    assert (entry.customer, entry.reason, entry.added_by) == (customer, "never pays", company.rep)
    added = AuditEvent.objects.get(object_type="blacklist", action=AuditEvent.Action.CREATE)
    assert (added.actor, added.customer_id, added.object_id) == (company.rep, customer.pk, entry.pk)
    assert added.changes["reason"] == {"before": None, "after": "never pays"}

    with pytest.raises(ValidationError):
        blacklist_add(actor=company.rep, customer_id=customer.pk, reason="again")

    blacklist_remove(actor=company.rep, customer_id=customer.pk)
    assert not Blacklist.objects.exists()
    removed = AuditEvent.objects.get(object_type="blacklist", action=AuditEvent.Action.DELETE)
    assert removed.actor == company.rep and removed.customer_id == customer.pk
    with pytest.raises(ValidationError):
        blacklist_remove(actor=company.rep, customer_id=customer.pk)


def test_a_reason_is_required(company):
    with pytest.raises(ValidationError):
        blacklist_add(actor=company.rep, customer_id=company.rep_customer.pk, reason="  ")
    assert not Blacklist.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("user", "customer", "error"),
    [
        ("rep", "teammate_customer", PermissionDenied),  # visible, not changeable
        ("analyst", "rep_customer", PermissionDenied),  # reads everything, writes nothing
        ("rep", "west_customer", Customer.DoesNotExist),  # not even visible
    ],
)
def test_without_the_right_to_change_the_customer_nothing_is_written(
    company, user, customer, error
):
    actor, target = getattr(company, user), getattr(company, customer)
    with pytest.raises(error):
        blacklist_add(actor=actor, customer_id=target.pk, reason="late payer")
    assert not Blacklist.objects.exists() and not AuditEvent.objects.exists()

    Blacklist.objects.create(customer=target, reason="late payer", added_by=company.admin)
    with pytest.raises(error):
        blacklist_remove(actor=actor, customer_id=target.pk)
    assert Blacklist.objects.filter(customer=target).exists()
    assert not AuditEvent.objects.exists()


def test_a_manager_may_blacklist_the_departments_customers(company):
    blacklist_add(actor=company.manager, customer_id=company.rep_b_customer.pk, reason="fraud")
    assert Blacklist.objects.get().customer == company.rep_b_customer
