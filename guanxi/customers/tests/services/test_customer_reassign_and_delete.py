import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import (
    customer_create,
    customer_delete,
    customer_restore,
    customer_reveal_sensitive,
    customer_update,
    customers_reassign,
)


def test_salesperson_leaves_and_all_their_customers_move_in_one_action(company):
    CustomerFactory.create_batch(5, owner=company.rep)
    moved = customers_reassign(
        actor=company.manager, from_owner_id=company.rep.pk, to_owner_id=company.teammate.pk
    )
    assert moved == 6  # five plus the fixture's rep_customer
    assert not Customer.objects.filter(owner=company.rep).exists()
    events = AuditEvent.objects.filter(action="reassign", object_type="customer")
    assert events.count() == 6
    assert events.first().changes["owner_id"] == {
        "before": company.rep.pk,
        "after": company.teammate.pk,
    }
    summary = AuditEvent.objects.get(action="reassign", object_type="user")
    assert summary.object_id == company.rep.pk and summary.actor == company.manager


def test_manager_cannot_reassign_outside_their_department(company):
    with pytest.raises(ValidationError):
        customers_reassign(
            actor=company.manager, from_owner_id=company.rep.pk, to_owner_id=company.rep_west.pk
        )
    # Customers of another department are simply out of reach: nothing moves.
    assert (
        customers_reassign(
            actor=company.manager, from_owner_id=company.rep_west.pk, to_owner_id=company.rep.pk
        )
        == 0
    )
    assert Customer.objects.get(pk=company.west_customer.pk).owner == company.rep_west


def test_reps_and_analysts_cannot_reassign(company):
    for actor in (company.rep, company.analyst, company.agent):
        with pytest.raises(PermissionDenied):
            customers_reassign(
                actor=actor, from_owner_id=company.rep.pk, to_owner_id=company.teammate.pk
            )
    assert not AuditEvent.objects.exists()


def test_selected_customers_must_all_be_reachable(company):
    with pytest.raises(ValidationError):
        customers_reassign(
            actor=company.manager,
            from_owner_id=company.rep.pk,
            to_owner_id=company.teammate.pk,
            customer_ids=[company.rep_customer.pk, company.west_customer.pk],
        )
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep


def test_delete_hides_the_customer_keeps_history_and_can_be_restored(company):
    customer = customer_create(actor=company.rep, data={"name": "To delete"})
    with pytest.raises(PermissionDenied):
        customer_delete(actor=company.rep, customer_id=customer.pk)
    customer_delete(actor=company.manager, customer_id=customer.pk)
    assert not Customer.objects.visible_to(company.admin).filter(pk=customer.pk).exists()
    assert AuditEvent.objects.filter(customer_id=customer.pk, action="delete").exists()
    customer_restore(actor=company.admin, customer_id=customer.pk)
    assert Customer.objects.visible_to(company.rep).filter(pk=customer.pk).exists()


def test_a_restored_person_is_found_by_their_organisations_current_name(company):
    admin = company.admin
    org = customer_create(actor=admin, data={"name": "Oldco Trading", "party_type": "organization"})
    person = customer_create(actor=admin, data={"name": "Li Lei", "organization_id": org.pk})
    customer_delete(actor=admin, customer_id=person.pk)
    # Renaming the organisation rebuilds the search text of its people still in use only.
    org.refresh_from_db()
    customer_update(
        actor=admin, customer_id=org.pk, expected_version=org.version, data={"name": "Newco Ltd"}
    )
    customer_restore(actor=admin, customer_id=person.pk)

    def found(query):
        matches = customer_list_for_user(admin, filters={"q": query})
        return set(matches.values_list("name", flat=True))

    assert found("newco") == {"Newco Ltd", "Li Lei"}
    assert found("oldco") == set()


def test_reveal_requires_permission_and_is_audited(company):
    customer = customer_create(
        actor=company.rep,
        data={"name": "Reveal", "phones": ["13812345678"], "id_number": "11010519491231002X"},
    )
    with pytest.raises(PermissionDenied):
        customer_reveal_sensitive(actor=company.rep, customer_id=customer.pk)
    assert not AuditEvent.objects.filter(action="reveal").exists()
    revealed = customer_reveal_sensitive(actor=company.manager, customer_id=customer.pk)
    assert revealed["id_number"] == "11010519491231002X"
    assert revealed["phones"][0]["number"] == "+86 138 1234 5678"
    event = AuditEvent.objects.get(action="reveal")
    assert (event.actor, event.customer_id) == (company.manager, customer.pk)
