"""The service desk's pages: the queue, opening a ticket from the customer page, working a
ticket, and the customers' side — the public form, the status link and the survey."""

import re

import pytest
from django.core import mail as outbox
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.customers.models import Customer, Email
from guanxi.service import mail, services
from guanxi.service.models import SatisfactionSurvey, Ticket, TicketAttachment

pytestmark = pytest.mark.django_db


def test_a_ticket_opened_from_the_customer_page_is_worked_to_resolution(
    client, company, desk, clock, django_capture_on_commit_callbacks
):
    Email.objects.create(customer=company.rep_customer, address="zw@example.com", is_primary=True)
    client.force_login(company.agent)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert f"/service/customers/{company.rep_customer.pk}/new/" in page
    refused = client.post(
        f"/service/customers/{company.rep_customer.pk}/new/", {"type": "complaint", "subject": ""}
    )
    assert refused.status_code == 422 and not Ticket.objects.exists()
    response = client.post(
        f"/service/customers/{company.rep_customer.pk}/new/",
        {
            "type": "complaint",
            "subject": "发票开错了",
            "category_id": desk.refund.pk,
            "priority": "normal",
            "channel": "phone",
        },
    )
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/service/tickets/{ticket.pk}/"
    queue = client.get("/service/tickets/").content.decode()
    assert ticket.number in queue and "发票开错了" in queue
    detail = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "Complaints, round the clock" in detail
    # The link to the customer's view says where it leads (a bare "open" read as the status).
    assert re.search(
        r'<a href="[^"]*/service/status/[^"]+">See the page the customer sees</a>', detail
    )

    with django_capture_on_commit_callbacks(execute=True):
        replied = client.post(
            f"/service/tickets/{ticket.pk}/",
            {
                "action": "reply",
                "version": ticket.version,
                "body": "我们正在核对",
                "status": "pending_customer",
                "files": SimpleUploadedFile("发票.pdf", b"%PDF-1.4 test"),
            },
        )
    assert replied.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "pending_customer" and ticket.first_responded_at is not None
    assert outbox.outbox[-1].to == ["zw@example.com"]
    attachment = TicketAttachment.objects.get()
    download = client.get(f"/service/tickets/{ticket.pk}/attachments/{attachment.pk}/")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 test"

    # A stale form (the version read before the reply) changes nothing.
    stale = client.post(
        f"/service/tickets/{ticket.pk}/",
        {"action": "status", "status": "resolved", "version": ticket.version - 1},
        follow=True,
    )
    assert "Someone changed this ticket" in stale.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "pending_customer"
    client.post(
        f"/service/tickets/{ticket.pk}/",
        {"action": "status", "status": "resolved", "version": ticket.version},
    )
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"


def test_a_stranger_uses_the_public_form_follows_the_link_and_answers_the_survey(
    client, company, desk, clock, django_capture_on_commit_callbacks
):
    form = client.get("/service/help/").content.decode()
    assert "退款" in form or "Refund" in form
    bad = client.post("/service/help/", {"name": "李雷", "email": "not-an-email"})
    assert bad.status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/service/help/",
            {
                "name": "李雷",
                "email": "Li.Lei@Example.com",
                "type": "complaint",
                "category_id": desk.refund.pk,
                "subject": "退款没到",
                "description": "订单 8812 退款两周没到账",
            },
        )
    assert sent.status_code == 200
    customer = Customer.objects.get(name="李雷")
    assert customer.owner is None and customer.emails.get().address == "li.lei@example.com"
    ticket = Ticket.objects.get(customer=customer)
    assert ticket.channel == "web_form" and ticket.assignee in (company.agent, desk.second)
    assert ticket.owner == ticket.assignee
    [acknowledgement] = outbox.outbox
    assert acknowledgement.to == ["li.lei@example.com"]
    link = re.search(r"/service/status/[^/\s]+/", acknowledgement.body).group(0)

    # The same person writes again through the form: the same customer record.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/service/help/",
            {"name": "李雷", "email": "li.lei@example.com", "type": "inquiry",
             "subject": "还有一个问题", "description": "发票呢？"},
        )  # fmt: skip
    assert Customer.objects.filter(name="李雷").count() == 1

    # The request was written in Chinese, so its emails are, and so are the pages they link to.
    status = client.get(link).content.decode()
    assert "退款没到" in status and "新建" in status
    client.post(link, {"body": "请尽快"})
    assert ticket.messages.filter(kind="customer", body="请尽快").exists()

    services.ticket_reply(
        actor=ticket.assignee, ticket_id=ticket.pk, body="已退款", status="resolved"
    )
    survey_link = f"/service/survey/{mail.survey_token(ticket.pk)}/"
    assert client.post(survey_link, {"score": "9"}).status_code == 200
    assert SatisfactionSurvey.objects.get(ticket=ticket).score is None
    thanks = client.post(survey_link, {"score": "4", "comment": "还行"}).content.decode()
    assert "感谢您的反馈" in thanks
    assert SatisfactionSurvey.objects.get(ticket=ticket).score == 4


