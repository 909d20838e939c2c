"""Releasing the tickets of several users who lost sight of their customers while two of those
tickets are merged: the release locks the tickets of all the users in one ascending id order, as
a ticket merge locks its two, so one waits for the other, instead of the release locking each
user's tickets in turn (the first user's newer ticket before the second user's older one) and
the database breaking one of the two off as a deadlock. Real concurrency needs PostgreSQL
(SQLite has one writer at a time)."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.desk import complaint

pytestmark = CONCURRENT


def test_a_release_of_several_users_tickets_and_a_ticket_merge_wait_for_each_other(
    company, desk, monkeypatch
):
    older, newer = complaint(company), complaint(company)
    # Neither may work with the representative's customer; the first of the two users holds
    # the newer ticket.
    first, second = sorted((company.rep_b, company.rep_west), key=lambda user: user.pk)
    Ticket.objects.filter(pk=newer.pk).update(assignee=first, owner=None)
    Ticket.objects.filter(pk=older.pk).update(assignee=second, owner=None)
    # Held once it has locked the older ticket.
    hold = hold_after_first(monkeypatch, services, "_locked", thread="merge")
    results = second_waits_for_first(
        lambda: services.ticket_merge(actor=company.admin, ticket_id=newer.pk, into_id=older.pk),
        lambda: services.tickets_out_of_sight_release(
            actor=company.admin, user_ids=[first.pk, second.pk]
        ),
        hold,
        names=("merge", "release"),
    )
    assert results["merge"][0] == "ok", results["merge"][-1]
    # The merge closed the newer ticket before the release locked it: a closed ticket keeps
    # who worked it, so only the older one, still open, goes back to the queue.
    assert results["release"] == ("ok", 1)
    merged_away = Ticket.objects.get(pk=newer.pk)
    assert (merged_away.merged_into_id, merged_away.status) == (older.pk, Ticket.Status.CLOSED)
    assert merged_away.assignee_id == first.pk
    assert Ticket.objects.get(pk=older.pk).assignee_id is None
