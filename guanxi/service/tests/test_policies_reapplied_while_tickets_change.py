"""The open tickets matched to the policies again (after a policy or calendar changed) while
some of them change. The batch locks its tickets in ascending id order, as the email path, a
ticket merge, the undo of a customer merge and a team's deletion do, so that whichever comes
second waits for the other instead of the database breaking one of them off as a deadlock; and
a ticket closed while the batch waited for it keeps the policy it was worked under, as a
closed ticket does. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, hold_before, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import SlaPolicy, Ticket
from guanxi.service.tests.desk import complaint

pytestmark = CONCURRENT


def test_policies_matched_again_while_two_open_tickets_are_merged_wait_for_the_merge(
    company, monkeypatch
):
    older, newer = (
        services.ticket_create(
            actor=company.admin,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": subject},
        )
        for subject in ("退款还没到账", "退款还没到账（又问）")
    )
    assert older.pk < newer.pk
    # Held once it has locked the first of its two tickets, the older.
    hold = hold_after_first(monkeypatch, services, "_locked", thread="ticket merge")
    results = second_waits_for_first(
        lambda: services.ticket_merge(actor=company.admin, ticket_id=newer.pk, into_id=older.pk),
        services.reapply_policies,
        hold,
        names=("ticket merge", "policies"),
    )
    assert results["ticket merge"][0] == "ok", results["ticket merge"][-1]
    assert results["policies"][0] == "ok", results["policies"][-1]
    assert Ticket.objects.get(pk=newer.pk).merged_into_id == older.pk


def test_a_ticket_closed_while_the_policies_are_matched_again_keeps_its_policy(
    company, desk, monkeypatch
):
    ticket = complaint(company)
    policy = ticket.sla_policy
    assert policy.name == "Complaints, round the clock"
    # Open tickets now come under the office-hours policy (the change is matched below).
    SlaPolicy.objects.filter(pk=policy.pk).update(is_active=False)
    # Held with the ticket locked, before it records the closing.
    hold = hold_before(monkeypatch, services, "_save", thread="closing")
    results = second_waits_for_first(
        lambda: services.ticket_set_status(
            actor=company.agent, ticket_id=ticket.pk, status="closed"
        ),
        services.reapply_policies,
        hold,
        names=("closing", "policies"),
    )
    assert results["closing"][0] == "ok", results["closing"][-1]
    assert results["policies"][0] == "ok", results["policies"][-1]
    closed = Ticket.objects.get(pk=ticket.pk)
    assert (closed.status, closed.sla_policy_id) == ("closed", policy.pk)
    assert not AuditEvent.objects.filter(
        object_type="ticket",
        object_id=ticket.pk,
        action=AuditEvent.Action.UPDATE,
        changes__has_key="sla_policy_id",
    ).exists()
