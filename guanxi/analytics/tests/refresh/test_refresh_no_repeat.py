"""A customer who bought once, long ago, and never came back is warned about like any other
churn risk, with a follow-up for their account manager, once enough customers have bought
again to say how long a second purchase usually takes."""

import datetime as dt
import re

import pytest
from django.core.management import call_command

from guanxi.analytics.models import ChurnFollowUp, CustomerValue, ValueSettings
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.core.testing.factories import CustomerFactory


def _repeat_buyers(count: int) -> None:
    """Customers who came back 10, 20, … days after their first purchase, and once more 400
    days after that: only the first-to-second gap measures the wait for a second purchase."""
    for i in range(1, count + 1):
        customer = CustomerFactory(owner=None)
        first = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        second = first + dt.timedelta(days=10 * i)
        book(customer, first, "100.00", margin="30")
        book(customer, second, "120.00", margin="36")
        book(customer, second + dt.timedelta(days=400), "90.00", margin="27")


def _bought_once(customer, days_ago: int) -> None:
    book(customer, AS_OF - dt.timedelta(days=days_ago), "500.00", margin="150")


def _value(run, customer) -> CustomerValue:
    return CustomerValue.objects.get(run=run, customer=customer)


def test_a_single_purchase_long_past_the_usual_wait_is_flagged_with_a_follow_up(company):
    _repeat_buyers(20)
    _bought_once(company.rep_customer, 730)  # two years ago, never again
    _bought_once(company.teammate_customer, 271)
    _bought_once(company.rep_b_customer, 272)
    run = analytics_refresh(as_of=AS_OF)

    # The 90th percentile of the gaps 10 … 200 days is 181, times the margin of 1.5.
    assert run.figures["churn_no_repeat_days"] == pytest.approx(271.5)
    assert run.figures["settings"]["churn_no_repeat_percentile"] == 90.0

    lost = _value(run, company.rep_customer)
    assert lost.purchase_days == 1 and lost.churn_flag and lost.churn_reason == "no_repeat"
    # As for the other signals: the lifetime value, or without one the margin so far.
    expected = lost.clv if lost.clv is not None else lost.gross_margin
    assert lost.value_at_risk == pytest.approx(expected) and lost.value_at_risk > 0
    follow_up = ChurnFollowUp.objects.get(customer=company.rep_customer)
    assert (follow_up.owner, follow_up.run, follow_up.reason) == (company.rep, run, "no_repeat")
    assert follow_up.value_at_risk == pytest.approx(lost.value_at_risk)
    assert follow_up.done_at is None

    # 271 days are within the 271.5; 272 are past them.
    within = _value(run, company.teammate_customer)
    assert not within.churn_flag and within.churn_reason == "" and within.value_at_risk == 0
    assert not ChurnFollowUp.objects.filter(customer=company.teammate_customer).exists()
    past = _value(run, company.rep_b_customer)
    assert past.churn_reason == "no_repeat"
    assert ChurnFollowUp.objects.get(customer=company.rep_b_customer).owner == company.rep_b


def test_the_refresh_command_says_after_how_many_days_a_single_purchase_is_flagged(company, capsys):
    _repeat_buyers(20)
    call_command("analytics", "refresh", "--as-of", AS_OF.isoformat())
    output = capsys.readouterr().out
    assert "No second purchase: a single purchase more than 271.5 days ago is flagged." in output


def test_the_percentile_and_margin_are_the_settings(company):
    _repeat_buyers(20)
    _bought_once(company.teammate_customer, 150)
    value_settings = ValueSettings.load()
    value_settings.churn_no_repeat_percentile = 50.0
    value_settings.churn_no_repeat_margin = 1.0
    value_settings.save()
    run = analytics_refresh(as_of=AS_OF)
    # The median of the gaps 10 … 200 is 105 days.
    assert run.figures["churn_no_repeat_days"] == pytest.approx(105)
    assert _value(run, company.teammate_customer).churn_reason == "no_repeat"


def test_with_too_few_repeat_buyers_no_one_is_flagged_for_buying_once(company):
    _repeat_buyers(19)
    _bought_once(company.rep_customer, 730)
    run = analytics_refresh(as_of=AS_OF)
    assert run.figures["churn_no_repeat_days"] is None
    assert not _value(run, company.rep_customer).churn_flag
    assert not ChurnFollowUp.objects.filter(customer=company.rep_customer).exists()


def test_the_api_says_what_every_reason_means():
    from guanxi.analytics.api import CustomerValueOut
    from guanxi.analytics.value.churn import REASONS

    words = set(re.findall(r"[a-z_+]+", CustomerValueOut.model_fields["churn_reason"].description))
    assert set(filter(None, REASONS)) <= words


def test_the_churn_list_and_the_customer_page_name_the_reason_in_each_language(client, company):
    _repeat_buyers(20)
    _bought_once(company.rep_customer, 730)
    analytics_refresh(as_of=AS_OF)
    client.force_login(company.rep)
    page = f"/customers/{company.rep_customer.pk}/"
    for language, label in (
        ("en", "No second purchase in the usual time"),
        ("zh-hans", "超出常见间隔仍未再次购买"),
    ):
        client.post("/i18n/setlang/", {"language": language, "next": "/analytics/"})
        [row] = [
            row
            for row in client.get("/analytics/").context["charts"]["churn"].extra["shown"]
            if row["id"] == company.rep_customer.pk
        ]
        assert str(row["reason_label"]) == label
        assert label in client.get(page).content.decode()


def test_a_margin_the_admin_accepts_never_stops_the_refresh(company):
    _repeat_buyers(20)
    _bought_once(company.rep_customer, 730)
    value_settings = ValueSettings.load()
    value_settings.churn_no_repeat_margin = 1e308
    value_settings.full_clean()  # what the admin site checks
    value_settings.save()
    run = analytics_refresh(as_of=AS_OF)
    # No wait is that long: no one is flagged for buying once, and the run says there is no
    # threshold to go by.
    assert run.status == run.Status.SUCCEEDED
    assert run.figures["churn_no_repeat_days"] is None
    assert not _value(run, company.rep_customer).churn_flag
