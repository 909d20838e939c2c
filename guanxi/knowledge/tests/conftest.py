import pytest

from guanxi.service.models import Ticket, TicketCategory
from guanxi.service.services import customer_message, ticket_create, ticket_note, ticket_reply

REFUND_SUBJECT = "退款迟迟不到账"
REFUND_DESCRIPTION = "客户申请退款两周了，银行卡还没收到钱"


def open_ticket(actor, customer, subject, description="", **extra):
    data = {"type": "complaint", "subject": subject, "description": description, **extra}
    return ticket_create(actor=actor, customer_id=customer.pk, data=data)


def resolve(actor, ticket, body):
    ticket_reply(actor=actor, ticket_id=ticket.pk, body=body, status="resolved")
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def refund_category(db):
    return TicketCategory.objects.get(name="退款")


@pytest.fixture
def refund_ticket(company, refund_category):
    """A refund complaint of the rep's customer: the customer wrote again, the agent answered
    twice (and left an internal note) and resolved it."""
    ticket = open_ticket(
        company.agent,
        company.rep_customer,
        REFUND_SUBJECT,
        REFUND_DESCRIPTION,
        category_id=refund_category.pk,
    )
    customer_message(ticket_id=ticket.pk, body="我的退款到底什么时候到？")
    ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="我们正在和财务核对。")
    ticket_note(actor=company.agent, ticket_id=ticket.pk, body="内部：财务系统卡单")
    return resolve(company.agent, ticket, "财务已重新发起退款，三个工作日内到账。")
