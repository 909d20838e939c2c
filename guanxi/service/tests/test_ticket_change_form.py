"""The ticket page changes a ticket's priority, type, category and complaint area through the
service the API uses: only whoever may work with the customer, only against the version they
saw, with the new deadlines and the audit row the API's change has."""

import re

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.service import services
from guanxi.service.models import Ticket, TicketCategory

pytestmark = pytest.mark.django_db


def _inquiry(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票什么时候寄出"},
    )


def _change(client, ticket, **fields):
    data = {
        "action": "change",
        "version": ticket.version,
        "type": ticket.type,
        "priority": ticket.priority,
        "category_id": ticket.category_id or "",
        "area": ticket.area,
        **fields,
    }
    return client.post(f"/service/tickets/{ticket.pk}/", data)


def _updates(ticket):
    return AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.UPDATE
    )


def _field_errors(html: str, name: str) -> str:
    """The text of the change form's field ``name``, with its errors."""
    match = re.search(
        rf'<div class="field field-error" id="change-{name}-field">(.*?)</div>', html, re.S
    )
    return match.group(1) if match else ""


def test_an_agent_raises_the_priority_and_the_deadlines_follow(client, company, desk, clock):
    ticket = _inquiry(company)
    assert ticket.sla_policy.name == "Everything else (office hours)"
    client.force_login(company.agent)
    assert 'id="change-form"' in client.get(f"/service/tickets/{ticket.pk}/").content.decode()

    response = _change(client, ticket, priority="high")

    assert response.status_code == 302
    changed = Ticket.objects.get(pk=ticket.pk)
    assert changed.priority == "high" and changed.version == ticket.version + 1
    assert changed.sla_policy.name == "Urgent and high priority"
    assert changed.resolution_due < ticket.resolution_due
    [event] = _updates(ticket)
    assert event.actor == company.agent
    assert event.changes["priority"] == {"before": "normal", "after": "high"}
    page = client.get(response["Location"]).content.decode()
    assert "Ticket changed." in page
    assert changed.resolution_due.astimezone().strftime("%Y-%m-%d %H:%M") in page


def test_the_change_shows_in_the_customers_history_as_the_apis_does(client, company, desk, clock):
    from guanxi.customers.history import describe_history

    ticket = _inquiry(company)
    client.force_login(company.agent)
    _change(client, ticket, type="complaint", category_id=desk.refund.pk, area="quality")
    [event] = _updates(ticket)
    [entry] = describe_history([event], viewer=company.agent)
    labels = [line.label for line in entry.lines]
    assert {"type", "category", "complaint area"} <= set(labels), labels
    changed = Ticket.objects.get(pk=ticket.pk)
    assert (changed.type, changed.category, changed.area) == ("complaint", desk.refund, "quality")
    assert changed.sla_policy.name == "Complaints, round the clock"


def test_the_page_in_chinese_says_it_was_changed(client, company, desk, clock):
    ticket = _inquiry(company)
    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{ticket.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "修改工单" in page.content.decode()
    response = client.post(
        f"/service/tickets/{ticket.pk}/",
        {"action": "change", "version": ticket.version, "type": "inquiry", "priority": "urgent"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        follow=True,
    )
    assert "工单已修改。" in response.content.decode()


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_each_role_changes_the_ticket_only_if_it_may_work_with_the_customer(
    client, company, desk, clock, username
):
    ticket = _inquiry(company)
    user = company.users[username]
    sees, acts = (
        "rep_customer" in EXPECTED[username][0],  # may view the customer
        "rep_customer" in EXPECTED[username][1],  # may work with (log interactions on) it
    )
    client.force_login(user)
    page = client.get(f"/service/tickets/{ticket.pk}/")
    assert page.status_code == (200 if sees else 404)
    if sees:
        assert ('id="change-form"' in page.content.decode()) == acts

    response = _change(client, ticket, priority="urgent")

    assert response.status_code == (302 if acts else 403 if sees else 404)
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.priority == ("urgent" if acts else "normal")
    assert _updates(ticket).count() == (1 if acts else 0)


def test_a_colleague_who_may_only_read_the_customer_is_refused(client, company, desk, clock):
    # The analyst reads every customer but works with none: no form, and a post made by hand
    # changes nothing, whatever it sends.
    ticket = _inquiry(company)
    client.force_login(company.analyst)
    page = client.get(f"/service/tickets/{ticket.pk}/")
    assert page.status_code == 200 and 'id="change-form"' not in page.content.decode()
    assert _change(client, ticket, priority="urgent", category_id="not a number").status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version
    assert not _updates(ticket).exists()


def test_a_stale_form_says_someone_else_changed_the_ticket(client, company, desk, clock):
    ticket = _inquiry(company)
    client.force_login(company.agent)
    services.ticket_update(
        actor=desk.second,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"priority": "low"},
    )

    response = _change(client, ticket, priority="urgent")

    assert response.status_code == 409
    assert "Someone changed this ticket while you were looking at it" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).priority == "low"
    assert _updates(ticket).count() == 1


def test_a_form_without_a_version_is_refused(client, company, desk, clock):
    ticket = _inquiry(company)
    client.force_login(company.agent)
    response = client.post(
        f"/service/tickets/{ticket.pk}/",
        {"action": "change", "type": "inquiry", "priority": "urgent"},
    )
    assert response.status_code == 409
    assert Ticket.objects.get(pk=ticket.pk).priority == "normal"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("category_id", "999999"),
        ("category_id", "退款"),
        ("priority", "extreme"),
        ("type", "praise'"),
        ("type", ""),
        ("area", "everywhere"),
    ],
)
def test_an_invalid_value_is_named_beside_its_field(client, company, desk, clock, name, value):
    ticket = _inquiry(company)
    client.force_login(company.agent)

    response = _change(client, ticket, **{"priority": "high", name: value})

    assert response.status_code == 422
    assert _field_errors(response.content.decode(), name)
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_a_category_retired_since_the_page_was_read_is_refused_beside_it(
    client, company, desk, clock
):
    ticket = _inquiry(company)
    client.force_login(company.agent)
    TicketCategory.objects.filter(pk=desk.refund.pk).update(is_active=False)

    response = _change(client, ticket, category_id=desk.refund.pk)

    assert response.status_code == 422
    assert _field_errors(response.content.decode(), "category_id")
    assert Ticket.objects.get(pk=ticket.pk).category is None


def test_a_retired_category_the_ticket_keeps_is_not_dropped_by_another_change(
    client, company, desk, clock
):
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "退款", "category_id": desk.refund.pk},
    )
    TicketCategory.objects.filter(pk=desk.refund.pk).update(is_active=False)
    client.force_login(company.agent)
    assert (
        f'value="{desk.refund.pk}" selected'
        in client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    )

    assert _change(client, ticket, priority="high").status_code == 302
    changed = Ticket.objects.get(pk=ticket.pk)
    assert (changed.priority, changed.category_id) == ("high", desk.refund.pk)


def test_sending_the_form_unchanged_writes_nothing(client, company, desk, clock):
    ticket = _inquiry(company)
    client.force_login(company.agent)
    response = _change(client, ticket)
    assert response.status_code == 302
    assert "Nothing was changed." in client.get(response["Location"]).content.decode()
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version
    assert not _updates(ticket).exists()
