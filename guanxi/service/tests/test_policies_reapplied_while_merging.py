"""The open tickets matched to the policies again (after a policy or calendar changed) while two
of them are merged: both lock the tickets in ascending id order, as the email path, the undo
of a customer merge and a team's deletion do, so the one that comes second waits for the
other instead of the database breaking one of them off as a deadlock. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.service import services as desk
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_policies_matched_again_while_two_open_tickets_are_merged_wait_for_the_merge(
    company, monkeypatch
):
    older, newer = (
        desk.ticket_create(
            actor=company.admin,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": subject},
        )
        for subject in ("退款还没到账", "退款还没到账（又问）")
    )
    assert older.pk < newer.pk
    # Held once it has locked the first of its two tickets, the older.
    hold = hold_after_first(monkeypatch, desk, "_locked", thread="ticket merge")
    results = second_waits_for_first(
        lambda: desk.ticket_merge(actor=company.admin, ticket_id=newer.pk, into_id=older.pk),
        desk.reapply_policies,
        hold,
        names=("ticket merge", "policies"),
    )
    assert results["ticket merge"][0] == "ok", results["ticket merge"][-1]
    assert results["policies"][0] == "ok", results["policies"][-1]
    assert Ticket.objects.get(pk=newer.pk).merged_into_id == older.pk
