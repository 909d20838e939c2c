"""A colleague's reply to the customer or internal note, however written — the ticket page, the
API, their own mail program — is told in the app (the bell) to the ticket's assignee and its
watchers, as a message from the customer is: each once, in their own language, never to its
writer, and only to someone active who may still see the ticket; and a reply refused or rolled
back tells nobody. The same people are emailed of it (test_colleagues_replies_emailed)."""

import hashlib

import pytest
from django.core import mail as outbox
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.accounts.roles import Role
from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.service import mail, services
from guanxi.service.models import Notification, Ticket, TicketMessage
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email
from guanxi.service.tests.desk import notified
from guanxi.service.tests.inbound_mail import DESK, filed
from guanxi.service.tests.test_inbound_unknown_sender import raw_email

pytestmark = pytest.mark.django_db

ANSWER = "退款已经加急处理，三天内到账。"
NOTE = "财务说周五前能批下来。"


@pytest.fixture(autouse=True)
def desk_address(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK


@pytest.fixture
def ticket(company, desk, clock) -> Ticket:
    """王芳's complaint about the rep's customer, held by the second agent and watched by the
    team lead, the rep (the customer's account manager) and the company's agent, who is the one
    to write on it; nobody has been told anything yet."""
    opened = complaint_by_email(company)
    services.ticket_assign(actor=company.admin, ticket_id=opened.pk, assignee_id=desk.second.pk)
    for user in (desk.lead, company.rep, company.agent):
        services.ticket_watch(actor=user, ticket_id=opened.pk, watching=True)
    Notification.objects.all().delete()
    outbox.outbox.clear()
    return Ticket.objects.get(pk=opened.pk)


def _replied(ticket: Ticket, writer) -> str:
    return f"{ticket.number}: {writer.label} replied to the customer: {ANSWER}"


def _noted(ticket: Ticket, writer) -> str:
    return f"{ticket.number}: {writer.label} added an internal note: {NOTE}"


def _told(company, desk) -> dict[str, list[str]]:
    people = (desk.second, desk.lead, company.rep, company.agent, desk.head)
    return {user.username: notified(user) for user in people}


def _expected(company, desk, text: str) -> dict[str, list[str]]:
    """The assignee and the two watchers besides the writer (the agent) hear of it; the
    department's manager, who neither holds nor watches it, does not."""
    return {
        desk.second.username: [text],
        desk.lead.username: [text],
        company.rep.username: [text],
        company.agent.username: [],
        desk.head.username: [],
    }


def _page_post(client, ticket: Ticket, **fields):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/service/tickets/{ticket.pk}/", fields)


def _to_requester() -> list:
    return [message for message in outbox.outbox if REQUESTER in message.to]


def test_a_reply_on_the_ticket_page_is_told_to_the_assignee_and_watchers_not_its_writer(
    client, company, desk, ticket
):
    client.force_login(company.agent)
    response = _page_post(client, ticket, action="reply", version=ticket.version, body=ANSWER)
    assert response.status_code == 302
    assert _told(company, desk) == _expected(company, desk, _replied(ticket, company.agent))
    # The customer is emailed the reply, and nothing of what the colleagues are told.
    assert [message.body for message in _to_requester()] == [ANSWER]
    assert all(n.ticket_id == ticket.pk for n in Notification.objects.all())


def test_a_reply_through_the_api_is_told_alike(api_as, company, desk, ticket):  # noqa: F811
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as("agent").post(f"/tickets/{ticket.pk}/replies", {"body": ANSWER})
    assert response.status_code == 201, response.json()
    assert _told(company, desk) == _expected(company, desk, _replied(ticket, company.agent))


def test_a_note_on_the_page_or_through_the_api_is_told_but_never_sent_to_the_requester(
    client,
    api_as,  # noqa: F811
    company,
    desk,
    ticket,
):
    client.force_login(company.agent)
    assert _page_post(client, ticket, action="note", body=NOTE).status_code == 302
    assert _told(company, desk) == _expected(company, desk, _noted(ticket, company.agent))

    Notification.objects.all().delete()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as("agent").post(f"/tickets/{ticket.pk}/notes", {"body": NOTE})
    assert response.status_code == 201, response.json()
    assert _told(company, desk) == _expected(company, desk, _noted(ticket, company.agent))
    assert _to_requester() == []


def _from_agent(company, ticket: Ticket, body: str, *, cc: str = ""):
    """The agent writes into the ticket's thread from their own mail program."""
    return filed(
        raw_email(
            sender=f"{company.agent.label} <{company.agent.email}>",
            cc=cc,
            subject=f"Re: {mail.ticket_token(ticket.pk)} {ticket.subject}",
            body=body,
            message_id=f"<{hashlib.sha256(body.encode()).hexdigest()[:20]}@example.com>",
        )
    )


def test_a_reply_or_a_note_from_the_agents_own_mail_program_is_told_alike(company, desk, ticket):
    result = _from_agent(company, ticket, ANSWER, cc=REQUESTER)
    assert result.action == "added" and "recorded as their reply" in result.reason
    assert _told(company, desk) == _expected(company, desk, _replied(ticket, company.agent))
    assert _to_requester() == []  # the customer has it from the agent already

    Notification.objects.all().delete()
    result = _from_agent(company, ticket, NOTE)  # to the desk alone: the agent's note
    assert result.action == "added" and "kept as their internal note" in result.reason
    assert _told(company, desk) == _expected(company, desk, _noted(ticket, company.agent))
    assert _to_requester() == []
    # The same email read again is recognised, and nobody is told twice.
    assert _from_agent(company, ticket, NOTE).action == "duplicate"
    assert notified(desk.second) == [_noted(ticket, company.agent)]


def test_the_assignee_watching_too_is_told_once_and_the_writer_never(company, desk, ticket):
    services.ticket_watch(actor=desk.second, ticket_id=ticket.pk, watching=True)
    services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert notified(desk.second) == [_noted(ticket, company.agent)]

    # The assignee writes: they are not told of their own note, the agent now is.
    Notification.objects.all().delete()
    services.ticket_note(actor=desk.second, ticket_id=ticket.pk, body=NOTE)
    assert notified(desk.second) == []
    assert notified(company.agent) == [_noted(ticket, desk.second)]


def test_a_watcher_who_may_no_longer_see_the_ticket_or_is_inactive_is_not_told(
    company, desk, ticket
):
    # The customer goes to a rep in the West: the East rep watching it may no longer see it.
    Customer.objects.filter(pk=company.rep_customer.pk).update(owner=company.rep_west)
    desk.lead.is_active = False
    desk.lead.save(update_fields=["is_active"])

    services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
    services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert notified(company.rep) == [] and notified(desk.lead) == []
    assert notified(desk.second) == [_replied(ticket, company.agent), _noted(ticket, company.agent)]
    # Nor of the customer's own message, which the notice would quote.
    services.customer_message(ticket_id=ticket.pk, body="还没到")
    assert notified(company.rep) == [] and notified(desk.lead) == []


def test_many_watchers_are_told_in_as_many_queries_as_a_few(company, desk, ticket):
    """Who may still see the ticket is asked for all of them at once: a ticket followed by
    the whole desk costs no query more per reply or note while its row is locked."""
    ticket.watchers.add(company.rep_west)  # who may not see the customer
    services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    with CaptureQueriesContext(connection) as few:
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    crowd = [
        UserFactory(username=f"desk{i}", role=Role.SERVICE_AGENT, department=company.service)
        for i in range(20)
    ]
    ticket.watchers.add(*crowd)
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert len(many) == len(few)
    assert all(notified(user) == [_noted(ticket, company.agent)] for user in crowd)
    assert notified(desk.lead) == [_noted(ticket, company.agent)]
    assert notified(company.rep_west) == [] and notified(company.agent) == []


def test_each_reader_is_told_in_their_own_language(client, company, desk, ticket):
    desk.lead.language = "zh-hans"
    desk.lead.save(update_fields=["language"])
    client.force_login(company.agent)
    _page_post(client, ticket, action="reply", version=ticket.version, body=ANSWER)
    label = company.agent.label
    assert notified(desk.lead) == [f"{ticket.number}：{label} 回复了客户：{ANSWER}"]
    assert notified(desk.second) == [_replied(ticket, company.agent)]

    # Whatever language the writer's request speaks.
    Notification.objects.all().delete()
    with translation.override("zh-hans"):
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert notified(desk.lead) == [f"{ticket.number}：{label} 添加了内部备注：{NOTE}"]
    assert notified(desk.second) == [_noted(ticket, company.agent)]


def test_a_refused_reply_tells_nobody(client, api_as, company, desk, ticket):  # noqa: F811
    stale = ticket.version - 1
    client.force_login(company.agent)
    response = _page_post(
        client,
        ticket,
        action="reply",
        version=stale,
        body=ANSWER,
        status="pending_customer",
    )
    assert "Someone changed this ticket" in response.content.decode()
    response = api_as("agent").post(
        f"/tickets/{ticket.pk}/replies",
        {"body": ANSWER, "status": "pending_customer", "version": stale},
    )
    assert response.status_code == 409, response.json()
    assert not TicketMessage.objects.filter(ticket=ticket).exists()
    assert not Notification.objects.exists() and outbox.outbox == []


def test_a_reply_rolled_back_after_it_was_written_leaves_no_notice(company, desk, ticket):
    class Failed(Exception):
        pass

    # Something later in the same transaction fails: the reply and its notices go together.
    with pytest.raises(Failed), transaction.atomic():
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
        assert notified(desk.second) == [_replied(ticket, company.agent)]
        raise Failed
    assert not TicketMessage.objects.filter(ticket=ticket).exists()
    assert not Notification.objects.exists()


def test_more_watchers_than_one_query_can_count_are_all_asked_about(company, desk, ticket):
    """SQLite answers a query of at most 2,000 columns, one count for each person asked about:
    past that they are asked in turns."""
    from guanxi.service.selectors import ticket_readers

    people = [company.agent, company.rep_west] * 1001  # the West rep may not see the customer
    assert ticket_readers(ticket, people) == [company.agent] * 1001


def test_a_whole_sharing_team_watching_is_told_of_a_note(company, desk, ticket):
    """Each rep's scope lists the members of their team: a count for each of 501 reps of a team
    of 503 was more values than SQLite takes in one query. People of one scope are asked
    about once."""
    from guanxi.accounts.models import User

    User.objects.bulk_create(
        User(
            username=f"team_a_{i}",
            role=Role.SALES_REP,
            department=company.east,
            team=company.team_a,
        )
        for i in range(501)
    )
    reps = list(User.objects.filter(username__startswith="team_a_"))
    ticket.watchers.add(*reps)

    services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)

    told = set(Notification.objects.values_list("user__username", flat=True))
    assert {rep.username for rep in reps} <= told
    assert company.agent.username not in told
