"""Tickets from opening to closing: routing, ownership, the workflow, deadlines that pause and
move with the status history, replies by email, surveys, merging, and who may see what."""

import datetime as dt
import re

import pytest
from django.core import mail as outbox
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Email
from guanxi.service import mail, services
from guanxi.service.models import (
    AgentProfile,
    SatisfactionSurvey,
    SlaPolicy,
    Ticket,
    TicketCategory,
    TicketMessage,
)
from guanxi.service.selectors import tickets_for_user

pytestmark = pytest.mark.django_db(transaction=False)

MINUTE = dt.timedelta(minutes=1)


def _complaint(actor, customer, **extra):
    data = {"type": "complaint", "subject": "退款还没到账", "description": "已经两周了"}
    return services.ticket_create(actor=actor, customer_id=customer.pk, data={**data, **extra})


def test_a_complaint_taken_by_an_agent_is_theirs_and_due_within_the_hour(company, desk, clock):
    ticket = _complaint(company.agent, company.rep_customer, category_id=desk.refund.pk)
    assert ticket.owner == company.agent and ticket.assignee == company.agent
    assert ticket.sla_policy.name == "Complaints, round the clock"
    assert ticket.first_response_due == clock.current + 60 * MINUTE
    assert ticket.resolution_due == clock.current + 3 * 24 * 60 * MINUTE
    # The warning (80 %) is the next thing the sweep has to look at.
    assert ticket.sla_check_at == clock.current + 48 * MINUTE
    event = AuditEvent.objects.get(object_type="ticket", object_id=ticket.pk)
    assert event.customer_id == company.rep_customer.pk and event.action == "create"


def test_a_request_that_comes_in_alone_goes_to_the_least_loaded_skilled_agent(company, desk, clock):
    first = _complaint(company.rep, company.rep_customer, category_id=desk.refund.pk)
    second = _complaint(company.rep, company.rep_customer, category_id=desk.refund.pk)
    # Both agents have the skill; the first ticket went to the lower id, the second to the other.
    assert {first.assignee, second.assignee} == {company.agent, desk.second}
    assert first.owner == first.assignee and first.team == desk.team
    AgentProfile.objects.filter(user=desk.second).update(is_absent=True)
    third = _complaint(company.rep, company.rep_customer, category_id=desk.refund.pk)
    assert third.assignee == company.agent  # the absent agent is skipped despite the load


def test_a_child_category_uses_its_parents_skills_and_no_skill_leaves_it_unassigned(
    company, desk, clock
):
    child = TicketCategory.objects.create(name="退款到账慢", parent=desk.refund)
    assert _complaint(company.rep, company.rep_customer, category_id=child.pk).assignee is not None
    other = TicketCategory.objects.get(name="账单")
    ticket = _complaint(company.rep, company.rep_customer, category_id=other.pk)
    assert ticket.assignee is None and ticket.owner is None


def test_gold_customers_go_to_their_key_account_manager(company, desk, clock):
    from guanxi.analytics.models import AnalyticsRun, CustomerValue

    run = AnalyticsRun.objects.create(
        as_of=dt.date(2026, 12, 1), status=AnalyticsRun.Status.SUCCEEDED, is_current=True
    )
    CustomerValue.objects.create(run=run, customer=company.rep_customer, pareto_tier="gold")
    ticket = _complaint(company.manager, company.rep_customer, category_id=desk.refund.pk)
    assert ticket.assignee == company.rep
    AgentProfile.objects.create(user=company.rep, is_absent=True)
    ticket = _complaint(company.manager, company.rep_customer, category_id=desk.refund.pk)
    assert ticket.assignee in (company.agent, desk.second)


def test_waiting_for_the_customer_stops_the_clock(company, desk, clock):
    ticket = _complaint(company.agent, company.rep_customer)
    clock.advance(minutes=20)
    ticket = services.ticket_set_status(
        actor=company.agent, ticket_id=ticket.pk, status="pending_customer"
    )
    assert ticket.first_response_due is None and ticket.sla_check_at is None
    clock.advance(hours=5)
    ticket = services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="open")
    # 40 of the 60 minutes were left when the clock stopped.
    assert ticket.first_response_due == clock.current + 40 * MINUTE


def test_the_workflow_refuses_impossible_steps_and_counts_reopens(company, desk, clock):
    ticket = _complaint(company.agent, company.rep_customer)
    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    with pytest.raises(ValidationError) as error:
        services.ticket_set_status(
            actor=company.agent, ticket_id=ticket.pk, status="pending_customer"
        )
    assert "status" in error.value.message_dict
    ticket = services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="open")
    assert ticket.reopened_count == 1 and ticket.resolved_at is None


def test_a_stale_version_is_refused(company, desk, clock):
    ticket = _complaint(company.agent, company.rep_customer)
    services.ticket_update(
        actor=company.agent, ticket_id=ticket.pk, expected_version=ticket.version,
        data={"priority": "high"},
    )  # fmt: skip
    with pytest.raises(services.StaleTicketError):
        services.ticket_update(
            actor=company.agent, ticket_id=ticket.pk, expected_version=ticket.version,
            data={"priority": "low"},
        )  # fmt: skip
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"


