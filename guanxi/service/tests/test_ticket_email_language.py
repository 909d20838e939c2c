"""The language a customer is emailed in is the ticket's, which the agent taking a request down
may choose and anyone working on the ticket may change: through the service every change of a
ticket goes through (its version checked, audited, refused on a ticket merged away), on the
ticket's page and in the API. Every email sent after the change is in the language chosen."""

import pytest
from django.core import mail as outbox
from django.core.exceptions import ValidationError
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.conftest import REQUESTER, merged_away

pytestmark = pytest.mark.django_db


def _taken_down_in_english(company, **data) -> Ticket:
    """A call from a customer who speaks Chinese, typed in English by the agent who took it."""
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={
            "type": "complaint",
            "subject": "Parcel arrived damaged",
            "requester_email": REQUESTER,
            **data,
        },
    )


def _reply(company, ticket: Ticket, body: str, **extra):
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=body, **extra)
    return [message for message in outbox.outbox if REQUESTER in message.to]


def _subject_words(message) -> str:
    """The subject after the ticket's token."""
    return message.subject.split(" ", 1)[1]


def _set_language(company, ticket: Ticket, language: str) -> Ticket:
    return services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"language": language},
    )


def test_an_english_taken_ticket_switched_to_chinese_sends_its_next_reply_in_chinese(
    company, desk, clock
):
    ticket = _taken_down_in_english(company)
    assert ticket.language == "" and ticket.email_language == "en"
    [before] = _reply(company, ticket, "We are looking into it.")
    assert _subject_words(before) == "Re: Parcel arrived damaged"

    ticket.refresh_from_db()
    changed = _set_language(company, ticket, "zh-hans")

    assert changed.language == "zh-hans" and changed.version == ticket.version + 1
    event = AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk).latest("id")
    assert event.actor == company.agent and event.action == AuditEvent.Action.UPDATE
    assert event.changes["language"] == {"before": "en", "after": "zh-hans"}
    [reply, survey] = _reply(
        company, changed, "已为您补发。", status="resolved", expected_version=changed.version
    )
    assert _subject_words(reply) == "回复：Parcel arrived damaged"
    assert reply.body == "已为您补发。"
    assert survey.body.startswith(f"您的请求 {ticket.number} 已解决。")


def test_switched_back_to_english_the_survey_is_in_english(company, desk, clock):
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "requester_email": REQUESTER},
    )
    assert ticket.language == "zh-hans"
    changed = _set_language(company, ticket, "en")
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    [survey] = outbox.outbox
    assert changed.language == "en"
    assert survey.body.startswith(f"Your request {ticket.number} has been resolved.")


def test_the_agent_taking_a_request_down_chooses_the_language(company, desk, clock):
    chinese = _taken_down_in_english(company, language="zh-hans")
    english = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "language": "en"},
    )
    guessed = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "language": ""},
    )
    assert (chinese.language, english.language, guessed.language) == ("zh-hans", "en", "zh-hans")
    create = AuditEvent.objects.get(
        object_id=chinese.pk, object_type="ticket", action=AuditEvent.Action.CREATE
    )
    assert create.changes["language"] == {"before": None, "after": "zh-hans"}


def test_an_email_written_before_the_change_and_not_sent_goes_in_the_language_chosen(
    company, desk, clock, mail_server_down, settings
):
    ticket = _taken_down_in_english(company)
    assert _reply(company, ticket, "稍等。") == []  # the mail server is down
    ticket.refresh_from_db()
    _set_language(company, ticket, "zh-hans")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.customer_emails_retry(now=clock()) == 1
    [sent] = outbox.outbox
    assert _subject_words(sent) == "回复：Parcel arrived damaged"


def test_a_stale_version_changes_no_language(company, desk, clock):
    ticket = _taken_down_in_english(company)
    services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"priority": "high"},
    )
    audited = AuditEvent.objects.count()
    with pytest.raises(services.StaleTicketError):
        _set_language(company, ticket, "zh-hans")  # read before the priority changed
    assert Ticket.objects.get(pk=ticket.pk).language == ""
    assert AuditEvent.objects.count() == audited


def test_a_ticket_merged_away_keeps_its_language(company, desk, clock):
    duplicate, kept = merged_away(company)
    with pytest.raises(ValidationError) as refused:
        _set_language(company, duplicate, "en")
    assert kept.number in refused.value.message_dict["ticket_id"][0]
    assert Ticket.objects.get(pk=duplicate.pk).language == "zh-hans"


