"""A ticket merged into another is refused every change, not only to its fields: reopened, given
to someone, answered or noted, it would come back to the queues and the SLA sweep as an empty
shell whose conversation went on in the kept ticket, the customer answered under a closed
number. The service, the API and the page refuse each the same way (422 on ``ticket_id``,
naming the kept ticket), writing nothing and auditing nothing; the page offers none of them."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.service import services
from guanxi.service.models import CustomerEmail, Ticket, TicketMessage
from guanxi.service.tests.conftest import merged_away

pytestmark = pytest.mark.django_db


WRITES = {
    "reopened": lambda company, t: services.ticket_set_status(
        actor=company.agent, ticket_id=t.pk, status="open", expected_version=t.version
    ),
    "assigned": lambda company, t: services.ticket_assign(
        actor=company.agent, ticket_id=t.pk, assignee_id=company.agent.pk
    ),
    "answered": lambda company, t: services.ticket_reply(
        actor=company.agent, ticket_id=t.pk, body="已处理。"
    ),
    "noted": lambda company, t: services.ticket_note(
        actor=company.agent, ticket_id=t.pk, body="内部备注"
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_service_refuses_every_change_to_a_ticket_merged_away(write, company, desk, clock):
    duplicate, kept = merged_away(company)
    audited, messages, emails = (
        AuditEvent.objects.count(),
        TicketMessage.objects.count(),
        CustomerEmail.objects.count(),
    )
    with pytest.raises(ValidationError) as refused:
        WRITES[write](company, duplicate)
    [message] = refused.value.message_dict["ticket_id"]
    assert kept.number in message
    now = Ticket.objects.get(pk=duplicate.pk)
    assert (now.version, now.status, now.assignee_id) == (
        duplicate.version,
        Ticket.Status.CLOSED,
        duplicate.assignee_id,
    )
    assert AuditEvent.objects.count() == audited
    assert TicketMessage.objects.count() == messages
    assert CustomerEmail.objects.count() == emails


def test_the_api_refuses_to_reopen_or_answer_a_ticket_merged_away(api_as, company, desk, clock):  # noqa: F811
    duplicate, kept = merged_away(company)
    agent = api_as("agent")
    audited = AuditEvent.objects.count()
    for path, body in (
        (f"/tickets/{duplicate.pk}/status", {"status": "open", "version": duplicate.version}),
        (f"/tickets/{duplicate.pk}/replies", {"body": "已处理。"}),
    ):
        answer = agent.post(path, body)
        assert answer.status_code == 422, (path, answer.status_code, answer.content)
        [error] = answer.json()["errors"]
        assert error["field"] == "ticket_id" and kept.number in error["message"]
    assert AuditEvent.objects.count() == audited


def test_the_page_of_a_ticket_merged_away_offers_no_change(client, company, desk, clock):
    duplicate, kept = merged_away(company)
    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{duplicate.pk}/").content.decode()
    assert 'name="status"' not in page
    assert 'value="assign"' not in page
    answer = client.post(
        f"/service/tickets/{duplicate.pk}/",
        {"action": "status", "status": "open", "version": duplicate.version},
    )
    assert answer.status_code == 422
    assert f"merged into {kept.number}" in answer.content.decode()
    assert Ticket.objects.get(pk=duplicate.pk).status == Ticket.Status.CLOSED
