"""Deactivating a user: whatever they still hold (customers, open tickets, open churn
follow-ups) is handed over in the same transaction, through the audited services, or the
deactivation is refused. Nobody is left working customers for someone who has gone."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.selectors import user_holdings
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import (
    managers_tickets,
    new_ticket,
    second_agent_and_managers_ticket,
)
from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customers_reassign
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _follow_up(customer, owner):
    return ChurnFollowUp.objects.create(customer=customer, owner=owner, reason="overdue")


def _active(user) -> bool:
    return User.objects.get(pk=user.pk).is_active


def test_a_user_holding_nothing_is_deactivated_with_an_audit_row(company):
    user_deactivate(actor=company.admin, user_id=company.analyst.pk)
    assert not _active(company.analyst)
    event = AuditEvent.objects.get(object_type="user", object_id=company.analyst.pk)
    assert event.action == AuditEvent.Action.UPDATE and event.actor == company.admin
    assert event.changes["is_active"] == {"before": True, "after": False}


def test_a_user_who_still_owns_customers_is_not_deactivated_without_a_handover(company):
    new_ticket(company.rep_customer, assignee=company.rep, owner=company.rep)
    _follow_up(company.rep_customer, company.rep)
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.rep.pk)
    message = " ".join(refused.value.message_dict["hand_over_to"])
    assert "1 customer" in message and "1 open ticket" in message and "1 open churn" in message
    assert _active(company.rep)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep
    assert not AuditEvent.objects.exists()


def test_the_refusal_is_said_in_chinese(company):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.rep.pk)
    assert "客户" in " ".join(refused.value.message_dict["hand_over_to"])


def test_handing_over_to_a_colleague_moves_everything_with_audit_rows(company):
    CustomerFactory.create_batch(2, owner=company.rep)
    assigned = new_ticket(company.rep_customer, assignee=company.rep, owner=company.rep)
    closed = new_ticket(company.rep_customer, assignee=company.rep, status=Ticket.Status.CLOSED)
    follow_up = _follow_up(company.rep_customer, company.rep)

    handed = user_deactivate(
        actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk
    )

    assert (handed.customers, handed.open_tickets, handed.open_follow_ups) == (3, 1, 1)
    assert not _active(company.rep)
    assert not Customer.objects.filter(owner=company.rep).exists()
    moves = AuditEvent.objects.filter(action="reassign", object_type="customer")
    assert moves.count() == 3
    assert all(
        e.changes["owner_id"] == {"before": company.rep.pk, "after": company.teammate.pk}
        for e in moves
    )
    assigned.refresh_from_db()
    assert (assigned.assignee, assigned.owner) == (company.teammate, company.teammate)
    assert AuditEvent.objects.filter(object_type="ticket", object_id=assigned.pk).exists()
    closed.refresh_from_db()
    assert closed.assignee == company.rep  # history is not rewritten
    follow_up.refresh_from_db()
    assert follow_up.owner == company.teammate and follow_up.done_at is None
    assert AuditEvent.objects.filter(
        object_type="churn_follow_up", object_id=follow_up.pk, action="reassign"
    ).exists()
    assert AuditEvent.objects.get(object_type="user", action="update").changes["hand_over_to"] == {
        "before": None,
        "after": company.teammate.pk,
    }
    assert not user_holdings(company.rep)


def test_a_ticket_goes_back_to_the_queue_when_the_successor_may_not_work_with_its_customer(
    company,
):
    # The rep works on a teammate's customer (team A shares); rep_b in team B may not see it.
    ticket = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=company.rep_b.pk)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep_b


def test_the_last_agent_leaving_does_not_hand_their_manager_tickets_they_will_no_longer_see(
    company,
):
    # The service department's manager sees every customer only while an active agent is in
    # the department; once its only agent has left, they see their department's customers and
    # the pool alone, so the agent's ticket on a sales rep's customer goes back to the queue.
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    ticket = new_ticket(company.rep_customer, assignee=company.agent, owner=company.agent)
    user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=head.pk)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    assert not Customer.objects.visible_to(User.objects.get(pk=head.pk)).filter(
        pk=company.rep_customer.pk
    )
    # Their department's customers stay theirs to work with.
    assert Customer.objects.get(pk=company.agent_customer.pk).owner == head


def test_the_last_agent_leaving_puts_the_tickets_their_manager_no_longer_sees_back_in_the_queue(
    company,
):
    # The tickets the department's manager already held on other departments' customers, which
    # they saw only through the agent, go back to the queue with an audit row each; those on
    # customers they still see stay theirs.
    head, unseen, seen, closed = managers_tickets(company)
    user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL)

    unseen.refresh_from_db()
    assert (unseen.assignee, unseen.owner) == (None, None)
    event = AuditEvent.objects.get(object_type="ticket", object_id=unseen.pk, action="reassign")
    assert event.actor == company.admin
    assert event.changes["assignee_id"] == {"before": head.pk, "after": None}
    assert Ticket.objects.get(pk=seen.pk).assignee == head
    assert Ticket.objects.get(pk=closed.pk).assignee == head
    assert not AuditEvent.objects.filter(object_type="ticket", object_id__in=[seen.pk, closed.pk])


def test_with_another_agent_still_in_the_department_their_manager_keeps_their_tickets(company):
    _, head, ticket = second_agent_and_managers_ticket(company)
    user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (head, head)


def test_handing_over_to_the_unowned_pool(company):
    ticket = new_ticket(company.rep_customer, assignee=company.rep)
    follow_up = _follow_up(company.rep_customer, company.rep)
    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner is None
    event = AuditEvent.objects.get(object_type="customer", action="reassign")
    assert event.changes["owner_id"] == {"before": company.rep.pk, "after": None}
    ticket.refresh_from_db()
    assert ticket.assignee is None
    # A follow-up is a task for the customer's owner; the pool has none, so it is closed (the
    # refresh opens a new one for whoever takes the customer, if it still looks lost).
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None
    assert AuditEvent.objects.filter(object_type="churn_follow_up", object_id=follow_up.pk)


@pytest.mark.parametrize("successor", ["rep", "analyst", "inactive"])
def test_the_successor_must_be_another_active_user_who_may_hold_the_customers(company, successor):
    if successor == "inactive":
        User.objects.filter(pk=company.teammate.pk).update(is_active=False)
        successor_id = company.teammate.pk
    else:
        # An analyst may read every customer and change none, so may own none.
        successor_id = getattr(company, successor).pk
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=successor_id)
    assert "hand_over_to" in refused.value.message_dict
    assert _active(company.rep)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep
    assert not AuditEvent.objects.exists()


def test_only_administrators_deactivate_and_not_themselves(company):
    for actor in (company.manager, company.rep, company.agent, company.analyst):
        with pytest.raises(PermissionDenied):
            user_deactivate(actor=actor, user_id=company.rep_b.pk, hand_over_to=POOL)
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.admin.pk, hand_over_to=POOL)
    # About the person, not the successor, who is fine.
    assert refused.value.message_dict == {"user_id": ["You cannot deactivate yourself."]}
    assert _active(company.rep_b) and _active(company.admin)
    assert not AuditEvent.objects.exists()


def test_an_inactive_user_cannot_be_deactivated_again(company):
    user_deactivate(actor=company.admin, user_id=company.analyst.pk)
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.analyst.pk)
    assert set(refused.value.message_dict) == {"user_id"}


def test_reassigning_to_the_pool_needs_a_manager_or_administrator(company):
    moved = customers_reassign(
        actor=company.manager, from_owner_id=company.rep.pk, to_owner_id=None
    )
    assert moved == 1
    assert Customer.objects.get(pk=company.rep_customer.pk).owner is None
    with pytest.raises(ValidationError):
        customers_reassign(actor=company.manager, from_owner_id=None, to_owner_id=None)
    for actor in (company.rep, company.agent):
        with pytest.raises(PermissionDenied):
            customers_reassign(actor=actor, from_owner_id=company.teammate.pk, to_owner_id=None)
    assert Customer.objects.get(pk=company.teammate_customer.pk).owner == company.teammate


def test_reassigning_refuses_a_new_owner_who_could_not_change_the_customers(company):
    with pytest.raises(ValidationError) as refused:
        customers_reassign(
            actor=company.admin, from_owner_id=company.rep.pk, to_owner_id=company.analyst.pk
        )
    assert "to_owner_id" in refused.value.message_dict
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep
    assert not AuditEvent.objects.exists()
