"""Mail and notices written outside a request are in their reader's language: staff in the one
they chose (``User.language``), customers in the one their request was written in
(``Ticket.language``), whatever language the worker or the acting agent happens to have."""

import pytest
from django.core import mail as outbox
from django.test import TestCase
from django.utils import translation

from guanxi.service import services, sweep
from guanxi.service.inbound import file_inbound_email
from guanxi.service.models import Notification, Ticket
from guanxi.service.tests.inbound_mail import DESK, email_message

pytestmark = pytest.mark.django_db

CHINESE_WARNING = "{}：首次响应时限为 2026-12-02 11:00（已用去 80% 的时间）"
ENGLISH_WARNING = "{}: first response due at 2026-12-02 11:00 (80% of the time used)"


@pytest.fixture(autouse=True)
def desk_address(settings):
    settings.GUANXI_SERVICE_EMAIL = DESK


def _speaks(user, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def _complaint(company, *, assignee) -> Ticket:
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "货物破损"},
    )
    if ticket.assignee != assignee:
        services.ticket_assign(actor=company.admin, ticket_id=ticket.pk, assignee_id=assignee.pk)
    return ticket


def _notices(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("text", flat=True)
    )


def _mail_to(address: str) -> list:
    return [message for message in outbox.outbox if address in message.to]


def test_each_agent_gets_the_sweeps_deadline_warning_in_their_own_language(company, desk, clock):
    _speaks(company.agent, "zh-hans")
    _speaks(desk.second, "en")
    chinese = _complaint(company, assignee=company.agent)
    english = _complaint(company, assignee=desk.second)
    outbox.outbox.clear()
    clock.advance(minutes=48)
    # The worker runs in the default language; Chinese active here must not leak either way.
    with translation.override("zh-hans"):
        result = sweep.sla_sweep()
    assert (result.notifications, result.emails) == (2, 2)
    assert _notices(company.agent) == [CHINESE_WARNING.format(chinese.number)]
    assert _notices(desk.second) == [ENGLISH_WARNING.format(english.number)]
    [to_agent] = _mail_to(company.agent.email)
    [to_second] = _mail_to(desk.second.email)
    assert to_agent.subject == CHINESE_WARNING.format(chinese.number)
    assert to_agent.body.startswith(CHINESE_WARNING.format(chinese.number))
    assert to_second.subject == ENGLISH_WARNING.format(english.number)


def test_one_breach_is_told_to_each_of_its_recipients_in_their_language(company, desk, clock):
    _speaks(company.agent, "zh-hans")  # the team lead keeps the site default
    ticket = _complaint(company, assignee=company.agent)
    clock.advance(minutes=60)
    outbox.outbox.clear()
    sweep.sla_sweep()
    [agent_notice] = [text for text in _notices(company.agent) if "超时" in text]
    assert agent_notice == f"{ticket.number}：首次响应已于 2026-12-02 11:00 超时"
    assert _notices(desk.lead) == [
        f"{ticket.number}: first response overdue since 2026-12-02 11:00"
    ]
    # The breach is one step: one email to the agent in Chinese, one to the lead in English.
    [to_agent] = [m for m in _mail_to(company.agent.email) if "超时" in m.subject]
    [to_lead] = _mail_to(desk.lead.email)
    assert to_agent.to == [company.agent.email] and to_agent.subject == agent_notice
    assert to_lead.to == [desk.lead.email] and "overdue since" in to_lead.subject


def test_a_customers_message_is_noticed_in_each_readers_language(company, desk):
    _speaks(company.agent, "zh-hans")
    ticket = _complaint(company, assignee=company.agent)
    services.ticket_watch(actor=desk.lead, ticket_id=ticket.pk, watching=True)
    with translation.override("zh-hans"):  # whatever the request that brings it speaks
        services.customer_message(ticket_id=ticket.pk, body="还没到")
    assert _notices(company.agent) == [f"{ticket.number}：客户来信：还没到"]
    assert _notices(desk.lead) == [f"{ticket.number}: the customer wrote: 还没到"]


def _file(**fields) -> Ticket:
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return file_inbound_email(email_message(**fields).as_bytes()).ticket


def test_a_request_emailed_in_chinese_is_acknowledged_in_chinese(company, desk):
    ticket = _file()  # 发票什么时候开？
    assert ticket.language == "zh-hans"
    [acknowledgement] = outbox.outbox
    assert acknowledgement.body.startswith(f"我们已收到您的请求 {ticket.number}")


def test_a_request_emailed_in_english_is_acknowledged_in_english_even_in_a_chinese_worker(
    company, desk
):
    with translation.override("zh-hans"):
        ticket = _file(sender="Jane <jane@example.com>", subject="Invoice", body="Where is it?")
    assert ticket.language == ""
    [acknowledgement] = outbox.outbox
    assert acknowledgement.body.startswith(f"We received your request {ticket.number}")


def test_a_request_in_english_naming_a_chinese_person_is_answered_in_english(company, desk):
    ticket = _file(
        sender="张伟 <zhangwei@example.com>",
        subject="Order not arrived",
        body="Hello, my order has not arrived. Please call Mr 王建华 back.\n\nRegards,\n张伟",
    )
    assert ticket.language == ""
    [acknowledgement] = outbox.outbox
    assert acknowledgement.body.startswith(f"We received your request {ticket.number}")

    # And one written in Chinese around a product's name and an order number stays Chinese.
    ticket = _file(subject="订单 SO-2024-001", body="我的 iPhone 15 Pro 还没到，麻烦查一下。")
    assert ticket.language == "zh-hans"


def _post_request(client, subject: str) -> Ticket:
    client.post(
        "/service/help/",
        {"name": "Li", "email": "li@example.com", "type": "inquiry", "subject": subject,
         "description": subject},
    )  # fmt: skip
    return Ticket.objects.get(subject=subject)


def test_the_request_form_answers_in_the_language_it_was_filled_in(
    client, company, desk, django_capture_on_commit_callbacks
):
    client.cookies["django_language"] = "zh-hans"
    outbox.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _post_request(client, "Order 8812")
    assert ticket.language == "zh-hans"
    assert outbox.outbox[-1].body.startswith("我们已收到您的请求")

    client.cookies["django_language"] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _post_request(client, "Order 8813")
    assert ticket.language == "en"
    assert outbox.outbox[-1].body.startswith("We received your request")


def test_the_survey_goes_in_the_customers_language_not_the_resolving_agents(company, desk):
    english = _file(sender="Jane <jane@example.com>", subject="Invoice", body="Where is it?")
    chinese = _file(sender="王芳 <wangfang@example.cn>")
    outbox.outbox.clear()
    for ticket, agent_language in ((english, "zh-hans"), (chinese, "en")):
        with translation.override(agent_language), TestCase.captureOnCommitCallbacks(execute=True):
            services.ticket_reply(
                actor=company.agent, ticket_id=ticket.pk, body="OK / 好的", status="resolved"
            )
    surveys = [message.body for message in outbox.outbox if "survey" in message.body]
    assert len(surveys) == 2
    assert surveys[0].startswith(f"Your request {english.number} has been resolved.")
    assert surveys[1].startswith(f"您的请求 {chinese.number} 已解决。")


def test_a_request_taken_down_in_chinese_is_surveyed_in_chinese_whoever_resolves_it(company, desk):
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票", "requester_email": "zw@example.com"},
    )
    assert ticket.language == "zh-hans"
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    [survey] = outbox.outbox
    assert survey.body.startswith(f"您的请求 {ticket.number} 已解决。")
