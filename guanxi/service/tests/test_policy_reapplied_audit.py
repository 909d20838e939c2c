"""A change of the service-level policies in the admin site matches the open tickets to them again
(in the background, after the change is saved). A ticket that comes under another policy that
way changed as much as one an agent edited into another policy: its customer's history says
so, the system's doing. Deadlines worked out again under the same policy follow from the
policy's own audited change and add nothing to the tickets' histories."""

import pytest
from django.test import TestCase

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import CustomerHistory, describe_history
from guanxi.service import services
from guanxi.service.models import SlaPolicy, Ticket
from guanxi.service.tests.desk import complaint

pytestmark = pytest.mark.django_db


def _policy_rows(ticket: Ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.UPDATE
        )
        .filter(changes__has_key="sla_policy_id")
        .order_by("id")
    )


def _saved(company, policy: SlaPolicy, **changes) -> None:
    version = policy.version
    for name, value in changes.items():
        setattr(policy, name, value)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.sla_policy_save(actor=company.admin, policy=policy, expected_version=version)


def test_a_ticket_matched_to_another_policy_is_recorded_on_its_customer(company, desk):
    ticket = complaint(company)
    closed = complaint(company)
    services.ticket_set_status(actor=company.agent, ticket_id=closed.pk, status="closed")
    before = Ticket.objects.get(pk=ticket.pk).sla_policy
    assert before.name == "Complaints, round the clock"

    _saved(company, SlaPolicy.objects.get(pk=before.pk), is_active=False)

    after = Ticket.objects.get(pk=ticket.pk).sla_policy
    assert after.name == "Everything else (office hours)"
    [row] = _policy_rows(ticket)
    assert row.changes == {"sla_policy_id": {"before": before.pk, "after": after.pk}}
    assert (row.actor, row.customer_id) == (None, ticket.customer_id)
    assert row in CustomerHistory(customer_id=ticket.customer_id).events()
    [entry] = describe_history([row], viewer=company.admin)
    assert entry.headline == "The system worked on a service ticket"
    assert ticket.number in entry.summary
    # A closed ticket keeps the policy it was worked under.
    assert not _policy_rows(closed)


def test_deadlines_moved_under_the_same_policy_add_no_row(company, desk):
    ticket = complaint(company)
    policy = Ticket.objects.get(pk=ticket.pk).sla_policy
    due = Ticket.objects.get(pk=ticket.pk).first_response_due
    _saved(company, policy, first_response_minutes=policy.first_response_minutes // 2)
    assert Ticket.objects.get(pk=ticket.pk).first_response_due != due
    assert not _policy_rows(ticket)
