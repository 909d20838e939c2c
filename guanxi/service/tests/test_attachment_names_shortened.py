"""A file's name is stored to 255 characters, shortened before its last dot, and a name harmless
as sent can become a program's that way ("yyy…y.js" + "zzzzzzzzzz." is stored as "yyy…y.js.",
which Windows runs as a script). An email with such an attachment is filed without it, the note
naming it with the other programs, as it would any program; it must not fail to be filed, on
every fetch, for one attachment. An agent attaching such a file on the ticket page is refused,
as for any program."""

import io

import pytest

from guanxi.core.testing.uploads import browser_client, post_multipart
from guanxi.service.models import Ticket, TicketAttachment
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    email_message,
    filed,
    media,
    reply_all,
    with_attachments,
)
from guanxi.service.tests.test_attachment_programs import _ticket
from guanxi.service.tests.test_inbound_replies_from_mail_programs import REQUESTER, new_request

pytestmark = pytest.mark.django_db

SENT_AS = "y" * 251 + ".js" + "z" * 10 + "."
STORED_AS = "y" * 251 + ".js."
INVOICE = ("发票.pdf", b"%PDF-1.4 " + b"x" * 100)


def test_a_request_is_filed_without_an_attachment_whose_stored_name_is_a_scripts(company, desk):
    raw = with_attachments(
        email_message(sender=REQUESTER, message_id="<shortened@example.cn>"),
        [INVOICE, (SENT_AS, b"WScript.Echo(1)")],
    )

    result = filed(raw)

    assert result.action == "created"
    assert [a.filename for a in result.ticket.attachments.all()] == ["发票.pdf"]
    [note] = result.ticket.messages.filter(kind="note")
    assert note.body == (
        "The email from wangfang@example.cn had attachments that are programs or scripts, which "
        f"the desk does not keep: {STORED_AS}. Do not ask for them; if the sender meant to send "
        "a document, ask for it in another form."
    )


def test_an_agents_reply_all_is_filed_without_it_too(company, desk):
    # Their reply stores the attachments it keeps itself, through the service a reply on the
    # page uses.
    ticket, subject = new_request()
    raw = reply_all(company.agent, subject, [INVOICE, (SENT_AS, b"WScript.Echo(1)")])

    result = filed(raw)

    assert "recorded as their reply" in result.reason
    reply = Ticket.objects.get(pk=ticket.pk).messages.get(body="发票见附件。")
    assert reply.kind == "reply"
    assert [a.filename for a in reply.attachments.all()] == ["发票.pdf"]
    [note] = ticket.messages.filter(kind="note", body__contains="programs or scripts")
    assert company.agent.email in note.body and f": {STORED_AS}. " in note.body


def test_an_agent_attaching_it_on_the_ticket_page_is_refused(company, desk, media):  # noqa: F811
    ticket = _ticket(company)
    # Sent by the name on the agent's disk: the server shortens it as it reads the post.
    script = io.BytesIO(b"WScript.Echo(1)")
    script.name = SENT_AS

    response, _body = post_multipart(
        browser_client(company.agent),
        f"/service/tickets/{ticket.pk}/",
        {"action": "note", "body": "见附件", "files": [script]},
    )

    assert response.status_code == 422
    assert (
        f"{STORED_AS} is a program or script, which the desk does not keep; send what it holds "
        "another way." in response.content.decode()
    )
    assert not ticket.messages.filter(kind="note").exists()
    assert not TicketAttachment.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]
