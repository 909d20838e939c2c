"""A change of the service-level policies in the admin site matches the open tickets to them again
(in the background, after the change is saved). A ticket that comes under another policy that
way changed as much as one an agent edited into another policy: its customer's history says
so, the system's doing. Deadlines worked out again under the same policy follow from the
policy's own audited change and add nothing to the tickets' histories."""

import pytest
from django.test import TestCase
from django.utils import translation

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


def test_a_deleted_policy_is_recorded_on_each_of_its_tickets(company, desk):
    open_one = complaint(company)
    closed = complaint(company)
    services.ticket_set_status(actor=company.agent, ticket_id=closed.pk, status="closed")
    policy = Ticket.objects.get(pk=open_one.pk).sla_policy
    versions = {t.pk: Ticket.objects.get(pk=t.pk).version for t in (open_one, closed)}
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.sla_policies_delete(actor=company.admin, policy_ids=[policy.pk])

    # Each ticket of the policy, open or closed, says it lost it, under the administrator.
    for ticket in (open_one, closed):
        [lost] = [row for row in _policy_rows(ticket) if row.actor == company.admin]
        assert lost.changes == {"sla_policy_id": {"before": policy.pk, "after": None}}
        assert lost.customer_id == ticket.customer_id
        [entry] = describe_history([lost], viewer=company.admin)
        assert policy.name in entry.summary and ticket.number in entry.summary
        for language, deleted in (("zh-hans", "已删除"), ("zh-hant", "已刪除")):
            with translation.override(language):
                [entry] = describe_history([lost], viewer=company.admin)
            assert policy.name in entry.summary and deleted in entry.summary
    assert Ticket.objects.get(pk=closed.pk).sla_policy_id is None
    assert Ticket.objects.get(pk=closed.pk).version == versions[closed.pk] + 1
    # The open one is then matched to the policies left, the system's doing.
    after = Ticket.objects.get(pk=open_one.pk).sla_policy
    assert after.name == "Everything else (office hours)"
    [matched] = [row for row in _policy_rows(open_one) if row.actor is None]
    assert matched.changes == {"sla_policy_id": {"before": None, "after": after.pk}}
