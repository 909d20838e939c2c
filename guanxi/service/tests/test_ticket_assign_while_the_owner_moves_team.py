"""A ticket given to a teammate of its customer's account manager while the manager's user page
moves them to another team. The teammate sees the customer only through their team's sharing:
once the manager has moved, the ticket goes back to the queue (``user_out_of_sight_release``),
or is not given to them. The assignment holds the customer shared from before it asks whether
the teammate sees it until it commits; the page locked the manager and not their customers, so
it saved the move and looked for tickets to release without waiting for the assignment, which
committed after it: the ticket stayed with someone who can no longer open it. The page now
locks the manager's customers, as a hand-over does, before it saves the move. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError
from django.urls import reverse

from guanxi.accounts import services as accounts_services
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _ticket(company) -> Ticket:
    return Ticket.objects.create(
        type=Ticket.Type.INQUIRY,
        subject="发票什么时候开",
        customer=company.rep_customer,
        status=Ticket.Status.NEW,
    )


def _assigning(company, ticket):
    return lambda: services.ticket_assign(
        actor=company.agent,
        ticket_id=ticket.pk,
        assignee_id=company.teammate.pk,
        expected_version=ticket.version,
    )


def _moving_the_owner(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    data = change_form_data(ann.get(url), team=company.team_b.pk)
    return lambda: ann.post(url, data).status_code


def test_the_owner_moved_while_the_ticket_is_given_to_their_teammate(company, monkeypatch):
    ticket = _ticket(company)
    # Held once it has found that the teammate sees the customer, before it saves the ticket.
    hold = hold_after_first(monkeypatch, services, "_workable_customers", thread="assignment")
    results: dict = {}
    threads = [in_thread(_assigning(company, ticket), results, "assignment")]
    try:
        assert hold.reached.wait(30), "the assignment did not get as far as where it is held"
        threads.append(in_thread(_moving_the_owner(company), results, "page"))
        # The page waits for the assignment; one that does not finishes first.
        wait_until(lambda: waiting_for_a_lock() or "page" in results, 30)
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)
    assert results["assignment"][0] == "ok", results["assignment"][-1]
    assert results["page"] == ("ok", 302), results["page"][-1]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.assignee_id is None
    assert stored.owner_id is None


def test_a_ticket_given_to_a_teammate_as_the_owner_moves_is_refused(company, monkeypatch):
    ticket = _ticket(company)
    # Held once it has locked the manager (and now their customers), before it saves the move.
    hold = hold_after_first(monkeypatch, accounts_services, "user_edit_lock", thread="page")
    results: dict = {}
    threads = [in_thread(_moving_the_owner(company), results, "page")]
    try:
        assert hold.reached.wait(30), "the page did not get as far as where it is held"
        threads.append(in_thread(_assigning(company, ticket), results, "assignment"))
        assert wait_until(waiting_for_a_lock, 30), "the assignment did not wait for the page"
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["assignment"][0] == "error", results["assignment"]
    assert isinstance(results["assignment"][1], ValidationError), results["assignment"][-1]
    assert "assignee_id" in results["assignment"][1].message_dict
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)
