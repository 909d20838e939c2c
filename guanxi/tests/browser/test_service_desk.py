"""A complaint's whole life in a real browser, on a clock the test moves: it arrives through
the public form, is routed to a skilled agent, warns, breaches and escalates up the chain, is
answered and resolved, the customer answers the survey, the case becomes a knowledge-base
article, and the article is suggested when the next similar complaint is written."""

import datetime as dt
import re

import pytest
from django.core import mail as outbox
from playwright.sync_api import expect

from guanxi.core.testing.clock import frozen_clock
from guanxi.service.models import SatisfactionSurvey, Ticket
from guanxi.service.sweep import sla_sweep
from guanxi.service.tests.desk import build_desk

from .test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def sign_out(page) -> None:
    page.context.clear_cookies()


def test_a_complaint_from_the_web_form_to_the_knowledge_base(page, company, monkeypatch):
    # Wednesday 2 December 2026, 10:00 in Beijing.
    clock = frozen_clock(monkeypatch, dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))
    desk = build_desk(company)

    # A customer nobody knows yet writes in.
    page.goto("/service/help/")
    page.fill("#id_name", "韩梅梅")
    page.fill("#id_email", "han.meimei@example.com")
    page.select_option("#id_type", "complaint")
    page.select_option("#id_category_id", label="Refund")
    page.fill("#id_subject", "退款两周还没到账")
    page.fill("#id_description", "订单 8812 申请退款两周了，钱还没有退回银行卡。")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"T-\d{6}"))
    ticket = Ticket.objects.get()
    assert ticket.assignee == company.agent  # the skilled agent with the lightest load
    assert outbox.outbox[-1].to == ["han.meimei@example.com"]

    # 48 minutes on, the sweep warns the agent; an hour on, the team lead hears of the breach;
    # half an hour later still, the department's manager.
    clock.advance(minutes=48)
    sla_sweep()
    sign_in(page, "agent")
    page.goto("/service/notifications/")
    expect(page.locator("#notifications")).to_contain_text("80% of the time used")
    clock.advance(minutes=12)
    sla_sweep()
    clock.advance(minutes=30)
    sla_sweep()
    sign_out(page)
    sign_in(page, "lead")
    page.goto("/service/notifications/")
    expect(page.locator("#notifications")).to_contain_text(
        f"{ticket.number}: first response overdue"
    )
    sign_out(page)
    sign_in(page, "head")
    page.goto("/service/notifications/")
    expect(page.locator("#notifications")).to_contain_text("escalated (150%)")
    sign_out(page)

    # The agent answers and resolves it; the breach stays on the record.
    sign_in(page, "agent")
    page.goto(f"/service/tickets/{ticket.pk}/")
    expect(page.locator("#sla-notices")).to_contain_text("breached")
    page.fill("#id_body", "您好，退款已重新提交，三个工作日内到账。给您带来不便，非常抱歉。")
    page.select_option("#id_status", "resolved")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    expect(page.locator("#first-response-due")).to_contain_text("late")
    sign_out(page)

    # The customer's survey link, from the mail they received; in Chinese, as the mail is.
    survey_mail = outbox.outbox[-1]
    assert survey_mail.to == ["han.meimei@example.com"]
    link = re.search(r"http://[^/]+(/service/survey/[^/\s]+/)", survey_mail.body).group(1)
    page.goto(link)
    page.get_by_label("4").check()
    page.fill("#id_comment", "处理得还可以，就是慢了点")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#survey-thanks")).to_be_visible()
    assert SatisfactionSurvey.objects.get(ticket=ticket).score == 4

    # The lead turns the case into an article for everyone.
    sign_in(page, "lead")
    page.goto(f"/service/tickets/{ticket.pk}/")
    page.locator("#turn-into-article").click()
    expect(page.locator("#id_problem")).to_have_value(re.compile("申请退款两周了"))
    page.fill("#id_title", "退款迟迟不到账怎么办")
    page.fill("#id_cause", "银行退款通道积压，系统没有自动重试")
    page.check("#id_is_published")
    page.get_by_role("button", name="Save article").click()
    expect(page.locator("h1")).to_contain_text("退款迟迟不到账怎么办")
    sign_out(page)

    # The next customer with the same trouble calls in: while the agent types, the article
    # (and the earlier ticket) are suggested.
    sign_in(page, "agent2")
    page.goto(f"/service/customers/{company.unowned_customer.pk}/new/")
    page.select_option("#id_type", "complaint")
    page.fill("#id_subject", "退款没有到账")
    page.locator("#id_description").press_sequentially("申请退款一周了，银行卡还没收到钱")
    suggestions = page.locator("#suggestions")
    expect(suggestions.locator(".similar-article")).to_contain_text("退款迟迟不到账怎么办")
    expect(suggestions.locator(".similar-ticket")).to_contain_text(ticket.number)
    assert desk.refund.pk == ticket.category_id
