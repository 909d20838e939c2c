"""Restoring a customer from the recycle bin: only administrators, only a customer that is
there, only as the caller saw it, and back in search and duplicate detection afterwards."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import (
    StaleVersionError,
    customer_create,
    customer_delete,
    customer_restore,
    customer_update,
)
from guanxi.dedup.models import MatchKey, MatchProfile

pytestmark = pytest.mark.django_db


def _found(user, query: str) -> set[str]:
    return set(customer_list_for_user(user, filters={"q": query}).values_list("name", flat=True))


def test_a_restored_customer_is_found_by_search_and_by_duplicate_detection_again(company):
    customer = customer_create(
        actor=company.rep, data={"name": "欧阳娜娜", "phones": ["13912345678"]}
    )
    keys = set(MatchKey.objects.filter(customer_id=customer.pk).values_list("rule", "key_hash"))
    assert keys
    customer_delete(actor=company.manager, customer_id=customer.pk)
    assert not MatchKey.objects.filter(customer_id=customer.pk).exists()
    assert _found(company.rep, "欧阳娜娜") == set()

    deleted = Customer.objects.get(pk=customer.pk)
    restored = customer_restore(
        actor=company.admin, customer_id=customer.pk, expected_version=deleted.version
    )

    assert restored.deleted_at is None and restored.version == deleted.version + 1
    assert _found(company.rep, "欧阳娜娜") == {"欧阳娜娜"}
    assert _found(company.rep, "ouyang") == {"欧阳娜娜"}
    assert _found(company.rep, "5678") == {"欧阳娜娜"}
    after = set(MatchKey.objects.filter(customer_id=customer.pk).values_list("rule", "key_hash"))
    assert after == keys
    assert MatchProfile.objects.filter(customer_id=customer.pk).exists()
    event = AuditEvent.objects.filter(customer_id=customer.pk).latest("id")
    assert (event.action, event.actor, event.changes) == (
        AuditEvent.Action.UPDATE,
        company.admin,
        {"deleted": {"before": True, "after": False}},
    )


@pytest.mark.parametrize("username", ["manager", "manager_west", "rep", "agent", "analyst"])
def test_only_administrators_restore(company, username):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        customer_restore(actor=company.users[username], customer_id=customer.pk)
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None
    assert AuditEvent.objects.count() == events


def test_a_customer_restored_meanwhile_is_refused_saying_so(company):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    seen = Customer.objects.get(pk=customer.pk).version
    customer_restore(actor=company.admin, customer_id=customer.pk, expected_version=seen)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        customer_restore(actor=company.admin, customer_id=customer.pk, expected_version=seen)

    [message] = refused.value.message_dict["customer_id"]
    assert customer.name in message and "restored it meanwhile" in message
    assert AuditEvent.objects.count() == events


def test_a_customer_restored_and_deleted_again_meanwhile_is_not_restored_on_an_old_look(company):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    seen = Customer.objects.get(pk=customer.pk).version
    restored = customer_restore(actor=company.admin, customer_id=customer.pk)
    customer_update(
        actor=company.admin,
        customer_id=customer.pk,
        expected_version=restored.version,
        data={"industry": "零售"},
    )
    customer_delete(actor=company.admin, customer_id=customer.pk)

    with pytest.raises(StaleVersionError):
        customer_restore(actor=company.admin, customer_id=customer.pk, expected_version=seen)
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None


def test_a_person_of_an_organisation_in_the_recycle_bin_waits_for_the_organisation(company):
    admin = company.admin
    org = customer_create(actor=admin, data={"name": "Acme Trading", "party_type": "organization"})
    person = customer_create(actor=admin, data={"name": "Li Lei", "organization_id": org.pk})
    customer_delete(actor=admin, customer_id=person.pk)
    customer_delete(actor=admin, customer_id=org.pk)

    with pytest.raises(ValidationError) as refused:
        customer_restore(actor=admin, customer_id=person.pk)
    [message] = refused.value.message_dict["customer_id"]
    assert "Acme Trading" in message and f"#{org.pk}" in message
    assert Customer.objects.get(pk=person.pk).deleted_at is not None

    customer_restore(actor=admin, customer_id=org.pk)
    customer_restore(actor=admin, customer_id=person.pk)
    assert _found(admin, "acme") == {"Acme Trading", "Li Lei"}


def test_an_id_that_was_never_a_customer_is_not_found(company):
    with pytest.raises(Customer.DoesNotExist):
        customer_restore(actor=company.admin, customer_id=2**62)
