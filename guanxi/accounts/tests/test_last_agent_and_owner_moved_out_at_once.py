"""A department's manager holds a ticket on a customer they see two ways: through its account
manager, a member of the department, and through its last service agent. The agent and the
account manager are moved to other departments at the same moment, each on their own admin page.
Each page asked whether the manager still saw the customer while the other's move was not yet
committed, found the other way still there, and neither put the ticket back in the queue: it
stayed with someone who could no longer open its customer. Both pages now lock the department
they take someone out of, so one waits for the other and the second finds both ways gone. Real
concurrency needs PostgreSQL."""

import threading

import pytest
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.service import services as service_services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _moving(client, user, department):
    """``client``'s post of ``user``'s admin page putting them in ``department``, read now."""
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = change_form_data(client.get(url), department=department.pk, team="")
    return lambda: client.post(url, data).status_code


@pytest.mark.parametrize("agent_first", [True, False], ids=["agent first", "owner first"])
def test_the_last_agent_and_an_owner_moved_out_at_once_put_the_managers_ticket_back(
    company, monkeypatch, agent_first
):
    head = UserFactory(username="head", role=Role.MANAGER, department=company.service)
    owner = UserFactory(username="owner", role=Role.SALES_REP, department=company.service)
    customer: Customer = CustomerFactory(name="Owner's Customer", owner=owner)
    ticket = new_ticket(customer, assignee=head, owner=head)
    ann, bob = signed_in_administrators("ann", "bob")
    agent_moves = _moving(ann, company.agent, company.west)
    owner_moves = _moving(bob, owner, company.east)
    first, second = (agent_moves, owner_moves) if agent_first else (owner_moves, agent_moves)

    # The first page is held once it has looked at who still sees the customers of the tickets
    # it may release, before it commits; the second is then sent.
    release = service_services.tickets_out_of_sight_release
    paused, go = threading.Event(), threading.Event()

    def release_then_wait(**kwargs):
        count = release(**kwargs)
        if threading.current_thread().name == "first" and not paused.is_set():
            paused.set()
            assert go.wait(30)
        return count

    monkeypatch.setattr(service_services, "tickets_out_of_sight_release", release_then_wait)
    results: dict = {}
    threads = [in_thread(first, results, "first")]
    try:
        assert paused.wait(30), "the first page did not get as far as its release"
        threads.append(in_thread(second, results, "second"))
        assert wait_until(lambda: "second" in results or waiting_for_a_lock())
    finally:
        go.set()
        for thread in threads:
            thread.join(60)
    assert results["first"] == ("ok", 302), results["first"][-1]
    assert results["second"] == ("ok", 302), results["second"][-1]

    assert User.objects.get(pk=company.agent.pk).department_id == company.west.pk
    assert User.objects.get(pk=owner.pk).department_id == company.east.pk
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.assignee, ticket.owner) == (None, None)