def test_replies_are_emailed_with_the_token_and_the_customers_answer_threads_back(
    company, desk, clock
):
    Email.objects.create(customer=company.rep_customer, address="zw@example.com", is_primary=True)
    ticket = _complaint(company.agent, company.rep_customer)
    clock.advance(minutes=30)
    with pytest.raises(ValidationError):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="  ")
    outbox.outbox.clear()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="已经加急处理")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == clock.current and ticket.first_response_met is True
    assert ticket.status == "open" and ticket.first_response_due is None
    [sent] = outbox.outbox
    assert sent.to == ["zw@example.com"] and mail.ticket_token(ticket.pk) in sent.subject
    assert mail.ticket_id_from_subject(sent.subject) == ticket.pk
    # The same number with a made-up hash names no ticket.
    forged = re.sub(r"(\[T-\d+-)[0-9a-f]{8}\]", r"\g<1>00000000]", sent.subject)
    assert forged != sent.subject and mail.ticket_id_from_subject(forged) is None
    stored = TicketMessage.objects.get(ticket=ticket, kind="reply")
    assert stored.email_message_id == sent.extra_headers["Message-ID"]

    clock.advance(minutes=10)
    message = services.customer_message(
        ticket_id=ticket.pk, body="还是没到", email_message_id="<a@x>"
    )
    assert message is not None
    # The same email again (a retried webhook) is recognised.
    assert (
        services.customer_message(ticket_id=ticket.pk, body="还是没到", email_message_id="<a@x>")
        is None
    )
    ticket.refresh_from_db()
    assert ticket.waiting_since == clock.current
    assert ticket.next_response_due == clock.current + 240 * MINUTE


def test_resolving_sends_the_survey_and_its_answer_is_recorded(company, desk, clock):
    from django.test import TestCase

    Email.objects.create(customer=company.rep_customer, address="zw@example.com", is_primary=True)
    ticket = _complaint(company.agent, company.rep_customer)
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body="已退款", status="resolved"
        )
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolution_met is True
    survey_mail = outbox.outbox[-1]
    token = re.search(r"/service/survey/([^/]+)/", survey_mail.body).group(1)
    assert mail.ticket_id_from_survey_token(token) == ticket.pk
    assert mail.ticket_id_from_survey_token(token[:-2] + "xx") is None
    with pytest.raises(ValidationError):
        services.survey_answer(ticket_id=ticket.pk, score=9)
    services.survey_answer(ticket_id=ticket.pk, score=2, comment="太慢")
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert survey.score == 2 and survey.is_poor


def test_merging_moves_the_conversation_and_closes_the_duplicate(company, desk, clock):
    first = _complaint(company.agent, company.rep_customer)
    second = _complaint(company.agent, company.rep_customer, subject="又来问退款")
    services.ticket_note(actor=company.agent, ticket_id=second.pk, body="同一件事")
    services.ticket_merge(actor=company.agent, ticket_id=second.pk, into_id=first.pk)
    second.refresh_from_db()
    assert second.status == "closed" and second.merged_into == first
    assert first.messages.filter(body="同一件事").exists()
    other = _complaint(company.agent, company.west_customer)
    with pytest.raises(ValidationError):
        services.ticket_merge(actor=company.agent, ticket_id=other.pk, into_id=first.pk)


def test_tickets_are_visible_exactly_when_their_customer_is(company, desk, clock):
    mine = _complaint(company.agent, company.rep_customer)
    west = _complaint(company.agent, company.west_customer)
    assert set(tickets_for_user(company.rep)) == {mine}
    assert set(tickets_for_user(company.rep_west)) == {west}
    assert set(tickets_for_user(company.agent)) == {mine, west}
    assert set(tickets_for_user(company.manager)) == {mine}
    with pytest.raises(Ticket.DoesNotExist):
        services.ticket_note(actor=company.rep_west, ticket_id=mine.pk, body="x")
    with pytest.raises(PermissionDenied):
        services.ticket_note(actor=company.analyst, ticket_id=mine.pk, body="x")


def test_editing_a_policy_moves_the_open_tickets_deadlines(company, desk, clock):
    ticket = _complaint(company.agent, company.rep_customer)
    policy = SlaPolicy.objects.get(name="Complaints, round the clock")
    clock.advance(minutes=10)
    policy.first_response_minutes = 30
    policy.save()
    assert services.reapply_policies(policy_id=policy.pk) == 1
    ticket.refresh_from_db()
    # From the ticket's history: opened 10 minutes ago, so 20 minutes are left.
    assert ticket.first_response_due == clock.current + 20 * MINUTE
    policy.is_active = False
    policy.save()
    services.reapply_policies()
    ticket.refresh_from_db()
    assert ticket.sla_policy.name == "Everything else (office hours)"
