"""A ticket merged into another is no longer changed: its page shows no change form, and the
service and the API refuse a change sent all the same (422 on ``ticket_id``, as merging it again
is, naming the ticket it went to), writing nothing and auditing nothing."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.conftest import merged_away

pytestmark = pytest.mark.django_db


def _unchanged(duplicate: Ticket, audited: int) -> None:
    now = Ticket.objects.get(pk=duplicate.pk)
    assert (now.version, now.priority, now.type, now.subject, now.sla_policy_id) == (
        duplicate.version,
        duplicate.priority,
        duplicate.type,
        duplicate.subject,
        duplicate.sla_policy_id,
    )
    assert AuditEvent.objects.count() == audited


def test_the_service_refuses_to_change_a_ticket_merged_away(company, desk, clock):
    duplicate, kept = merged_away(company)
    audited = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.ticket_update(
            actor=company.agent,
            ticket_id=duplicate.pk,
            expected_version=duplicate.version,
            data={"priority": "urgent", "type": "inquiry"},
        )
    [message] = refused.value.message_dict["ticket_id"]
    assert kept.number in message
    _unchanged(duplicate, audited)


def test_a_stale_version_of_a_ticket_merged_away_is_told_it_was_merged(company, desk, clock):
    # The merge moved the version on: the client that read the ticket before it learns why it
    # cannot change it, instead of being sent to read it again.
    duplicate, _kept = merged_away(company)
    with pytest.raises(ValidationError) as refused:
        services.ticket_update(
            actor=company.agent,
            ticket_id=duplicate.pk,
            expected_version=duplicate.version - 1,
            data={"priority": "urgent"},
        )
    assert list(refused.value.message_dict) == ["ticket_id"]


def test_the_api_refuses_a_change_to_a_ticket_merged_away(api_as, company, desk, clock):  # noqa: F811
    duplicate, kept = merged_away(company)
    agent = api_as("agent")  # its token is audited as it is made
    audited = AuditEvent.objects.count()
    answer = agent.patch(
        f"/tickets/{duplicate.pk}",
        {"version": duplicate.version, "priority": "urgent", "category_id": None, "area": ""},
    )
    assert answer.status_code == 422, answer.json()
    [error] = answer.json()["errors"]
    assert error["field"] == "ticket_id" and kept.number in error["message"]
    _unchanged(duplicate, audited)


def test_the_page_refuses_a_change_posted_to_a_ticket_merged_away(client, company, desk, clock):
    duplicate, kept = merged_away(company)
    audited = AuditEvent.objects.count()
    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{duplicate.pk}/").content.decode()
    assert 'id="change-form"' not in page
    answer = client.post(
        f"/service/tickets/{duplicate.pk}/",
        {
            "action": "change",
            "version": duplicate.version,
            "type": "complaint",
            "priority": "urgent",
            "category_id": "",
            "area": "",
        },
    )
    # Said at the top of the page, the change form being gone.
    assert answer.status_code == 422
    assert f"merged into {kept.number} and can no longer be changed" in answer.content.decode()
    _unchanged(duplicate, audited)
