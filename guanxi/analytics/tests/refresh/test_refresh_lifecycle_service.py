"""The loyalty ladder hears the service desk: a ticket is contact, so a prospect who only ever
wrote to the desk is in expectation rather than a suspect; and a repeat buyer who sent praise in
the last purchase cycle (the settings' cycle length, up to the end of the as_of day) is an
advocate. Praise from a customer who is not a repeat buyer leaves them where their purchases put
them, and a duplicate merged into another ticket counts as that ticket, not of its own."""

import datetime as dt

from django.utils import translation

from guanxi.analytics.dashboard import stage_rule
from guanxi.analytics.models import AnalyticsRun, CustomerValue, ValueSettings
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, page_as
from guanxi.analytics.tests.refresh.conftest import at, open_ticket
from guanxi.service import services

CYCLE_DAYS = 365  # the default purchase cycle, and so the praise window


def _stage(run, customer) -> str:
    return CustomerValue.objects.get(run=run, customer=customer).lifecycle_stage


def test_a_prospect_with_only_a_ticket_has_been_in_contact(book_of_orders, moment):
    company = book_of_orders
    prospect = company.unowned_customer  # never bought, never contacted
    open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=40), 10), "inquiry")
    # A ticket opened after the as_of day is not contact yet, as a later call would not be.
    open_ticket(
        moment, company, company.agent_customer, at(AS_OF + dt.timedelta(days=1), 9), "inquiry"
    )

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, prospect) == "expectation"
    assert _stage(run, company.agent_customer) == "suspect"
    assert run.figures["lifecycle_stages"]["expectation"] == 2  # with west_customer's call


def test_a_prospect_whose_only_tickets_were_merged_together_has_been_in_contact(
    book_of_orders, moment
):
    company = book_of_orders
    prospect = company.unowned_customer
    kept = open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=3), 10), "complaint")
    duplicate = open_ticket(
        moment, company, prospect, at(AS_OF - dt.timedelta(days=3), 11), "praise"
    )
    services.ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, prospect) == "expectation"


def test_a_repeat_buyer_who_sent_praise_in_the_cycle_is_an_advocate(book_of_orders, moment):
    company = book_of_orders
    # rep_customer bought on two days within a cycle, the last 273 days before AS_OF: praise
    # written long after that purchase still speaks for the same relationship.
    open_ticket(
        moment, company, company.rep_customer, at(AS_OF - dt.timedelta(days=20), 15), "praise"
    )
    # rep_b_customer's praise is from the first moment of the window: 365 days before AS_OF,
    # as old as a last purchase that still keeps a customer a repeat buyer.
    first_day = AS_OF - dt.timedelta(days=CYCLE_DAYS)
    open_ticket(moment, company, company.rep_b_customer, at(first_day, 0), "praise")

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, company.rep_customer) == "advocate"
    assert _stage(run, company.rep_b_customer) == "advocate"
    assert run.figures["lifecycle_stages"]["advocate"] == 2
    assert "repeat_purchase" not in run.figures["lifecycle_stages"]


def test_praise_outside_the_window_makes_no_advocate(book_of_orders, moment):
    company = book_of_orders
    # The day before the window opens, late; and the day after as_of.
    day_before = AS_OF - dt.timedelta(days=CYCLE_DAYS + 1)
    open_ticket(moment, company, company.rep_b_customer, at(day_before, 23, 30), "praise")
    open_ticket(
        moment, company, company.rep_customer, at(AS_OF + dt.timedelta(days=1), 9), "praise"
    )

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, company.rep_b_customer) == "repeat_purchase"
    assert _stage(run, company.rep_customer) == "repeat_purchase"
    assert "advocate" not in run.figures["lifecycle_stages"]

    # The window is the settings' cycle: a longer cycle reaches the older praise.
    value_settings = ValueSettings.load()
    value_settings.lifecycle_cycle_days = CYCLE_DAYS + 1
    value_settings.save()
    run = analytics_refresh(as_of=AS_OF)
    assert _stage(run, company.rep_b_customer) == "advocate"
    # And a refresh as of the next day sees the praise sent then.
    run = analytics_refresh(as_of=AS_OF + dt.timedelta(days=1))
    assert _stage(run, company.rep_customer) == "advocate"


def test_praise_from_a_customer_who_is_not_a_repeat_buyer_makes_no_advocate(book_of_orders, moment):
    company = book_of_orders
    for customer in (company.teammate_customer, company.west_customer, company.unowned_customer):
        open_ticket(moment, company, customer, at(AS_OF - dt.timedelta(days=2), 10), "praise")

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, company.teammate_customer) == "first_purchase"  # one purchase only
    assert _stage(run, company.west_customer) == "expectation"  # never bought
    assert _stage(run, company.unowned_customer) == "expectation"  # the praise is contact
    assert "advocate" not in run.figures["lifecycle_stages"]


