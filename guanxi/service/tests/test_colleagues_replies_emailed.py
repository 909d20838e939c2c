"""A reply to the customer or an internal note, however written, and a message from the
customer are emailed to the ticket's assignee and watchers besides its writer: each once, in
their own language, with the ticket's number and subject, who wrote, the text and a link to
the ticket's page; only to someone active, with an address, who may still see the ticket; once
the reply is committed, so that one rolled back sends nothing, and a mail server that fails
does not fail the reply."""

import hashlib

import pytest
from django.core import mail as outbox
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.roles import Role
from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.service import mail, services
from guanxi.service.models import Notification, Ticket, TicketMessage
from guanxi.service.tests.conftest import REQUESTER, complaint_by_email
from guanxi.service.tests.inbound_mail import filed
from guanxi.service.tests.test_inbound_unknown_sender import raw_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]

ANSWER = "退款已经加急处理，三天内到账。"
NOTE = "财务说周五前能批下来。"
AGAIN = "还是没有收到退款。"


@pytest.fixture
def ticket(company, desk, clock) -> Ticket:
    """王芳's complaint about the rep's customer, held by the second agent, who watches it too,
    and watched by the team lead, the rep (the customer's account manager) and the company's
    agent, who is the one to write on it; nothing has been sent yet."""
    opened = complaint_by_email(company)
    services.ticket_assign(actor=company.admin, ticket_id=opened.pk, assignee_id=desk.second.pk)
    for user in (desk.second, desk.lead, company.rep, company.agent):
        services.ticket_watch(actor=user, ticket_id=opened.pk, watching=True)
    Notification.objects.all().delete()
    outbox.outbox.clear()
    return Ticket.objects.get(pk=opened.pk)


def _emailed() -> dict[str, list[tuple[str, str]]]:
    """The subject and body of each email to the desk's users (not the requester's), by
    address; an address named twice in one email counts twice."""
    received: dict[str, list[tuple[str, str]]] = {}
    for message in outbox.outbox:
        for address in message.to:
            if address != REQUESTER:
                received.setdefault(address, []).append((message.subject, message.body))
    return received


def _email(ticket: Ticket, headline: str, text: str) -> tuple[str, str]:
    link = f"https://crm.example.cn/service/tickets/{ticket.pk}/"
    return (
        headline,
        f"{headline}\n\n{text}\n\nOpen the ticket: {link}\n\n"
        "You are emailed because the ticket is assigned to you or you watch it.",
    )


def _replied(ticket: Ticket, writer) -> tuple[str, str]:
    return _email(
        ticket, f"{ticket.number} 货物破损: {writer.label} replied to the customer", ANSWER
    )


def _noted(ticket: Ticket, writer) -> tuple[str, str]:
    return _email(ticket, f"{ticket.number} 货物破损: {writer.label} added an internal note", NOTE)


