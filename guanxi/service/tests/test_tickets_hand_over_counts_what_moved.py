"""The hand-over of a leaver's tickets says how many tickets it changed, not how many it chose:
a ticket closed by someone else while the hand-over waited for it is left as it was closed
(keeping who worked it) and not counted. Real concurrency needs PostgreSQL (SQLite has one
writer at a time)."""

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _reps_tickets(company) -> tuple[Ticket, Ticket]:
    return tuple(
        Ticket.objects.create(
            type=Ticket.Type.INQUIRY,
            subject=subject,
            customer=company.rep_customer,
            assignee=company.rep,
            owner=company.rep,
            status=Ticket.Status.OPEN,
        )
        for subject in ("发票", "退款")
    )


def test_a_ticket_closed_while_the_hand_over_waits_for_it_is_left_alone_and_not_counted(
    company, monkeypatch
):
    closed, handed = _reps_tickets(company)
    # Held with the ticket closed, not yet committed: the hand-over chooses it as open.
    hold = hold_after_first(monkeypatch, services, "_save_audited", thread="closing")
    results = second_waits_for_first(
        lambda: services.ticket_set_status(
            actor=company.agent, ticket_id=closed.pk, status=Ticket.Status.CLOSED
        ),
        lambda: services.tickets_hand_over(
            actor=company.admin, from_user_id=company.rep.pk, to_user_id=None
        ),
        hold,
        names=("closing", "hand-over"),
    )
    assert results["closing"][0] == "ok", results["closing"][-1]
    assert results["hand-over"] == ("ok", 1), results["hand-over"][-1]
    closed.refresh_from_db()
    assert (closed.status, closed.assignee, closed.owner) == (
        Ticket.Status.CLOSED,
        company.rep,
        company.rep,
    )
    handed.refresh_from_db()
    assert (handed.assignee, handed.owner) == (None, None)
    moved = AuditEvent.objects.filter(object_type="ticket", action="reassign")
    assert list(moved.values_list("object_id", flat=True)) == [handed.pk]
