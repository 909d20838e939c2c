"""Blacklist services: permission through the visibility rule, audit rows in the same
transaction."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.analytics.models import Blacklist
from guanxi.analytics.services import blacklist_add, blacklist_remove
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError


def _version(customer) -> int:
    return Customer.objects.values_list("version", flat=True).get(pk=customer.pk)


def test_owner_adds_and_removes_with_audit_rows(company):
    customer = company.rep_customer
    entry = blacklist_add(actor=company.rep, customer_id=customer.pk, reason=" never pays ")
    assert (entry.customer, entry.reason, entry.added_by) == (customer, "never pays", company.rep)
    added = AuditEvent.objects.get(object_type="blacklist", action=AuditEvent.Action.CREATE)
    assert (added.actor, added.customer_id, added.object_id) == (company.rep, customer.pk, entry.pk)
    assert added.changes["reason"] == {"before": None, "after": "never pays"}

    with pytest.raises(ValidationError):
        blacklist_add(actor=company.rep, customer_id=customer.pk, reason="again")

    blacklist_remove(
        actor=company.rep, customer_id=customer.pk, expected_version=_version(customer)
    )
    assert not Blacklist.objects.exists()
    removed = AuditEvent.objects.get(object_type="blacklist", action=AuditEvent.Action.DELETE)
    assert removed.actor == company.rep and removed.customer_id == customer.pk
    with pytest.raises(ValidationError):
        blacklist_remove(
            actor=company.rep, customer_id=customer.pk, expected_version=_version(customer)
        )


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
        blacklist_remove(actor=actor, customer_id=target.pk, expected_version=_version(target))
    assert Blacklist.objects.filter(customer=target).exists()
    assert not AuditEvent.objects.exists()


def test_a_manager_may_blacklist_the_departments_customers(company):
    blacklist_add(actor=company.manager, customer_id=company.rep_b_customer.pk, reason="fraud")
    assert Blacklist.objects.get().customer == company.rep_b_customer


def test_putting_on_and_taking_off_are_changes_to_the_customer(company):
    customer = company.rep_customer
    read = _version(customer)
    blacklist_add(actor=company.rep, customer_id=customer.pk, reason="never pays")
    assert _version(customer) == read + 1
    blacklist_remove(actor=company.rep, customer_id=customer.pk, expected_version=read + 1)
    assert _version(customer) == read + 2


def test_a_removal_decided_on_an_entry_since_replaced_is_refused(company):
    customer = company.rep_customer
    blacklist_add(actor=company.rep, customer_id=customer.pk, reason="late payer")
    seen = _version(customer)  # the rep reads the entry ...
    # ... while the manager takes it off and puts it back for a graver reason.
    blacklist_remove(actor=company.manager, customer_id=customer.pk, expected_version=seen)
    blacklist_add(actor=company.manager, customer_id=customer.pk, reason="fraud")
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(StaleVersionError) as refused:
        blacklist_remove(actor=company.rep, customer_id=customer.pk, expected_version=seen)
    assert refused.value.field == "version" and refused.value.current_version == seen + 2
    assert Blacklist.objects.get(customer=customer).reason == "fraud"
    assert AuditEvent.objects.count() == audit_rows and _version(customer) == seen + 2
