"""The customer-value API says when the figures it gives were computed and whether the customer
has since changed in a way they do not count, as the customer page does ("Merged with another
customer since the analytics refresh of ...: its figures come with the next refresh"): a merge
into it moved another customer's orders, or it bought for the first time. The figures are
recomputed only by the nightly refresh."""

import datetime as dt

import pytest

from guanxi.analytics.models import AnalyticsRun
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.dedup.services import customer_merge_undo, customers_merge


@pytest.fixture
def refreshed(company):
    for days in (90, 60, 30):
        book(company.teammate_customer, AS_OF - dt.timedelta(days=days), "100.00", margin="30")
    analytics_refresh(as_of=AS_OF)
    return company


def _same_moment(given: str, moment: dt.datetime) -> bool:
    # The API writes times to the millisecond.
    return abs(dt.datetime.fromisoformat(given) - moment) < dt.timedelta(milliseconds=1)


def _value(client, customer) -> dict:
    response = client.get(f"/customers/{customer.pk}/value")
    assert response.status_code == 200, response.json()
    return response.json()["value"]


def test_the_figures_of_a_survivor_are_marked_outdated_by_the_merge(api_as, refreshed):
    company = refreshed
    admin = api_as("admin")
    survivor = company.rep_customer
    run = AnalyticsRun.objects.get(is_current=True)
    value = _value(admin, survivor)
    assert value["outdated_by"] is None
    assert _same_moment(value["computed_at"], run.started_at)

    merge = customers_merge(
        actor=company.admin, survivor_id=survivor.pk, merged_id=company.teammate_customer.pk
    )
    value = _value(admin, survivor)
    assert value["outdated_by"] == "merge"
    assert value["purchase_days"] == 0  # still the figures of the survivor alone
    assert _same_moment(value["computed_at"], run.started_at)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert _value(admin, survivor)["outdated_by"] is None


def test_the_figures_of_a_first_buyer_are_marked_outdated_by_the_purchase(api_as, refreshed):
    company = refreshed
    rep = api_as("rep")
    assert _value(rep, company.rep_customer)["outdated_by"] is None
    book(company.rep_customer, AS_OF, "50.00")
    assert _value(rep, company.rep_customer)["outdated_by"] == "purchase"
    # A customer the refresh counted purchases of is not outdated by another one.
    teammate = api_as("teammate")
    book(company.teammate_customer, AS_OF, "50.00")
    assert _value(teammate, company.teammate_customer)["outdated_by"] is None
