"""Traditional Chinese (``zh-hant``) is a language of the site: a request written in
Traditional characters is guessed as it, however it comes (taken down by an agent, emailed, or
sent with the request form), and its emails and the pages they link to are written in it."""

import pytest
from django.core import mail as outbox
from django.test import TestCase
from django.urls import reverse

from guanxi.core.languages import chinese_if_written_in_it
from guanxi.service import mail, services
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import SatisfactionSurvey, Ticket, email_languages
from guanxi.service.tests.inbound_mail import DESK, email_message

pytestmark = pytest.mark.django_db

TRADITIONAL_SUBJECT = "發票什麼時候開？"
TRADITIONAL_BODY = "您好，上週的訂單還沒有收到發票。"


@pytest.fixture(autouse=True)
def desk_address(settings):
    settings.GUANXI_SERVICE_EMAIL = DESK


@pytest.mark.parametrize(
    ("texts", "guessed"),
    [
        ((TRADITIONAL_SUBJECT, TRADITIONAL_BODY), "zh-hant"),
        (("發票", ""), "zh-hant"),
        (("发票什么时候开？", "您好，上周的订单还没有收到发票。"), "zh-hans"),
        (("中文", "人口"), "zh-hans"),  # the same in both scripts
        (("Invoice 8812", "Where is it?"), ""),
        # Mostly Traditional, with a Simplified word quoted.
        (("請問訂單的發貨時間", "他说发货"), "zh-hant"),
    ],
)
def test_the_guess_tells_traditional_from_simplified(texts, guessed):
    assert chinese_if_written_in_it(*texts) == guessed


def test_traditional_chinese_is_offered_named_in_itself():
    assert dict(email_languages()) == {
        "en": "English",
        "zh-hans": "简体中文",
        "zh-hant": "繁體中文",
    }


def test_a_request_taken_down_in_traditional_is_traditional(company):
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": TRADITIONAL_SUBJECT, "description": TRADITIONAL_BODY},
    )
    assert ticket.language == "zh-hant"


def test_a_request_emailed_in_traditional_is_acknowledged_in_traditional(company, desk):
    outbox.outbox.clear()
    raw = email_message(subject=TRADITIONAL_SUBJECT, body=TRADITIONAL_BODY).as_bytes()
    with TestCase.captureOnCommitCallbacks(execute=True):
        ticket = file_inbound_email(raw).ticket
    assert ticket.language == "zh-hant"
    [acknowledgement] = outbox.outbox
    assert acknowledgement.body.startswith(f"我們已收到您的請求 {ticket.number}")


def test_the_request_form_filled_in_traditional_answers_in_it(
    client, company, desk, django_capture_on_commit_callbacks
):
    outbox.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/service/help/",
            {"name": "陳", "email": "chen@example.com", "type": "inquiry",
             "subject": TRADITIONAL_SUBJECT, "description": TRADITIONAL_BODY},
            headers={"accept-language": "en"},
        )  # fmt: skip
    assert response.status_code in (200, 302)
    ticket = Ticket.objects.get(subject=TRADITIONAL_SUBJECT)
    assert ticket.language == "zh-hant"
    assert outbox.outbox[-1].body.startswith("我們已收到您的請求")


def _traditional_ticket(company) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": TRADITIONAL_SUBJECT},
    )


def test_the_status_page_of_a_traditional_ticket_is_traditional(client, company):
    ticket = _traditional_ticket(company)
    url = reverse("service:public_status", args=[mail.status_link_token(ticket.pk)])
    response = client.get(url, headers={"accept-language": "en"})
    page = response.content.decode()
    assert response["Content-Language"] == "zh-hant" and '<html lang="zh-hant">' in page
    assert "狀態" in page and "状态" not in page


def test_the_survey_of_a_traditional_ticket_is_traditional(client, company):
    ticket = _traditional_ticket(company)
    SatisfactionSurvey.objects.create(ticket=ticket)
    url = reverse("service:public_survey", args=[mail.survey_token(ticket.pk)])
    response = client.get(url, headers={"accept-language": "zh-hans"})
    assert response["Content-Language"] == "zh-hant"
    assert "我們的服務怎麼樣？" in response.content.decode()
