"""A customer warned about who bought in other currencies as well as the settings' (CNY here)
has a value at risk that counts the CNY part alone: it is kept, marked partial and shown as "at
least" that much, in the stored figures, the follow-up, the customer page, the dashboard's
churn list and its download, the follow-ups page and the refresh command's summary, so it is
never read as the whole."""

import datetime as dt

import pytest
from django.core.management import call_command

from guanxi.analytics.models import ChurnFollowUp, CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.analytics.tests.test_dashboard_pages import download

pytestmark = pytest.mark.django_db


def _ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def _book_warned(company) -> None:
    """All stopped buying 340 days ago: the rep's customer in CNY and in USD between, the
    teammate's customer in CNY alone, the unowned customer in USD alone (unknown)."""
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30")
        book(company.teammate_customer, _ago(days), "100.00", margin="30")
        book(company.unowned_customer, _ago(days), "100.00", margin="30", currency="USD")
    for days in (385, 355):
        book(company.rep_customer, _ago(days), "500.00", margin="150", currency="USD")


def _value_card(response) -> str:
    html = response.content.decode()
    return html[html.index('id="value-h"') :]


@pytest.fixture
def warned(company):
    _book_warned(company)
    return analytics_refresh(as_of=AS_OF)


def test_a_value_at_risk_counting_only_the_settings_currency_is_marked_partial(company, warned):
    run = warned
    mixed = CustomerValue.objects.get(run=run, customer=company.rep_customer)
    assert mixed.churn_reason == "overdue"
    assert mixed.value_at_risk == pytest.approx(90) and mixed.value_at_risk_partial
    whole = CustomerValue.objects.get(run=run, customer=company.teammate_customer)
    assert whole.value_at_risk == pytest.approx(90) and not whole.value_at_risk_partial
    unknown = CustomerValue.objects.get(run=run, customer=company.unowned_customer)
    assert unknown.value_at_risk is None and not unknown.value_at_risk_partial
    assert run.figures["value_at_risk_partial"] == 1
    assert ChurnFollowUp.objects.get(customer=company.rep_customer).value_at_risk_partial
    assert not ChurnFollowUp.objects.get(customer=company.teammate_customer).value_at_risk_partial


def test_the_page_the_dashboard_the_download_and_the_follow_ups_say_at_least(
    client, company, warned
):
    client.force_login(company.rep)
    card = _value_card(client.get(f"/customers/{company.rep_customer.pk}/"))
    assert (
        "at least 90 at risk: bought in other currencies too, which the figures do not count"
        in card
    )
    card = _value_card(client.get(f"/customers/{company.teammate_customer.pk}/"))
    assert "90 at risk" in card and "at least" not in card

    response = client.get("/analytics/")
    shown = {row["id"]: row for row in response.context["charts"]["churn"].extra["shown"]}
    assert shown[company.rep_customer.pk]["value_at_risk_partial"]
    assert not shown[company.teammate_customer.pk]["value_at_risk_partial"]
    churn = response.content.decode()
    churn = churn[churn.index('id="chart-churn"') :]
    assert churn.count("at least 90") == 1
    rows = {int(row["customer_id"]): row for row in download(client, "churn")}
    assert rows[company.rep_customer.pk]["value_at_risk_partial"] == "true"
    assert float(rows[company.rep_customer.pk]["value_at_risk"]) == pytest.approx(90)
    assert rows[company.teammate_customer.pk]["value_at_risk_partial"] == "false"

    html = client.get("/analytics/follow-ups/").content.decode()
    assert html.count("at least 90") == 1

    client.force_login(company.rep)
    company.rep.language = "zh-hans"
    company.rep.save(update_fields=["language"])
    card = _value_card(
        client.get(f"/customers/{company.rep_customer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    )
    assert "至少 90 面临风险：也以其他币种购买，数据未计入" in card
    html = client.get("/analytics/follow-ups/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert html.count("至少 90") == 1


def test_the_refresh_command_says_how_many_values_at_risk_are_partial(company, capsys):
    _book_warned(company)
    call_command("analytics", "refresh", "--as-of", AS_OF.isoformat())
    output = capsys.readouterr().out
    assert (
        "Churn warnings: 3 customers, 180.00 at risk (at least: 1 bought in other currencies "
        "too) (and 1 unknown: bought only in other currencies);" in output
    )
