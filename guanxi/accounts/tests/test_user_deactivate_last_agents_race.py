"""A department's last two service agents, one deactivated while the other is deactivated too
or moved to another department on their user page: the second change asks whether an active
agent is left only once the deactivation has finished, so the tickets their manager holds on
customers they no longer see go back to the queue. Real concurrency needs PostgreSQL."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import second_agent_and_managers_ticket
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.service import services as service_services

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def _while_the_agent_leaves(company, monkeypatch, meanwhile) -> dict:
    """Run ``meanwhile`` once the agent's deactivation has looked at its department, before it
    commits; the outcomes are in ``results["first"]`` and ``results["second"]``."""
    release = service_services.tickets_out_of_sight_release
    paused, go = threading.Event(), threading.Event()

    def release_then_wait(**kwargs):
        count = release(**kwargs)
        if not paused.is_set():
            paused.set()
            go.wait(30)
        return count

    monkeypatch.setattr(service_services, "tickets_out_of_sight_release", release_then_wait)
    results: dict = {}
    first = in_thread(
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        results,
        "first",
    )
    assert paused.wait(30)
    second = in_thread(meanwhile, results, "second")
    assert wait_until(lambda: "second" in results or waiting_for_a_lock())
    go.set()
    first.join(60)
    second.join(60)
    return results


def test_the_last_two_agents_leaving_at_once_put_their_managers_unseen_tickets_back(
    company, monkeypatch
):
    other_agent, _, unseen = second_agent_and_managers_ticket(company)
    results = _while_the_agent_leaves(
        company,
        monkeypatch,
        lambda: user_deactivate(actor=company.admin, user_id=other_agent.pk, hand_over_to=POOL),
    )
    assert results["first"][0] == "ok", results["first"][-1]
    assert results["second"][0] == "ok", results["second"][-1]

    unseen.refresh_from_db()
    assert (unseen.assignee, unseen.owner) == (None, None)


def test_the_last_agent_moved_while_the_other_leaves_puts_their_managers_unseen_tickets_back(
    company, monkeypatch
):
    other_agent, _, unseen = second_agent_and_managers_ticket(company)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[other_agent.pk])
    data = change_form_data(ann.get(url), department=company.west.pk)
    results = _while_the_agent_leaves(company, monkeypatch, lambda: ann.post(url, data).status_code)
    assert results["first"][0] == "ok", results["first"][-1]
    assert results["second"] == ("ok", 302), results["second"][-1]

    unseen.refresh_from_db()
    assert (unseen.assignee, unseen.owner) == (None, None)
