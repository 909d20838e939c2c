"""A service agent, not their department's last, deactivated while a manager of that department
is moved to another department on their user page. The deactivation hands over the agent's
tickets and then puts back in the queue those the managers hold on customers in the recycle
bin (the one thing they no longer see while an agent is left); the page puts back those the
manager no longer sees, in one ascending id order. A ticket the manager holds as first contact
and the agent works on, newer than the manager's on a customer in the recycle bin, was locked
by the deactivation first and by the page last, and the database broke one of the two off: the
deactivation now locks the managers' tickets on customers in the recycle bin in its one
ascending pass. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.urls import reverse
from django.utils import timezone

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket, second_agent_and_managers_ticket
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import CustomerFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_an_agent_leaving_and_their_manager_moved_lock_the_managers_tickets_in_one_order(
    company, monkeypatch
):
    _other_agent, head, _seen = second_agent_and_managers_ticket(company)
    binned = CustomerFactory(name="Binned", owner=company.rep_west, deleted_at=timezone.now())
    older = new_ticket(binned, assignee=head, owner=head)
    newer = new_ticket(company.west_customer, assignee=company.agent, owner=head)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[head.pk])
    data = change_form_data(ann.get(url), department=company.east.pk)
    # Held once it has locked the older ticket.
    hold = hold_after_first(monkeypatch, services, "_locked", thread="page")
    results = second_waits_for_first(
        lambda: ann.post(url, data).status_code,
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        hold,
        names=("page", "deactivation"),
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    for ticket in (older, newer):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert (stored.assignee_id, stored.owner_id) == (None, None), ticket
