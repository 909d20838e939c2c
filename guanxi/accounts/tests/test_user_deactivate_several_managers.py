"""The tickets a department's managers hold on customers they no longer see once an agent
leaves go back to the queue, asked about for all the managers at once: the rule gives them the
same scope (every customer while an active agent is left, their department's and the pool's
after), so more managers cost no more queries."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def _managers(company, count: int) -> list:
    return [
        UserFactory(username=f"head_{n}", role=Role.MANAGER, department=company.service)
        for n in range(count)
    ]


def test_the_last_agent_leaving_releases_what_each_of_several_managers_no_longer_sees(company):
    first, second, third = _managers(company, 3)
    shared = new_ticket(company.rep_customer, assignee=first, owner=second)
    own = new_ticket(company.west_customer, assignee=third, owner=third)
    seen = new_ticket(company.unowned_customer, assignee=second, owner=second)
    closed = new_ticket(
        company.rep_b_customer, assignee=first, owner=first, status=Ticket.Status.CLOSED
    )

    user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL)

    assert Ticket.objects.filter(pk__in=[shared.pk, own.pk], assignee=None, owner=None).count() == 2
    assert Ticket.objects.get(pk=seen.pk).assignee == second
    assert Ticket.objects.get(pk=closed.pk).assignee == first
    # One audit row per hold let go: the shared ticket's assignee's and its owner's.
    released = AuditEvent.objects.filter(object_type="ticket", action="reassign")
    assert sorted(released.values_list("object_id", flat=True)) == sorted(
        [shared.pk, shared.pk, own.pk]
    )


def test_with_another_agent_left_several_managers_keep_their_tickets(company):
    UserFactory(username="agent_2", role=Role.SERVICE_AGENT, department=company.service)
    heads = _managers(company, 3)
    tickets = [new_ticket(company.rep_customer, assignee=head, owner=head) for head in heads]

    user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL)

    for head, ticket in zip(heads, tickets, strict=True):
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.owner) == (head, head)
    assert not AuditEvent.objects.filter(object_type="ticket")


def _queries_deactivating(company, managers: int) -> int:
    UserFactory(username="agent_2", role=Role.SERVICE_AGENT, department=company.service)
    for head in _managers(company, managers):
        new_ticket(company.rep_customer, assignee=head, owner=head)
    with CaptureQueriesContext(connection) as queries:
        user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL)
    return len(queries)


@pytest.mark.parametrize("managers", [1, 4])
def test_more_managers_ask_no_more_queries(company, managers):
    # Measured against one manager in a transaction of its own, undone after (the company's
    # users stay as the fixture made them).
    with transaction.atomic():
        one = _queries_deactivating(company, 1)
        transaction.set_rollback(True)
    assert _queries_deactivating(company, managers) == one