def _expected(company, desk, email: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    """The assignee (once, though they watch it too) and the two other watchers; not the
    writer (the agent), nor the department's manager, who neither holds nor watches it."""
    return {user.email: [email] for user in (desk.second, desk.lead, company.rep)}


def _page_post(client, ticket: Ticket, **fields):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/service/tickets/{ticket.pk}/", fields)


def test_a_reply_on_the_ticket_page_is_emailed_to_the_assignee_and_watchers_not_its_writer(
    client, company, desk, ticket
):
    client.force_login(company.agent)
    response = _page_post(client, ticket, action="reply", version=ticket.version, body=ANSWER)
    assert response.status_code == 302
    assert _emailed() == _expected(company, desk, _replied(ticket, company.agent))
    # The customer has the reply itself, as before.
    assert [m.body for m in outbox.outbox if REQUESTER in m.to] == [ANSWER]


def test_a_reply_through_the_api_is_emailed_alike(api_as, company, desk, ticket):  # noqa: F811
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as("agent").post(f"/tickets/{ticket.pk}/replies", {"body": ANSWER})
    assert response.status_code == 201, response.json()
    assert _emailed() == _expected(company, desk, _replied(ticket, company.agent))


def test_a_note_on_the_page_or_through_the_api_is_emailed_to_colleagues_only(
    client,
    api_as,  # noqa: F811
    company,
    desk,
    ticket,
):
    client.force_login(company.agent)
    assert _page_post(client, ticket, action="note", body=NOTE).status_code == 302
    assert _emailed() == _expected(company, desk, _noted(ticket, company.agent))

    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as("agent").post(f"/tickets/{ticket.pk}/notes", {"body": NOTE})
    assert response.status_code == 201, response.json()
    assert _emailed() == _expected(company, desk, _noted(ticket, company.agent))
    assert not [m for m in outbox.outbox if REQUESTER in m.to]


def test_a_reply_or_note_from_the_agents_own_mail_program_is_emailed_alike(company, desk, ticket):
    def from_agent(body: str, *, cc: str = ""):
        return filed(
            raw_email(
                sender=f"{company.agent.label} <{company.agent.email}>",
                cc=cc,
                subject=f"Re: {mail.ticket_token(ticket.pk)} {ticket.subject}",
                body=body,
                message_id=f"<{hashlib.sha256(body.encode()).hexdigest()[:20]}@example.com>",
            )
        )

    assert "recorded as their reply" in from_agent(ANSWER, cc=REQUESTER).reason
    assert _emailed() == _expected(company, desk, _replied(ticket, company.agent))
    assert not [m for m in outbox.outbox if REQUESTER in m.to]  # they have it from the agent

    assert "kept as their internal note" in from_agent(NOTE).reason
    assert _emailed() == _expected(company, desk, _noted(ticket, company.agent))
    # The same email read again is recognised, and nobody is emailed twice.
    assert from_agent(NOTE).action == "duplicate"
    assert outbox.outbox == []


def test_the_assignee_writing_is_not_emailed_and_the_agent_watching_is(company, desk, ticket):
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_note(actor=desk.second, ticket_id=ticket.pk, body=NOTE)
    assert _emailed() == {
        user.email: [_noted(ticket, desk.second)]
        for user in (desk.lead, company.rep, company.agent)
    }


def test_the_customers_emailed_answer_is_emailed_to_the_assignee_and_watchers(
    company, desk, ticket
):
    result = filed(
        raw_email(
            sender=f"王芳 <{REQUESTER}>",
            subject=f"Re: {mail.ticket_token(ticket.pk)} {ticket.subject}",
            body=AGAIN,
            message_id=f"<{hashlib.sha256(AGAIN.encode()).hexdigest()[:20]}@example.cn>",
        )
    )
    assert result.action == "added", result.reason
    wrote = _email(ticket, f"{ticket.number} 货物破损: the customer ({REQUESTER}) wrote", AGAIN)
    # The agent did not write it: they watch the ticket and hear of it too.
    assert _emailed() == {
        user.email: [wrote] for user in (desk.second, desk.lead, company.rep, company.agent)
    }


def test_the_customers_answer_on_the_status_page_is_emailed_alike(company, desk, ticket):
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.customer_message(ticket_id=ticket.pk, body=AGAIN)
    wrote = _email(ticket, f"{ticket.number} 货物破损: the customer ({REQUESTER}) wrote", AGAIN)
    assert _emailed()[desk.second.email] == [wrote]


def test_nobody_is_emailed_who_may_not_see_the_ticket_is_inactive_or_has_no_address(
    company, desk, ticket
):
    # The customer goes to a rep in the West: the East rep watching it may no longer see it.
    Customer.objects.filter(pk=company.rep_customer.pk).update(owner=company.rep_west)
    desk.lead.is_active = False
    desk.lead.save(update_fields=["is_active"])
    desk.second.email = ""
    desk.second.save(update_fields=["email"])
    newcomer = UserFactory(username="desk3", role=Role.SERVICE_AGENT, department=company.service)
    ticket.watchers.add(company.rep_west, newcomer)

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
        services.customer_message(ticket_id=ticket.pk, body=AGAIN)
    emailed = _emailed()
    # Those who may see it, the West rep now among them, each hear of all three.
    assert set(emailed) == {company.agent.email, company.rep_west.email, newcomer.email}
    assert len(emailed[newcomer.email]) == 3 and len(emailed[company.agent.email]) == 1
    # Those still told in the app are the ones who may see it, with or without an address.
    assert Notification.objects.filter(user=desk.second).count() == 3


def test_a_mailbox_is_emailed_once_and_not_of_what_its_owner_wrote_from_another_account(
    company, desk, ticket
):
    # The agent is an administrator too, under the same address written otherwise; the lead
    # has a second account under theirs, in the other language.
    agent_as_admin = UserFactory(
        username="agent-admin", role=Role.ADMIN, email=company.agent.email.upper()
    )
    lead_again = UserFactory(
        username="lead-again",
        role=Role.SERVICE_AGENT,
        department=company.service,
        email=desk.lead.email,
        language="zh-hans",
    )
    ticket.watchers.add(agent_as_admin, lead_again)

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert _emailed() == _expected(company, desk, _noted(ticket, company.agent))
    # Each account still has its notice in the app.
    assert Notification.objects.filter(user__in=(agent_as_admin, lead_again)).count() == 2


def test_a_mailbox_of_two_accounts_hears_in_the_language_of_the_older_whatever_the_order(
    company, desk, ticket, monkeypatch
):
    """The watchers are read in no particular order (PostgreSQL returns them as it finds
    them): the mailbox the lead shares with a newer account reading Chinese is written to in
    the lead's language however they come back."""
    lead_again = UserFactory(
        username="lead-again",
        role=Role.SERVICE_AGENT,
        department=company.service,
        email=desk.lead.email,
        language="zh-hans",
    )
    ticket.watchers.add(lead_again)
    readers = services.ticket_readers
    monkeypatch.setattr(
        services,
        "ticket_readers",
        lambda *args: sorted(readers(*args), key=lambda user: user.pk, reverse=True),
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert _emailed()[desk.lead.email] == [_noted(ticket, company.agent)]


def test_twenty_watchers_cost_no_more_queries_than_three(company, desk, ticket):
    def queries(body: str) -> int:
        with (
            CaptureQueriesContext(connection) as captured,
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            services.customer_message(ticket_id=ticket.pk, body=body)
        return len(captured.captured_queries)

    few = queries(AGAIN)
    for i in range(20):
        ticket.watchers.add(
            UserFactory(
                username=f"watcher{i}",
                role=Role.SALES_REP if i % 2 else Role.SERVICE_AGENT,
                department=company.service,
                language="zh-hans" if i % 3 else "",
            )
        )
    outbox.outbox.clear()
    assert queries(f"{AGAIN} 2") == few
    assert len(outbox.outbox) == 2  # one in each language
    # The four of the ticket and the ten agents among the new watchers: the reps among them
    # do not see this customer.
    assert sum(len(message.to) for message in outbox.outbox) == 4 + 10


def test_each_is_emailed_in_their_own_language(client, company, desk, ticket):
    desk.lead.language = "zh-hans"
    desk.lead.save(update_fields=["language"])
    client.force_login(company.agent)
    _page_post(client, ticket, action="reply", version=ticket.version, body=ANSWER)
    label = company.agent.label
    link = f"https://crm.example.cn/service/tickets/{ticket.pk}/"
    headline = f"{ticket.number} 货物破损：{label} 回复了客户"
    assert _emailed()[desk.lead.email] == [
        (
            headline,
            f"{headline}\n\n{ANSWER}\n\n打开工单：{link}\n\n"
            "您收到这封邮件，是因为这张工单分派给了您，或者您在关注它。",
        )
    ]
    assert _emailed()[desk.second.email] == [_replied(ticket, company.agent)]

    # Whatever language the writer's request speaks.
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.customer_message(ticket_id=ticket.pk, body=AGAIN)
    ((subject, _body),) = _emailed()[desk.lead.email]
    assert subject == f"{ticket.number} 货物破损：客户（{REQUESTER}）来信"
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert _emailed()[desk.lead.email][-1][0] == f"{ticket.number} 货物破损：{label} 添加了内部备注"
    assert _emailed()[desk.second.email][-1] == _noted(ticket, company.agent)


def test_a_reply_rolled_back_emails_nobody_and_the_next_one_is_emailed(company, desk, ticket):
    class Failed(Exception):
        pass

    # Something later in the same transaction fails: the reply and its emails go together.
    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        pytest.raises(Failed),
        transaction.atomic(),
    ):
        services.ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=ANSWER)
        raise Failed
    assert not TicketMessage.objects.filter(ticket=ticket).exists()
    assert outbox.outbox == []

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
    assert _emailed() == _expected(company, desk, _noted(ticket, company.agent))


def test_a_mail_server_that_is_down_does_not_fail_the_note(
    client, company, desk, ticket, mail_server_down, caplog
):
    client.force_login(company.agent)
    assert _page_post(client, ticket, action="note", body=NOTE).status_code == 302
    assert TicketMessage.objects.filter(ticket=ticket, body=NOTE).exists()
    assert Notification.objects.filter(user=desk.second).exists()
    assert "Could not email the desk's users about a ticket" in caplog.text


def test_an_email_the_mail_server_refuses_costs_the_other_languages_nothing(
    company, desk, ticket, mail_server, caplog
):
    # The lead reads Chinese, the others English: an email each way. Whichever the server
    # refuses (its only address unknown to it), the other still goes, over the same connection.
    desk.lead.language = "zh-hans"
    desk.lead.save(update_fields=["language"])
    english = {desk.second.email, company.rep.email}
    for refused, delivered in (({desk.lead.email}, english), (english, {desk.lead.email})):
        mail_server.refused, mail_server.delivered = refused, []
        caplog.clear()
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.ticket_note(actor=company.agent, ticket_id=ticket.pk, body=NOTE)
        assert [set(to) for to in mail_server.delivered] == [delivered]
        assert "Could not email the desk's users about a ticket" in caplog.text


def test_the_customer_answering_a_merged_ticket_is_emailed_to_both_tickets_followers(
    company, desk, ticket
):
    kept = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "又坏了", "requester_email": REQUESTER},
    )
    services.ticket_merge(actor=company.admin, ticket_id=ticket.pk, into_id=kept.pk)
    kept = Ticket.objects.get(pk=kept.pk)
    outbox.outbox.clear()

    # The customer answers the merged ticket's email: it is filed on the kept one, and those
    # who followed the merged one hear of it as well as the kept one's, with its link.
    result = filed(
        raw_email(
            sender=f"王芳 <{REQUESTER}>",
            subject=f"Re: {mail.ticket_token(ticket.pk)} {ticket.subject}",
            body=AGAIN,
            message_id=f"<{hashlib.sha256(AGAIN.encode()).hexdigest()[:20]}@example.cn>",
        )
    )
    assert result.action == "added" and result.ticket.pk == kept.pk, result.reason
    wrote = _email(kept, f"{kept.number} 又坏了: the customer ({REQUESTER}) wrote", AGAIN)
    followers = {desk.second, desk.lead, company.rep, company.agent, kept.assignee}
    assert _emailed() == {user.email: [wrote] for user in followers}
    # The kept ticket's history says whom it took in.
    merge = AuditEvent.objects.get(
        object_type="ticket", object_id=kept.pk, action=AuditEvent.Action.MERGE
    )
    assert merge.changes["watchers"] == {
        "before": [],
        "after": sorted(u.username for u in (desk.second, desk.lead, company.rep, company.agent)),
    }
