"""Who else writes into a ticket's thread beside the requester: the people of an organisation
customer and the organisation of a person customer write for the customer; the desk's own
people writing to the desk alone from their mail client leave their own internal note, neither
the customer's message nor an unknown sender's."""

import hashlib

import pytest
from django.core import mail as outbox

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer, Email
from guanxi.service.models import Ticket, TicketMessage
from guanxi.service.tests.inbound_mail import DESK
from guanxi.service.tests.test_inbound_unknown_sender import (  # noqa: F401  (its fixture)
    filed,
    media,
    raw_email,
    waiting_ticket,
)

pytestmark = pytest.mark.django_db

ORGANIZATION = Customer.PartyType.ORGANIZATION


def _reply(sender: str, subject: str, body: str, *, cc: str = ""):
    return filed(
        raw_email(
            sender=sender,
            cc=cc,
            subject=f"Re: {subject}",
            body=body,
            message_id=f"<{hashlib.sha256(body.encode()).hexdigest()}@example.cn>",
        )
    )


def _in_organization(person: Customer, organization: Customer) -> None:
    Customer.objects.filter(pk=person.pk).update(organization=organization)


def test_a_person_of_the_organisation_writes_for_the_organisations_ticket(company, desk):
    ticket, subject = waiting_ticket(company)
    # The ticket's customer is the company; 王芳 wrote first, her colleague answers.
    firm = ticket.customer
    Customer.objects.filter(pk=firm.pk).update(party_type=ORGANIZATION, name="华信贸易")
    buyer = CustomerFactory(name="陈静", organization=firm)
    Email.objects.create(customer=buyer, address="chenjing@example.cn")
    result = _reply("陈静 <ChenJing@example.cn>", subject, "发票收到了，谢谢。")
    assert result.reason == ""
    assert ticket.messages.get(body="发票收到了，谢谢。").kind == "customer"
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_the_organisation_of_a_person_writes_for_the_persons_ticket(company, desk):
    ticket, subject = waiting_ticket(company)
    firm = CustomerFactory(name="华信贸易", party_type=ORGANIZATION)
    Email.objects.create(customer=firm, address="office@huaxin.example.cn")
    _in_organization(ticket.customer, firm)
    _reply("office@huaxin.example.cn", subject, "王芳出差了，由办公室跟进。")
    assert ticket.messages.get(body="王芳出差了，由办公室跟进。").kind == "customer"


def test_a_persons_colleague_and_people_in_the_recycle_bin_do_not_write_for_the_customer(
    company, desk
):
    ticket, subject = waiting_ticket(company)
    firm = CustomerFactory(name="华信贸易", party_type=ORGANIZATION)
    _in_organization(ticket.customer, firm)
    colleague = CustomerFactory(name="刘洋", organization=firm)
    Email.objects.create(customer=colleague, address="liuyang@example.cn")
    _reply("liuyang@example.cn", subject, "我是她同事。")
    assert ticket.messages.get(body="我是她同事。").is_from_unknown_sender

    # An organisation's ticket: a person of it deleted since does not speak for it.
    Customer.objects.filter(pk=ticket.customer_id).update(
        party_type=ORGANIZATION, organization=None
    )
    gone = CustomerFactory(name="赵敏", organization=ticket.customer)
    Email.objects.create(customer=gone, address="zhaomin@example.cn")
    Customer.objects.filter(pk=gone.pk).update(deleted_at="2026-12-01T00:00:00Z")
    _reply("zhaomin@example.cn", subject, "我已离职。")
    assert ticket.messages.get(body="我已离职。").is_from_unknown_sender


def test_an_agent_writing_to_the_desk_from_their_mail_client_leaves_their_own_note(company, desk):
    ticket, subject = waiting_ticket(company)
    audit_rows = AuditEvent.objects.count()
    # To the desk alone: the customer did not get it (with her among the recipients it is the
    # agent's reply, see test_inbound_replies_from_mail_programs).
    result = _reply(
        f"Agent <{company.agent.email.upper()}>", subject, "已电话联系客户，明天补寄发票。"
    )
    assert result.action == "added" and "Agent" not in result.reason
    assert "kept as their internal note" in result.reason
    note = ticket.messages.get(body="已电话联系客户，明天补寄发票。")
    assert note.kind == TicketMessage.Kind.NOTE and not note.is_public
    assert note.author == company.agent and not note.is_from_unknown_sender
    assert note.email_from == company.agent.email
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.status == "pending_customer" and after.version == ticket.version
    assert outbox.outbox == []
    assert AuditEvent.objects.count() == audit_rows + 1
    event = AuditEvent.objects.latest("id")
    assert event.actor == company.agent and event.changes["note"]["after"].startswith("已电话")


def test_an_agent_the_customer_copied_does_not_write_as_the_customer(company, desk):
    ticket, subject = waiting_ticket(company, cc=f"{company.agent.email}, {DESK}")
    _reply(company.agent.email, subject, "收到，我来跟进。")
    note = ticket.messages.get(body="收到，我来跟进。")
    assert note.kind == "note" and note.author == company.agent
    assert Ticket.objects.get(pk=ticket.pk).status == "pending_customer"


def test_a_user_who_may_not_work_on_the_ticket_is_an_unknown_sender(company, desk):
    ticket, subject = waiting_ticket(company)
    _reply(company.analyst.email, subject, "看一下这个。")  # analysts change nothing
    note = ticket.messages.get(body="看一下这个。")
    assert note.is_from_unknown_sender and note.author is None
    # Nor is a former colleague's address anyone's.
    company.rep.is_active = False
    company.rep.save()
    _reply(company.rep.email, subject, "我还在吗？")
    assert ticket.messages.get(body="我还在吗？").is_from_unknown_sender
