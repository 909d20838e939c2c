"""A customer warned about who bought only in other currencies than the settings' has a value
at risk the figures cannot tell (they do not convert currencies): it is unknown, not 0, in the
stored figures, the follow-up, the customer page, the dashboard's churn list and its CSV, and
comes after every known value when warnings are worked through."""

import datetime as dt

import pytest
from django.core.management import call_command

from guanxi.analytics.models import ChurnFollowUp, CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.selectors import (
    churn_warning_ids,
    churn_warnings_for_user,
    follow_ups_for_user,
    value_columns_for_user,
)
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.analytics.tests.test_dashboard_pages import download


def _ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


@pytest.fixture
def warned(company):
    """Both stopped buying 340 days ago, after a purchase every 30 days: the rep's customer in
    USD only, the teammate's customer in CNY (the settings currency)."""
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30", currency="USD")
        book(company.teammate_customer, _ago(days), "100.00", margin="30")
    return analytics_refresh(as_of=AS_OF)


def test_the_value_at_risk_of_a_customer_buying_only_in_other_currencies_is_unknown(
    company, warned
):
    run = warned
    other = CustomerValue.objects.get(run=run, customer=company.rep_customer)
    assert other.churn_reason == "overdue" and other.value_at_risk is None
    assert other.total_amount == 0 and other.purchase_days == 0
    known = CustomerValue.objects.get(run=run, customer=company.teammate_customer)
    assert known.churn_reason == "overdue" and known.value_at_risk == pytest.approx(90)
    assert ChurnFollowUp.objects.get(customer=company.rep_customer).value_at_risk is None
    # The total is of the known values; how many are unknown is said beside it.
    assert run.figures["value_at_risk"] == pytest.approx(90)
    assert run.figures["value_at_risk_unknown"] == 1

    # Unknown comes after every known value, on every database.
    order = [company.teammate_customer.pk, company.rep_customer.pk]
    assert [f.customer_id for f in follow_ups_for_user(company.rep)] == order
    assert [v.customer_id for v in churn_warnings_for_user(company.rep)] == order
    assert churn_warning_ids(value_columns_for_user(company.rep)).tolist() == order


def test_the_page_the_dashboard_and_the_download_say_unknown(client, company, warned):
    client.force_login(company.rep)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert "Next purchase overdue" in page and "value at risk unknown" in page
    assert "0 at risk" not in page

    response = client.get("/analytics/")
    shown = {row["id"]: row for row in response.context["charts"]["churn"].extra["shown"]}
    assert shown[company.rep_customer.pk]["value_at_risk"] is None
    assert shown[company.rep_customer.pk]["bar"] == 0
    assert shown[company.teammate_customer.pk]["bar"] == 100
    rows = {int(row["customer_id"]): row for row in download(client, "churn")}
    assert rows[company.rep_customer.pk]["value_at_risk"] == ""
    assert float(rows[company.teammate_customer.pk]["value_at_risk"]) == pytest.approx(90)

    html = client.get("/analytics/follow-ups/").content.decode()
    assert html.count(">unknown<") == 1


def test_the_refresh_command_says_how_many_values_at_risk_are_unknown(company, capsys):
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30", currency="USD")
        book(company.teammate_customer, _ago(days), "100.00", margin="30")
    call_command("analytics", "refresh", "--as-of", AS_OF.isoformat())
    output = capsys.readouterr().out
    assert (
        "Churn warnings: 2 customers, 90.00 at risk (and 1 unknown: bought only in other "
        "currencies);" in output
    )
