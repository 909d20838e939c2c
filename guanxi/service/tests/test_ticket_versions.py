"""No change to a ticket silently overwrites another: merging, assigning and moving a ticket on
take the version the caller read, in the services, the API and the pages. Each case is two
changes in sequence, the second made with what was read before the first."""

import pytest

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.orders.services import order_create
from guanxi.service import services
from guanxi.service.models import Ticket, TicketMessage

pytestmark = pytest.mark.django_db(transaction=False)


def _complaint(actor, customer, subject="退款还没到账", **extra) -> Ticket:
    data = {"type": "complaint", "subject": subject, **extra}
    return services.ticket_create(actor=actor, customer_id=customer.pk, data=data)


def _raise_priority(actor, ticket: Ticket) -> Ticket:
    """Someone else's change, made between the caller's reading and their write."""
    return services.ticket_update(
        actor=actor, ticket_id=ticket.pk, expected_version=ticket.version, data={"priority": "high"}
    )


def _was_merged(ticket: Ticket) -> bool:
    return Ticket.objects.get(pk=ticket.pk).merged_into_id is not None


# --- merging, in the service ------------------------------------------------------------------


@pytest.mark.parametrize("changed", ["duplicate", "kept"])
def test_a_merge_after_a_change_to_either_ticket_is_refused(company, desk, clock, changed):
    duplicate = _complaint(company.agent, company.rep_customer)
    kept = _complaint(company.agent, company.rep_customer, subject="又来问退款")
    services.ticket_note(actor=company.agent, ticket_id=duplicate.pk, body="同一件事")
    duplicate.refresh_from_db()
    _raise_priority(desk.second, duplicate if changed == "duplicate" else kept)
    with pytest.raises(services.StaleTicketError) as refused:
        services.ticket_merge(
            actor=company.agent,
            ticket_id=duplicate.pk,
            into_id=kept.pk,
            expected_version=duplicate.version,
            into_version=kept.version,
        )
    assert refused.value.field == ("version" if changed == "duplicate" else "into_version")
    assert not _was_merged(duplicate)
    assert TicketMessage.objects.get(body="同一件事").ticket_id == duplicate.pk


def test_the_kept_ticket_records_which_ticket_it_took_in(company, desk, clock):
    order = order_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"amount": "120.00", "ordered_on": "2026-11-30"},
    )
    duplicate = _complaint(company.agent, company.rep_customer, order_ids=[order.pk])
    kept = _complaint(company.agent, company.rep_customer, subject="又来问退款")
    services.ticket_merge(
        actor=company.agent,
        ticket_id=duplicate.pk,
        into_id=kept.pk,
        expected_version=duplicate.version,
        into_version=kept.version,
    )
    event = AuditEvent.objects.get(object_type="ticket", object_id=kept.pk, action="merge")
    assert event.customer_id == company.rep_customer.pk
    assert event.summary == f"{kept.number} took in the duplicate {duplicate.number}"
    assert event.changes["merged_from"] == {"before": None, "after": duplicate.pk}
    assert event.changes["order_ids"] == {"before": [], "after": [order.pk]}
    # The merged ticket keeps its own row, pointing the other way.
    away = AuditEvent.objects.get(object_type="ticket", object_id=duplicate.pk, action="merge")
    assert away.changes["merged_into"] == {"before": None, "after": kept.pk}


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def agent(api_as, desk, clock):  # noqa: F811
    return api_as("agent")


def _open(client, customer, **extra) -> dict:
    body = {"customer_id": customer.pk, "type": "complaint", "subject": "退款还没到账", **extra}
    response = client.post("/tickets", body)
    assert response.status_code == 201, response.json()
    return response.json()


def _fields(response) -> list[str]:
    return sorted(e["field"] for e in response.json()["errors"])


def test_the_api_merges_only_with_the_versions_of_both_tickets(agent, company, desk):
    duplicate = _open(agent, company.rep_customer)
    kept = _open(agent, company.rep_customer)
    path = f"/tickets/{duplicate['id']}/merge"

    missing = agent.post(path, {"into_id": kept["id"]})
    assert missing.status_code == 422, missing.json()
    assert _fields(missing) == ["into_version", "version"]
    assert "read the record again" in missing.json()["errors"][0]["message"]

    # Someone raises the kept ticket's priority after the client read both.
    _raise_priority(desk.second, Ticket.objects.get(pk=kept["id"]))
    body = {"into_id": kept["id"], "version": duplicate["version"], "into_version": kept["version"]}
    stale = agent.post(path, body)
    assert stale.status_code == 409, stale.json()
    assert _fields(stale) == ["into_version"]
    assert "ticket to keep" in stale.json()["detail"]
    assert stale.json()["current_version"] == kept["version"] + 1
    assert not Ticket.objects.get(pk=duplicate["id"]).merged_into_id

    fresh = agent.post(path, {**body, "into_version": kept["version"] + 1})
    assert fresh.status_code == 200, fresh.json()
    assert Ticket.objects.get(pk=duplicate["id"]).merged_into_id == kept["id"]


def test_a_merge_after_a_change_to_the_ticket_merged_away_answers_409_on_version(
    agent, company, desk
):
    duplicate = _open(agent, company.rep_customer)
    kept = _open(agent, company.rep_customer)
    _raise_priority(desk.second, Ticket.objects.get(pk=duplicate["id"]))
    stale = agent.post(
        f"/tickets/{duplicate['id']}/merge",
        {"into_id": kept["id"], "version": duplicate["version"], "into_version": kept["version"]},
    )
    assert stale.status_code == 409, stale.json()
    assert _fields(stale) == ["version"]
    assert not Ticket.objects.get(pk=duplicate["id"]).merged_into_id


