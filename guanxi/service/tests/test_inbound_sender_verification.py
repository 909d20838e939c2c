"""Inbound email whose From address the site's own mail server could not vouch for
(GUANXI_INBOUND_AUTHSERV_ID set): a forged customer's or colleague's address writes nothing in
their name. A reply is kept as a note as an unknown sender's is, saying the address could not be
verified; a new request is filed as one from an address no customer has. Unset, everything is
as before, and ``check --deploy`` warns."""

import subprocess

import pytest
from django.core import mail as outbox
from django.core.checks import run_checks

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.core.tests.test_packaging_and_settings import GUANXI, REPO, _production_env
from guanxi.customers.models import Customer, Email
from guanxi.service import mail
from guanxi.service.models import Notification, Ticket, TicketMessage
from guanxi.service.tests.inbound_mail import SECRET, URL
from guanxi.service.tests.test_inbound_unknown_sender import (  # noqa: F401  (its fixture)
    filed,
    media,
    raw_email,
    waiting_ticket,
)

pytestmark = pytest.mark.django_db

MX = "mx.guanxi.example"
REQUESTER = "王芳 <wangfang@example.cn>"
FAIL = (
    f"{MX}; spf=fail smtp.mailfrom=attacker.example; dmarc=fail (p=reject) header.from=example.cn"
)
PASS = f"{MX}; dkim=pass header.d=example.cn; dmarc=pass (p=reject) header.from=example.cn"


@pytest.fixture
def trusted(settings):
    """Turns verification on; called after the ticket is set up, whose first email has no
    verdict."""

    def turn_on(*ids: str) -> None:
        settings.GUANXI_INBOUND_AUTHSERV_ID = list(ids or (MX,))

    return turn_on


def reply(subject: str, verdict: str | None, *, sender: str = REQUESTER, cc: str = "", n: int = 1):
    """An answer in the thread, with the receiving server's verdict on top."""
    return filed(
        raw_email(
            sender=sender,
            cc=cc,
            subject=f"Re: {subject}",
            body=f"请把退款转到这个账户：6222 0000 {n:04d}。",
            message_id=f"<answer-{n}@example.cn>",
            headers={"Authentication-Results": verdict} if verdict else None,
        )
    )


def test_a_forged_customer_reply_that_fails_dmarc_is_kept_as_an_unverified_senders_note(
    company, desk, trusted
):
    ticket, subject = waiting_ticket(company)
    trusted()
    audit_rows = AuditEvent.objects.count()

    result = reply(subject, FAIL)

    assert result.action == "added" and result.ticket.pk == ticket.pk
    assert result.reason == "the sender's address could not be verified: kept as a note"
    note = TicketMessage.objects.get(email_message_id="<answer-1@example.cn>")
    assert note.kind == "note" and not note.is_public and note.author is None
    assert note.is_from_unknown_sender and note.email_sender_unverified
    assert note.email_from == "wangfang@example.cn"
    assert note.body.startswith("The sender's address, wangfang@example.cn, could not be verified")
    assert "6222 0000 0001" in note.body
    # Nothing the customer writes would change did: no status, clock or acknowledgement.
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.status == "pending_customer" and after.reopened_count == ticket.reopened_count
    assert after.next_response_due is None and after.waiting_since == ticket.waiting_since
    assert after.version == ticket.version
    assert not ticket.messages.filter(kind="customer", body__contains="6222").exists()
    assert outbox.outbox == []
    # Audited, and the agent told, in words that say the address may be the customer's.
    assert AuditEvent.objects.count() == audit_rows + 1
    event = AuditEvent.objects.latest("id")
    assert event.summary.endswith(
        "email from an unverified sender address wangfang@example.cn kept as a note"
    )
    assert Notification.objects.filter(
        user=company.agent, ticket=ticket, text__contains="could not be verified"
    ).exists()


def test_the_same_reply_with_a_passing_verdict_is_the_customers_as_before(company, desk, trusted):
    ticket, subject = waiting_ticket(company)
    trusted()
    result = reply(subject, PASS)
    assert result.action == "added" and result.reason == ""
    message = TicketMessage.objects.get(email_message_id="<answer-1@example.cn>")
    assert message.kind == "customer" and not message.email_sender_unverified
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_a_pass_under_another_servers_authserv_id_is_ignored(company, desk, trusted):
    _ticket, subject = waiting_ticket(company)
    trusted()
    result = reply(subject, "mx.attacker.example; dmarc=pass header.from=example.cn")
    message = TicketMessage.objects.get(email_message_id="<answer-1@example.cn>")
    assert message.kind == "note" and message.email_sender_unverified
    assert "could not be verified" in result.reason
    # The pass is read once the site trusts that server.
    trusted(MX, "mx.attacker.example")
    reply(subject, "mx.attacker.example; dmarc=pass header.from=example.cn", n=2)
    assert TicketMessage.objects.get(email_message_id="<answer-2@example.cn>").kind == "customer"


