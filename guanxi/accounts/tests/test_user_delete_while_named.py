"""Deleting a user on the admin site while a record naming them is added: a ticket routed to
them, a customer given to them. The confirmation page found nothing that keeps them; the record
commits after it looked, before the deletion locks the user. The deletion then finds it and is
refused, nothing deleted and nothing recorded, the confirmation shown again listing what keeps
them, as it lists what they held from the start; it was a server error (Django's
ProtectedError). Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, in_thread, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.service import services
from guanxi.service.models import AgentProfile, Ticket
from guanxi.service.tests.desk import build_desk

pytestmark = CONCURRENT

REFUSED = "Nothing was deleted: records naming agent3 were added since this page was opened."


def _agent(company) -> User:
    """A refund agent, whom routing gives the next refund to (the others handle none)."""
    desk = build_desk(company)
    company.agent.agent_profile.skills.clear()
    desk.second.agent_profile.skills.clear()
    leaving = UserFactory(username="agent3", role="service_agent", department=company.service)
    AgentProfile.objects.create(user=leaving).skills.add(desk.refund)
    return leaving


def _deleting_while(monkeypatch, deleting, adding) -> dict:
    """Run ``deleting`` (an administrator's post on the admin site) until the page has found
    nothing that keeps the user and is about to delete them, then ``adding`` to its commit on
    another thread, then let the deletion go on."""
    hold = hold_before(monkeypatch, accounts_services, "users_delete", thread="deletion")
    results: dict = {}
    deletion = in_thread(deleting, results, "deletion")
    try:
        assert hold.reached.wait(30), "the deletion did not get as far as deleting"
        in_thread(adding, results, "adding").join(30)
    finally:
        hold.go.set()
        deletion.join(30)
    assert results["adding"][0] == "ok", results["adding"][-1]
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    return results


def _nothing_deleted(user: User) -> None:
    assert User.objects.filter(pk=user.pk).exists()
    assert not AuditEvent.objects.filter(
        object_type="user", object_id=user.pk, action=AuditEvent.Action.DELETE
    ).exists()
    assert not LogEntry.objects.filter(object_id=str(user.pk), action_flag=DELETION).exists()


def test_a_ticket_routed_to_them_meanwhile_refuses_the_deletion_page(company, monkeypatch):
    leaving = _agent(company)
    (bob,) = signed_in_administrators("bob")
    url = reverse("admin:accounts_user_delete", args=[leaving.pk])
    assert "Cannot delete" not in bob.get(url).content.decode()
    results = _deleting_while(
        monkeypatch,
        lambda: bob.post(url, {"post": "yes"}),
        lambda: services.ticket_create(
            actor=company.admin,
            customer_id=company.rep_customer.pk,
            data={
                "type": "complaint",
                "subject": "退款未到账",
                "category_id": leaving.agent_profile.skills.get().pk,
            },
        ),
    )
    response = results["deletion"][1]
    assert (response.status_code, response["Location"]) == (302, url)
    _nothing_deleted(leaving)
    assert Ticket.objects.get(pk=results["adding"][1].pk).assignee_id == leaving.pk
    page = bob.get(url).content.decode()
    assert REFUSED in page
    assert "Cannot delete" in page and results["adding"][1].subject in page


def test_a_customer_given_to_them_meanwhile_refuses_the_bulk_deletion(company, monkeypatch):
    leaving = _agent(company)
    (bob,) = signed_in_administrators("bob")
    url = reverse("admin:accounts_user_changelist")
    ticked = {"action": "delete_selected", "_selected_action": [leaving.pk]}
    assert "Cannot delete" not in bob.post(url, ticked).content.decode()
    results = _deleting_while(
        monkeypatch,
        lambda: bob.post(url, {**ticked, "post": "yes"}),
        lambda: customer_create(actor=company.admin, data={"name": "李娜", "owner_id": leaving.pk}),
    )
    response = results["deletion"][1]
    page = response.content.decode()
    assert response.status_code == 200
    assert REFUSED in page
    assert "Cannot delete" in page and "李娜" in page
    _nothing_deleted(leaving)
    assert Customer.objects.get(pk=results["adding"][1].pk).owner_id == leaving.pk


def test_a_deletion_started_while_a_ticket_is_routed_to_them_waits_and_is_refused(
    company, monkeypatch
):
    leaving = _agent(company)
    # Held once the ticket is routed to them, before it is written.
    hold = hold_before(monkeypatch, services, "_matched_policy", thread="opening")
    results = second_waits_for_first(
        lambda: services.ticket_create(
            actor=company.admin,
            customer_id=company.rep_customer.pk,
            data={
                "type": "complaint",
                "subject": "退款未到账",
                "category_id": leaving.agent_profile.skills.get().pk,
            },
        ),
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[leaving.pk]),
        hold,
        names=("opening", "deletion"),
    )
    assert results["opening"][0] == "ok", results["opening"][-1]
    assert Ticket.objects.get(pk=results["opening"][1].pk).assignee_id == leaving.pk
    refusal = results["deletion"]
    assert refusal[0] == "error", refusal
    assert isinstance(refusal[1], accounts_services.UsersNamedMeanwhileError), refusal[-1]
    assert str(refusal[1]) == REFUSED
    _nothing_deleted(leaving)
