"""The churn warnings see a customer's purchases in every currency, so a customer buying in
another currency than the settings' is not warned about as gone quiet; the money figures still
count the settings currency alone (the book's currency here is CNY)."""

import datetime as dt

import pytest

from guanxi.analytics.models import ChurnFollowUp, CustomerValue, ValueSettings
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.analytics.tests.refresh.test_refresh import _simulated_base
from guanxi.core.testing.factories import CustomerFactory


def _repeat_buyers(count: int, *, second_currency: str = "CNY") -> None:
    """Customers who came back 10, 20, … days after their first purchase (the second purchase
    in ``second_currency``), and once more 400 days after that."""
    for i in range(1, count + 1):
        customer = CustomerFactory(owner=None)
        first = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        second = first + dt.timedelta(days=10 * i)
        book(customer, first, "100.00", margin="30")
        book(customer, second, "120.00", margin="36", currency=second_currency)
        book(customer, second + dt.timedelta(days=400), "90.00", margin="27")


def _ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def _value(run, customer) -> CustomerValue:
    return CustomerValue.objects.get(run=run, customer=customer)


def _settings(**changes) -> None:
    value_settings = ValueSettings.load()
    for name, value in changes.items():
        setattr(value_settings, name, value)
    value_settings.save()


def test_a_customer_who_bought_again_in_another_currency_has_no_no_repeat_warning(company):
    _repeat_buyers(20)
    # Once in CNY two years ago, and again in USD last week.
    book(company.rep_customer, _ago(730), "500.00", margin="150")
    book(company.rep_customer, _ago(7), "80.00", margin="20", currency="USD")
    # The same, but the USD orders were cancelled and refunded: not purchases, as before.
    book(company.teammate_customer, _ago(730), "500.00", margin="150")
    book(company.teammate_customer, _ago(7), "80.00", currency="USD", status="cancelled")
    book(company.teammate_customer, _ago(6), "80.00", currency="USD", status="refunded")
    run = analytics_refresh(as_of=AS_OF)
    # The rep's customer took 723 days to a second purchase, among the gaps now: the 90th
    # percentile of 10 … 200 and 723 days is 190, times the margin of 1.5.
    assert run.figures["churn_no_repeat_days"] == pytest.approx(285)

    buying = _value(run, company.rep_customer)
    assert not buying.churn_flag and buying.churn_reason == "" and buying.value_at_risk == 0
    assert not ChurnFollowUp.objects.filter(customer=company.rep_customer).exists()
    # The money stays in CNY, the USD order left out; the last purchase and the days since are
    # those the warning judged, in every currency.
    assert buying.purchase_days == 1
    assert buying.total_amount == pytest.approx(500) and buying.gross_margin == pytest.approx(150)
    assert (buying.last_purchase, buying.recency_days) == (_ago(7), 7)

    lost = _value(run, company.teammate_customer)
    assert lost.churn_reason == "no_repeat" and lost.value_at_risk > 0
    assert ChurnFollowUp.objects.get(customer=company.teammate_customer).reason == "no_repeat"


def test_the_recency_segment_and_stage_count_every_currency_as_the_warnings_do(company):
    # Both bought in CNY 500, 470 and 440 days ago; the rep's customer has bought in USD 40 and
    # 10 days ago as well.
    for customer in (company.rep_customer, company.teammate_customer):
        for days in (500, 470, 440):
            book(customer, _ago(days), "100.00", margin="30")
    book(company.rep_customer, _ago(40), "15.00", currency="USD")
    book(company.rep_customer, _ago(10), "15.00", currency="USD")
    run = analytics_refresh(as_of=AS_OF)

    buying, quiet = _value(run, company.rep_customer), _value(run, company.teammate_customer)
    assert not buying.churn_flag and quiet.churn_reason == "overdue"
    assert (buying.first_purchase, buying.last_purchase) == (_ago(500), _ago(10))
    assert (buying.recency_days, buying.tenure_days) == (10, 500)
    assert (quiet.last_purchase, quiet.recency_days) == (_ago(440), 440)
    # Bought more recently: the better R score; two purchases within the cycle: a repeat
    # buyer, where the other has lapsed.
    assert buying.r_score > quiet.r_score
    assert (buying.lifecycle_stage, quiet.lifecycle_stage) == ("repeat_purchase", "expectation")
    # How often and how much stay in CNY: the same F and M, the same money.
    assert (buying.f_score, buying.m_score) == (quiet.f_score, quiet.m_score)
    assert buying.purchase_days == quiet.purchase_days == 3
    assert buying.total_amount == pytest.approx(quiet.total_amount)