def test_a_pass_planted_below_the_servers_own_failing_verdict_does_not_count(
    company, desk, trusted
):
    _ticket, subject = waiting_ticket(company)
    trusted()
    raw = raw_email(
        sender=REQUESTER,
        subject=f"Re: {subject}",
        body="退款转给我。",
        message_id="<planted@example.cn>",
    )
    # The server's header on top, the sender's own (naming the server) under a relay's.
    raw = (
        f"Authentication-Results: {FAIL}\r\n"
        "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=example.cn\r\n"
        f"Authentication-Results: {MX}; dmarc=pass header.from=example.cn\r\n"
    ).encode() + raw
    filed(raw)
    assert TicketMessage.objects.get(email_message_id="<planted@example.cn>").kind == "note"


def test_a_forged_reply_all_from_an_agents_address_is_not_their_public_reply(
    company, desk, trusted
):
    ticket, subject = waiting_ticket(company)
    trusted()
    agent = company.agent
    domain = agent.email.rpartition("@")[2]
    forged = f"{MX}; dmarc=fail header.from={domain}"

    result = reply(subject, forged, sender=f"{agent.label} <{agent.email}>", cc=REQUESTER)

    message = TicketMessage.objects.get(email_message_id="<answer-1@example.cn>")
    assert message.kind == "note" and message.author is None and not message.is_public
    assert message.email_sender_unverified and message.email_from == agent.email.lower()
    assert "could not be verified" in result.reason
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.version == ticket.version and after.status == "pending_customer"
    assert not AuditEvent.objects.filter(actor=agent, summary__contains="by email").exists()
    assert outbox.outbox == []
    # The agent's genuine reply all, vouched for by the server, is theirs as before.
    reply(
        subject,
        f"{MX}; dkim=pass header.d={domain}",
        sender=f"{agent.label} <{agent.email}>",
        cc=REQUESTER,
        n=2,
    )
    genuine = TicketMessage.objects.get(email_message_id="<answer-2@example.cn>")
    assert genuine.kind == "reply" and genuine.author == agent


def test_unset_nothing_changes_whatever_the_headers_say(company, desk, settings):
    settings.GUANXI_INBOUND_AUTHSERV_ID = []
    ticket, subject = waiting_ticket(company)
    result = reply(subject, FAIL)
    message = TicketMessage.objects.get(email_message_id="<answer-1@example.cn>")
    assert message.kind == "customer" and not message.email_sender_unverified
    assert result.reason == "" and Ticket.objects.get(pk=ticket.pk).status == "open"


def test_a_new_request_from_an_unverified_known_address_is_filed_as_from_a_new_customer(
    company, desk, trusted
):
    trusted()
    known = company.rep_customer
    Email.objects.create(customer=known, address="wangfang@example.cn")
    known_tickets = Ticket.objects.filter(customer=known).count()
    customers = Customer.objects.count()
    raw = raw_email(
        sender=REQUESTER,
        subject="退款",
        body="请把退款转到这个账户。",
        message_id="<new@example.cn>",
        headers={"Authentication-Results": FAIL},
    )

    result = filed(raw)

    assert result.action == "created"
    assert result.reason == "the sender's address could not be verified"
    ticket = result.ticket
    # Not the known customer's: a new one in the unowned pool, as for any address no customer
    # has, acknowledged as such a request is.
    assert ticket.customer != known and ticket.customer.owner is None
    assert Customer.objects.count() == customers + 1
    assert ticket.requester_email == "wangfang@example.cn"
    # The address stays the known customer's alone: later mail from it goes to them.
    assert not ticket.customer.emails.exists()
    assert Ticket.objects.filter(customer=known).count() == known_tickets
    [ack] = outbox.outbox
    assert ack.to == ["wangfang@example.cn"]
    assert mail.ticket_id_from_subject(ack.subject) == ticket.pk
    # The agents are told why, on the ticket.
    note = ticket.messages.get(kind="note")
    assert note.author is None and "could not be verified" in note.body
    # Verified, it is the known customer's, as before.
    verified = filed(
        raw_email(
            sender=REQUESTER,
            subject="发票",
            body="发票呢？",
            message_id="<verified@example.cn>",
            headers={"Authentication-Results": PASS},
        )
    )
    assert verified.ticket.customer == known and verified.reason == ""
    assert not verified.ticket.messages.filter(kind="note").exists()