def test_the_api_assigns_only_with_the_version_read(agent, company, desk):
    ticket = _open(agent, company.rep_customer)
    path = f"/tickets/{ticket['id']}/assign"
    missing = agent.post(path, {"assignee_id": desk.second.pk})
    assert missing.status_code == 422, missing.json()
    assert _fields(missing) == ["version"]

    first = agent.post(path, {"assignee_id": desk.second.pk, "version": ticket["version"]})
    assert first.status_code == 200, first.json()
    # A second assignment made with what was read before the first would undo it.
    second = agent.post(path, {"assignee_id": None, "version": ticket["version"]})
    assert second.status_code == 409, second.json()
    assert _fields(second) == ["version"]
    assert Ticket.objects.get(pk=ticket["id"]).assignee == desk.second


def test_a_reply_that_moves_the_ticket_on_needs_the_version_and_a_plain_reply_does_not(
    agent, company, desk
):
    ticket = _open(agent, company.rep_customer)
    path = f"/tickets/{ticket['id']}/replies"
    missing = agent.post(path, {"body": "已经处理", "status": "resolved"})
    assert missing.status_code == 422, missing.json()
    assert _fields(missing) == ["version"]
    assert not TicketMessage.objects.filter(body="已经处理").exists()

    # Someone moves the ticket on meanwhile: a status from the old reading is refused...
    services.ticket_set_status(
        actor=desk.second,
        ticket_id=ticket["id"],
        status="pending_customer",
        expected_version=ticket["version"],
    )
    stale = agent.post(
        path, {"body": "已经处理", "status": "resolved", "version": ticket["version"]}
    )
    assert stale.status_code == 409, stale.json()
    assert Ticket.objects.get(pk=ticket["id"]).status == "pending_customer"
    # ...while a reply alone only adds to the conversation, and needs none.
    plain = agent.post(path, {"body": "我们在核对"})
    assert plain.status_code == 201, plain.json()
    assert Ticket.objects.get(pk=ticket["id"]).status == "pending_customer"


# --- the pages ----------------------------------------------------------------------------------


def _post(client, ticket: Ticket, **data):
    return client.post(f"/service/tickets/{ticket.pk}/", data)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("assign", {"assignee_id": ""}),
        ("status", {"status": "resolved"}),
        ("reply", {"body": "已经处理", "status": "resolved"}),
    ],
)
def test_a_form_without_the_version_changes_nothing(client, company, desk, clock, action, data):
    ticket = _complaint(company.agent, company.rep_customer)
    client.force_login(company.agent)
    page = _post(client, ticket, action=action, **data).content.decode()
    assert "did not say which version of the ticket you saw" in page
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.version, stored.assignee, stored.status) == (
        ticket.version,
        company.agent,
        ticket.status,
    )
    assert not TicketMessage.objects.filter(body="已经处理").exists()


def test_an_assignment_from_a_page_read_before_another_is_refused(client, company, desk, clock):
    ticket = _complaint(company.agent, company.rep_customer)
    client.force_login(company.agent)
    services.ticket_assign(
        actor=desk.second,
        ticket_id=ticket.pk,
        assignee_id=desk.second.pk,
        expected_version=ticket.version,
    )
    page = _post(client, ticket, action="assign", assignee_id=company.agent.pk, version=1)
    assert "Someone changed this ticket" in page.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).assignee == desk.second


def test_a_merge_on_the_page_is_confirmed_against_both_tickets(client, company, desk, clock):
    duplicate = _complaint(company.agent, company.rep_customer)
    kept = _complaint(company.agent, company.rep_customer, subject="又来问退款")
    client.force_login(company.agent)
    detail = client.get(f"/service/tickets/{duplicate.pk}/").content.decode()
    assert 'name="action" value="merge"><input type="hidden" name="version"' in detail

    # The number alone shows the ticket to keep and merges nothing yet.
    asked = _post(client, duplicate, action="merge", into=kept.number, version=duplicate.version)
    html = asked.content.decode()
    assert asked.status_code == 200 and 'id="merge-confirm"' in html and "又来问退款" in html
    assert f'name="into_version" value="{kept.version}"' in html
    assert not _was_merged(duplicate)

    # Someone changes the ticket to keep while the user reads the question.
    _raise_priority(desk.second, kept)
    confirm = {"action": "merge", "into": kept.pk, "version": duplicate.version}
    refused = _post(client, duplicate, **confirm, into_version=kept.version)
    assert "changed the ticket to keep" in refused.content.decode()
    assert not _was_merged(duplicate)

    merged = _post(client, duplicate, **confirm, into_version=kept.version + 1)
    assert merged.status_code == 302 and merged["Location"] == f"/service/tickets/{kept.pk}/"
    assert _was_merged(duplicate)


def test_a_merge_from_a_page_read_before_a_change_is_refused(client, company, desk, clock):
    duplicate = _complaint(company.agent, company.rep_customer)
    kept = _complaint(company.agent, company.rep_customer, subject="又来问退款")
    client.force_login(company.agent)
    _raise_priority(desk.second, duplicate)
    for extra in ({}, {"into_version": kept.version}):
        page = _post(
            client, duplicate, action="merge", into=kept.number, version=duplicate.version, **extra
        )
        assert "Someone changed this ticket" in page.content.decode()
        assert 'id="merge-confirm"' not in page.content.decode()
    assert not _was_merged(duplicate)