def test_a_customer_buying_in_another_currency_is_not_overdue(company):
    # Every 30 days in CNY until 340 days ago, then in USD: 340 days are far past 1.5 × 30, but
    # the last purchase in any currency was 10 days ago, against a gap of 130 days on average.
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30")
    book(company.rep_customer, _ago(10), "15.00", currency="USD")
    # Without the USD purchase the customer is overdue.
    for days in (400, 370, 340):
        book(company.teammate_customer, _ago(days), "100.00", margin="30")
    run = analytics_refresh(as_of=AS_OF)

    buying = _value(run, company.rep_customer)
    assert not buying.churn_flag and buying.churn_reason == ""
    assert not ChurnFollowUp.objects.filter(customer=company.rep_customer).exists()
    assert buying.purchase_days == 3 and buying.total_amount == pytest.approx(300)
    assert _value(run, company.teammate_customer).churn_reason == "overdue"


def test_p_alive_flags_no_one_who_bought_after_the_purchases_it_was_fitted_on(company):
    _simulated_base(400, seed=7)  # enough for the purchase model to converge
    # A threshold of 1 flags whoever the model gives less than certainty of being active.
    _settings(churn_p_alive_threshold=1.0)
    for customer in (company.rep_customer, company.teammate_customer):
        book(customer, _ago(400), "100.00", margin="30")
        book(customer, _ago(300), "100.00", margin="30")
    # The rep's customer has bought in USD since; the model sees only the CNY purchases.
    book(company.rep_customer, _ago(20), "15.00", currency="USD")
    book(company.rep_customer, _ago(5), "15.00", currency="USD")
    run = analytics_refresh(as_of=AS_OF)
    assert run.figures["bgnbd"]["converged"]

    buying, quiet = _value(run, company.rep_customer), _value(run, company.teammate_customer)
    # The fit and what it says stay as they were: the same CNY histories, the same P(alive).
    assert buying.p_alive == pytest.approx(quiet.p_alive) and buying.p_alive < 1
    assert buying.clv == pytest.approx(quiet.clv)
    assert not buying.churn_flag and buying.value_at_risk == 0
    assert not ChurnFollowUp.objects.filter(customer=company.rep_customer).exists()
    assert quiet.churn_flag and quiet.churn_reason.startswith("p_alive_low")


def test_the_usual_wait_for_a_second_purchase_counts_every_currency(company):
    # Every repeat buyer's second purchase was in USD: in CNY alone none of them came back
    # within the 270 days after their first, but they did buy again.
    _repeat_buyers(20, second_currency="USD")
    book(company.rep_customer, _ago(730), "500.00", margin="150")
    run = analytics_refresh(as_of=AS_OF)
    assert run.figures["churn_no_repeat_days"] == pytest.approx(271.5)
    assert _value(run, company.rep_customer).churn_reason == "no_repeat"


def test_a_customer_who_bought_only_in_another_currency_and_stopped_is_warned_at_unknown_risk(
    company,
):
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30", currency="USD")
    run = analytics_refresh(as_of=AS_OF)

    lapsed = _value(run, company.rep_customer)
    assert lapsed.churn_flag and lapsed.churn_reason == "overdue"
    # No money in CNY: the figures, which do not convert currencies, cannot tell what is at
    # risk, and say it is unknown rather than nothing.
    assert lapsed.value_at_risk is None
    assert lapsed.total_amount == 0 and lapsed.purchase_days == 0
    follow_up = ChurnFollowUp.objects.get(customer=company.rep_customer)
    assert (follow_up.reason, follow_up.value_at_risk) == ("overdue", None)


def test_a_customer_who_bought_only_in_another_currency_is_not_said_to_have_no_purchases(
    client, company
):
    # Three purchases in USD: no RFM scores, which rank the money and purchases in CNY, but a
    # segment saying why rather than "No purchases", which stays for whoever never bought.
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30", currency="USD")
    run = analytics_refresh(as_of=AS_OF)

    other = _value(run, company.rep_customer)
    assert (other.r_score, other.f_score, other.m_score) == (0, 0, 0)
    assert other.rfm_segment == "other_currencies"
    assert _value(run, company.teammate_customer).rfm_segment == "none"
    client.force_login(company.rep)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert "Bought only in other currencies" in page and "No purchases" not in page