def test_praise_merged_into_another_ticket_counts_as_that_ticket(book_of_orders, moment):
    company = book_of_orders
    two_days_ago = at(AS_OF - dt.timedelta(days=2), 10)
    # Twice the same praise, the second merged into the first: one praise, an advocate.
    kept = open_ticket(moment, company, company.rep_customer, two_days_ago, "praise")
    again = open_ticket(moment, company, company.rep_customer, two_days_ago, "praise")
    services.ticket_merge(actor=company.agent, ticket_id=again.pk, into_id=kept.pk)
    # Praise merged into a complaint the customer is still pursuing: the conversation goes on
    # as the complaint, so no advocacy comes of it.
    complaint = open_ticket(moment, company, company.rep_b_customer, two_days_ago, "complaint")
    praise = open_ticket(moment, company, company.rep_b_customer, two_days_ago, "praise")
    services.ticket_merge(actor=company.agent, ticket_id=praise.pk, into_id=complaint.pk)

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, company.rep_customer) == "advocate"
    assert _stage(run, company.rep_b_customer) == "repeat_purchase"


def test_praise_as_old_as_the_last_purchase_keeps_the_advocate_to_the_cycle_s_end(
    book_of_orders, moment
):
    company = book_of_orders
    # rep_customer's last purchase was on 2025-06-01, 273 days before AS_OF, and they praised
    # the company that day. With a cycle of 273 days AS_OF is the last day they are still a
    # repeat buyer: praise of the same age still speaks for them.
    value_settings = ValueSettings.load()
    value_settings.lifecycle_cycle_days = 273
    value_settings.save()
    open_ticket(moment, company, company.rep_customer, at(dt.date(2025, 6, 1), 0), "praise")

    run = analytics_refresh(as_of=AS_OF)

    assert _stage(run, company.rep_customer) == "advocate"


def test_a_cycle_reaching_past_the_first_calendar_day_still_refreshes(book_of_orders, moment):
    company = book_of_orders
    # A cycle so long that nobody ever lapses: its praise window begins before the calendar
    # does, so every praise up to as_of counts.
    value_settings = ValueSettings.load()
    value_settings.lifecycle_cycle_days = 1_000_000
    value_settings.save()
    open_ticket(moment, company, company.rep_customer, at(dt.date(2025, 1, 10), 9), "praise")

    run = analytics_refresh(as_of=AS_OF)

    assert run.status == AnalyticsRun.Status.SUCCEEDED
    assert _stage(run, company.rep_customer) == "advocate"


# --- what the pages say --------------------------------------------------------------------


def test_the_funnel_says_what_makes_a_suspect_and_an_advocate(client, book_of_orders, moment):
    company = book_of_orders
    value_settings = ValueSettings.load()
    value_settings.lifecycle_cycle_days = 300
    value_settings.save()
    open_ticket(moment, company, company.rep_b_customer, at(AS_OF, 10), "praise")
    run = analytics_refresh(as_of=AS_OF)
    # A later change of the settings speaks for the next run, not for this one.
    value_settings.lifecycle_cycle_days = 100
    value_settings.save()

    analyst = company.users["analyst"]
    page = page_as(client, analyst, "/analytics/")
    assert (
        "Suspects have never been in contact: no contact, service ticket or purchase. "
        "Advocates are repeat buyers who sent praise to the service desk in the last 300 days, "
        "the purchase cycle&#x27;s length." in page
    )
    page = page_as(client, analyst, "/analytics/", chinese=True)
    assert "拥护者是最近 300 天（一个购买周期的长度）内向客服发送过表扬的重复购买客户。" in page
    with translation.override("zh-hant"):
        assert "擁護者是最近 300 天（一個購買週期的長度）內向客服發送過表揚的重複購買客戶。" in str(
            stage_rule(run)
        )

    # A run made before the service desk was heard names no window: no rule for it, which
    # would call its suspects people who never wrote and promise advocates it cannot have.
    figures = dict(run.figures)
    del figures["advocate_praise_days"]
    AnalyticsRun.objects.filter(pk=run.pk).update(figures=figures)
    analyst.language = "en"
    analyst.save(update_fields=["language"])
    page = page_as(client, analyst, "/analytics/")
    assert "Customers on each step of the loyalty ladder" in page
    assert "Advocates are repeat buyers" not in page


def test_the_customer_page_names_the_stage_by_activity(client, book_of_orders, moment):
    company = book_of_orders
    open_ticket(moment, company, company.rep_customer, at(AS_OF, 10), "praise")
    analytics_refresh(as_of=AS_OF)

    page = page_as(client, company.rep, f"/customers/{company.rep_customer.pk}/", chinese=True)
    assert "按往来判断的生命周期阶段</dt><dd>拥护者</dd>" in page