@pytest.mark.parametrize("value", ["fr", "zh", "Chinese"])
def test_a_language_not_offered_is_refused_naming_the_field(company, desk, clock, value):
    ticket = _taken_down_in_english(company)
    with pytest.raises(ValidationError) as refused:
        _set_language(company, ticket, value)
    assert list(refused.value.message_dict) == ["language"]
    with pytest.raises(ValidationError) as refused:
        _taken_down_in_english(company, language=value)
    assert list(refused.value.message_dict) == ["language"]


# --- the pages -------------------------------------------------------------------------------


def test_the_take_down_form_offers_the_language_and_guesses_when_left_alone(
    client, company, desk, clock
):
    client.force_login(company.agent)
    url = f"/service/customers/{company.rep_customer.pk}/new/"
    page = client.get(url).content.decode()
    assert "Language of emails to the customer" in page
    assert '<option value="" selected>As the request is written</option>' in page
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in page

    form = {"type": "complaint", "subject": "Parcel arrived damaged", "priority": "normal"}
    for language, stored in (("zh-hans", "zh-hans"), ("", "")):
        response = client.post(url, {**form, "channel": "phone", "language": language})
        assert response.status_code == 302, response.content.decode()
        assert Ticket.objects.latest("id").language == stored


def _change(client, ticket: Ticket, **fields):
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


def test_the_ticket_page_shows_and_changes_the_language(client, company, desk, clock):
    ticket = _taken_down_in_english(company)
    client.force_login(company.agent)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert '<dd id="email-language" lang="en">English</dd>' in page
    assert '<option value="en" selected lang="en">English</option>' in page

    # Sent back as shown (English, the site default the ticket has): nothing changes.
    unchanged = _change(client, ticket, language="en")
    assert unchanged.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version

    response = _change(client, ticket, language="zh-hans")
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).language == "zh-hans"
    page = client.get(response["Location"]).content.decode()
    assert '<dd id="email-language" lang="zh-hans">简体中文</dd>' in page

    stale = _change(client, ticket, language="en")  # the version read before the change
    assert stale.status_code == 409
    assert Ticket.objects.get(pk=ticket.pk).language == "zh-hans"


def test_the_page_refuses_a_language_not_offered_beside_the_field(client, company, desk, clock):
    ticket = _taken_down_in_english(company)
    client.force_login(company.agent)
    response = _change(client, ticket, language="fr")
    assert response.status_code == 422
    assert 'id="change-language-field"' in response.content.decode()
    assert 'class="field field-error" id="change-language-field"' in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def agent(api_as, desk, clock):  # noqa: F811
    return api_as("agent")


def test_the_api_reads_sets_and_changes_the_language(agent, company):
    body = {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Damaged"}
    guessed = agent.post("/tickets", {**body, "requester_email": REQUESTER})
    assert guessed.status_code == 201, guessed.json()
    assert guessed.json()["language"] == "en"  # none stored: the site default
    chosen = agent.post("/tickets", {**body, "language": "zh-hans"})
    assert chosen.json()["language"] == "zh-hans"

    ticket = guessed.json()
    changed = agent.patch(
        f"/tickets/{ticket['id']}", {"version": ticket["version"], "language": "zh-hans"}
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["language"] == "zh-hans"
    assert changed.json()["version"] == ticket["version"] + 1
    assert agent.get("/tickets").json()["items"][1]["language"] == "zh-hans"

    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = agent.post(f"/tickets/{ticket['id']}/replies", {"body": "已处理"})
    assert reply.status_code == 201, reply.json()
    [sent] = outbox.outbox
    assert _subject_words(sent) == "回复：Damaged"

    stale = agent.patch(
        f"/tickets/{ticket['id']}", {"version": ticket["version"], "language": "en"}
    )
    assert stale.status_code == 409
    assert Ticket.objects.get(pk=ticket["id"]).language == "zh-hans"


@pytest.mark.parametrize("value", ["fr", "", None, 1])
def test_the_api_refuses_a_language_not_offered_with_422_naming_it(agent, company, value):
    body = {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Damaged"}
    ticket = agent.post("/tickets", body).json()
    changed = agent.patch(
        f"/tickets/{ticket['id']}", {"version": ticket["version"], "language": value}
    )
    assert changed.status_code == 422, changed.json()
    assert [e["field"] for e in changed.json()["errors"]] == ["language"]
    assert Ticket.objects.get(pk=ticket["id"]).version == ticket["version"]
    if value is not None:
        opened = agent.post("/tickets", {**body, "language": value})
        assert opened.status_code == 422, opened.json()
        assert [e["field"] for e in opened.json()["errors"]] == ["language"]