def test_an_unverified_request_from_an_address_no_customer_has_is_filed_as_before(
    company, desk, trusted
):
    trusted()
    result = filed(
        raw_email(
            sender="李强 <liqiang@other.example.com>",
            subject="咨询",
            body="你们周末上班吗？",
            message_id="<stranger@other.example.com>",
        )
    )
    customer = result.ticket.customer
    assert customer.name == "李强" and customer.owner is None
    assert list(customer.emails.values_list("address", flat=True)) == ["liqiang@other.example.com"]
    assert [m.to for m in outbox.outbox] == [["liqiang@other.example.com"]]
    assert "could not be verified" in result.ticket.messages.get(kind="note").body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_ticket_page_says_the_address_could_not_be_verified(
    client, company, desk, trusted, language
):
    ticket, subject = waiting_ticket(company)
    trusted()
    reply(subject, FAIL)
    client.force_login(company.agent)
    page = client.get(
        f"/service/tickets/{ticket.pk}/", headers={"Accept-Language": language}
    ).content.decode()
    item = page[page.index("message-unknown-sender") :]
    item = item[: item.index("</li>")]
    banner = {
        "en": "Email from an unverified sender address: wangfang@example.cn",
        "zh-hans": "发件地址未经验证的邮件：wangfang@example.cn",
    }[language]
    assert banner in item
    assert "Not the requester" not in item and "不是请求人" not in item


def test_the_webhook_says_the_sender_could_not_be_verified(
    client, company, desk, settings, trusted
):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    ticket, subject = waiting_ticket(company)
    trusted()
    raw = raw_email(
        sender=REQUESTER,
        subject=f"Re: {subject}",
        body="退款给我。",
        message_id="<webhook@example.cn>",
        headers={"Authentication-Results": FAIL},
    )
    response = client.post(
        URL, raw, content_type="message/rfc822", headers={"X-Guanxi-Webhook-Secret": SECRET}
    )
    assert response.status_code == 200
    assert response.json() == {
        "action": "added",
        "ticket": ticket.number,
        "reason": "the sender's address could not be verified: kept as a note",
    }


def test_the_api_says_the_address_could_not_be_verified(company, desk, trusted, api_as):  # noqa: F811
    ticket, subject = waiting_ticket(company)
    trusted()
    reply(subject, FAIL)
    reply(subject, PASS, n=2)
    messages = api_as("agent").get(f"/tickets/{ticket.pk}").json()["messages"]
    assert [(m["kind"], m["email_sender_unverified"]) for m in messages] == [
        ("customer", False),
        ("reply", False),
        ("note", True),
        ("customer", False),
    ]


# --- the deployment check ---------------------------------------------------------------------


def deploy_warnings() -> list[str]:
    return [w.id for w in run_checks(include_deployment_checks=True) if w.id.startswith("service.")]


def test_check_deploy_warns_only_when_inbound_mail_is_taken_in_unverified(settings):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = ""
    settings.GUANXI_INBOUND_AUTHSERV_ID = []
    assert deploy_warnings() == []
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    assert deploy_warnings() == ["service.W001"]
    settings.GUANXI_INBOUND_AUTHSERV_ID = [MX]
    assert deploy_warnings() == []
    # Not among the checks every command runs.
    settings.GUANXI_INBOUND_AUTHSERV_ID = []
    assert not [w for w in run_checks() if w.id == "service.W001"]


def test_check_deploy_reads_the_setting_from_the_environment():
    def check(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*GUANXI, "check", "--deploy", "--fail-level", "WARNING"],
            env=_production_env(GUANXI_INBOUND_WEBHOOK_SECRET="x" * 40, **extra),
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )

    unverified = check()
    assert unverified.returncode != 0 and "service.W001" in unverified.stdout + unverified.stderr
    verified = check(GUANXI_INBOUND_AUTHSERV_ID=f"{MX}, mx2.guanxi.example")
    assert verified.returncode == 0, verified.stdout + verified.stderr
