"""An escalation naming someone no longer active (a team lead, department manager or policy's
general manager deactivated before deactivation refused that) goes on up the chain to the next
active person, and to the administrators when nobody above is active, and says why.

The tickets are for a customer of the service department's own, which everyone in its chain
may see: who may not see it is passed over too, which ``test_sweep_visibility`` tells of."""

import pytest
from django.core import mail as outbox

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.service import sweep
from guanxi.service.models import Notification, SlaNotification, SlaPolicy
from guanxi.service.tests.desk import complaint, notified

pytestmark = pytest.mark.django_db


def _left(user) -> None:
    # As deactivations were written before they refused people still named in the chain.
    User.objects.filter(pk=user.pk).update(is_active=False)


def _escalations(ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk)
        .filter(changes__has_key="escalated_to")
        .order_by("id")
    )


def test_a_breach_past_a_team_lead_who_left_reaches_the_department_manager(company, desk, clock):
    desk.lead.display_name = "Lead Li"
    desk.lead.save()
    ticket = complaint(company, company.agent_customer)
    _left(desk.lead)
    clock.advance(minutes=60)  # the breach: assignee and team lead
    sweep.sla_sweep()
    assert notified(desk.lead) == []
    [notice] = notified(desk.head)
    assert notice.startswith(f"{ticket.number}: first response overdue since")
    assert notice.endswith("(to you because Lead Li is no longer active)")
    # The assignee, named in their own right, hears without a reason.
    assert "no longer active" not in notified(company.agent)[-1]
    record = SlaNotification.objects.get(ticket=ticket, percent=100)
    assert sorted(record.recipients) == sorted([company.agent.pk, desk.head.pk])
    assert sorted(outbox.outbox[-1].to) == sorted([company.agent.email, desk.head.email])
    [event] = _escalations(ticket)
    assert event.actor is None and event.customer_id == company.agent_customer.pk
    assert event.changes == {"escalated_to": {"before": "lead", "after": ["head"]}}
    assert "because Lead Li is no longer active" in event.summary


def test_with_lead_and_manager_gone_the_general_manager_hears(company, desk, clock):
    policy = SlaPolicy.objects.get(name="Complaints, round the clock")
    gm = UserFactory(username="gm", role="manager", department=company.service)
    policy.general_manager = gm
    policy.save()
    ticket = complaint(company, company.agent_customer)
    _left(desk.lead)
    _left(desk.head)
    clock.advance(minutes=60)
    sweep.sla_sweep()
    assert len(notified(gm)) == 1
    clock.advance(minutes=30)  # 150 %: the department manager, who left
    sweep.sla_sweep()
    assert len(notified(gm)) == 2
    assert notified(desk.head) == []
    assert [e.changes["escalated_to"] for e in _escalations(ticket)] == [
        {"before": "lead", "after": ["gm"]},
        {"before": "head", "after": ["gm"]},
    ]


def test_a_general_manager_who_left_hands_the_escalation_to_the_administrators(
    company, desk, clock
):
    policy = SlaPolicy.objects.get(name="Complaints, round the clock")
    gm = UserFactory(username="gm", role="manager", display_name="GM Wang")
    policy.general_manager = gm
    policy.save()
    second_admin = UserFactory(username="admin2", role="admin")
    gone_admin = UserFactory(username="admin3", role="admin")
    _left(gone_admin)
    ticket = complaint(company)
    _left(gm)
    clock.advance(minutes=120)  # 200 %: only the general manager
    sweep.sla_sweep()
    assert notified(gm) == [] and notified(gone_admin) == []
    for admin in (company.admin, second_admin):
        [notice] = [n for n in notified(admin) if "200%" in n]
        assert notice.endswith("(to you because GM Wang is no longer active)")
    record = SlaNotification.objects.get(ticket=ticket, percent=200)
    assert sorted(record.recipients) == sorted([company.admin.pk, second_admin.pk])


def test_when_everyone_named_is_active_nothing_is_said_of_it(company, desk, clock):
    ticket = complaint(company)
    clock.advance(minutes=60)
    sweep.sla_sweep()
    assert len(notified(desk.lead)) == 1
    assert not any(
        "no longer active" in n for n in Notification.objects.values_list("text", flat=True)
    )
    assert _escalations(ticket) == []