def test_a_phone_the_public_form_cannot_read_is_refused_beside_the_phone_field(
    client, company, clock
):
    response = client.post(
        "/service/help/",
        {"name": "李雷", "email": "li.lei@example.com", "phone": "abc", "type": "inquiry",
         "subject": "发票", "description": "发票呢？"},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.context["form"].errors["phone"] == ["“abc” is not a phone number."]
    assert not response.context["form"].non_field_errors()
    assert not Ticket.objects.exists() and not Customer.objects.filter(name="李雷").exists()


def test_the_hidden_field_turns_bots_away(client, company, clock):
    response = client.post(
        "/service/help/",
        {"name": "bot", "email": "bot@example.com", "type": "inquiry", "subject": "buy",
         "description": "spam", "website": "http://spam.example"},
    )  # fmt: skip
    assert response.status_code == 200 and not Ticket.objects.exists()
    assert not Customer.objects.filter(name="bot").exists()


def test_the_customer_history_tells_what_happened_to_their_tickets(client, company, desk, clock):
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "质量问题", "priority": "high"},
    )
    services.ticket_assign(actor=company.agent, ticket_id=ticket.pk, assignee_id=desk.second.pk)
    client.force_login(company.manager)
    html = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert f"{company.agent.label} opened a service ticket" in html
    assert f"{company.agent.label} assigned a service ticket" in html
    # Choices and people as people read them, not as codes and ids.
    assert "Complaint" in html and "High" in html and desk.second.label in html


@pytest.mark.parametrize(
    "query",
    ["customer_id=1234567890123456789012345", "customer_id=abc", "status=nonsense"],
)
def test_a_filter_the_queue_cannot_read_lists_no_ticket(client, company, desk, query):
    services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "发票开错了", "priority": "normal"},
    )
    client.force_login(company.agent)
    assert "发票开错了" in client.get("/service/tickets/").content.decode()
    response = client.get(f"/service/tickets/?{query}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "发票开错了" not in page  # dropping the filter would list every ticket
    assert "No tickets are shown: these filters are not valid." in page


def test_a_survey_deleted_as_it_is_answered_is_not_found(
    client, company, desk, clock, monkeypatch, django_capture_on_commit_callbacks
):
    """The survey page reads the survey, then the answer locks it: a survey deleted in between
    (its ticket deleted with its customer) is a page not found, not a server error."""
    Email.objects.create(customer=company.rep_customer, address="zw@example.com", is_primary=True)
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "发票", "category_id": desk.refund.pk},
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body="好了", status="resolved"
        )
    assert SatisfactionSurvey.objects.filter(ticket=ticket).exists()
    real_answer = services.survey_answer

    def deleted_first(**kwargs):
        SatisfactionSurvey.objects.filter(ticket_id=kwargs["ticket_id"]).delete()
        return real_answer(**kwargs)

    monkeypatch.setattr(services, "survey_answer", deleted_first)
    answered = client.post(f"/service/survey/{mail.survey_token(ticket.pk)}/", {"score": "4"})
    assert answered.status_code == 404
