"""The migration that marks partial the values at risk stored before they could be: the open
follow-ups (which no refresh touches again) and the current run's figures."""

import datetime as dt
import importlib

import pytest
from django.utils import timezone

from guanxi.analytics.models import ChurnFollowUp, CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.core.testing import MigrationEditor, models_at
from guanxi.orders.models import Order

migration = importlib.import_module(
    "guanxi.analytics.migrations.0007_mark_partial_values_at_risk_stored_before"
)

pytestmark = pytest.mark.django_db


def _ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def _run_the_migration() -> None:
    migration.mark_partial_values_at_risk(
        models_at("analytics", "0007_mark_partial_values_at_risk_stored_before"), MigrationEditor()
    )


def test_the_copied_statuses_are_the_applications():
    assert set(migration.NOT_PURCHASES) == set(Order.NOT_PURCHASES)


def test_values_stored_before_are_marked_partial_where_the_refresh_would_mark_them(company):
    # All stopped buying in CNY 340 days ago: warned as overdue, each with a follow-up.
    for customer in (
        company.rep_customer,
        company.teammate_customer,
        company.rep_b_customer,
        company.west_customer,
        company.unowned_customer,
    ):
        for days in (400, 370, 340):
            book(customer, _ago(days), "100.00", margin="30")
    book(company.rep_customer, _ago(385), "500.00", currency="USD")  # in both currencies
    book(company.west_customer, _ago(385), "500.00", currency="USD")  # ... whose run is pruned
    # Only a refunded and a cancelled order in USD: bought in CNY alone.
    book(company.rep_b_customer, _ago(385), "500.00", currency="USD", status="refunded")
    book(company.rep_b_customer, _ago(355), "500.00", currency="USD", status="cancelled")
    # In USD only after the day the figures were made for: the teammate's was whole then.
    book(company.teammate_customer, AS_OF + dt.timedelta(days=1), "500.00", currency="USD")
    run = analytics_refresh(as_of=AS_OF)
    # A follow-up of the rep's, done before, keeps what it said.
    done = ChurnFollowUp.objects.create(
        customer=company.rep_customer,
        owner=company.rep,
        reason="overdue",
        value_at_risk=90,
        done_at=timezone.now(),
    )
    # The west customer's follow-up outlived its run, pruned since.
    ChurnFollowUp.objects.filter(customer=company.west_customer).update(run=None)
    # As stored before values at risk could be marked partial.
    ChurnFollowUp.objects.update(value_at_risk_partial=False)
    CustomerValue.objects.update(value_at_risk_partial=False)

    _run_the_migration()

    partial_follow_ups = set(
        ChurnFollowUp.objects.filter(done_at__isnull=True, value_at_risk_partial=True).values_list(
            "customer_id", flat=True
        )
    )
    assert partial_follow_ups == {company.rep_customer.pk, company.west_customer.pk}
    assert not ChurnFollowUp.objects.get(pk=done.pk).value_at_risk_partial
    partial_values = set(
        CustomerValue.objects.filter(run=run, value_at_risk_partial=True).values_list(
            "customer_id", flat=True
        )
    )
    assert partial_values == {company.rep_customer.pk, company.west_customer.pk}
    # The same as the refresh marks them.
    analytics_refresh(as_of=AS_OF)
    assert (
        set(
            CustomerValue.objects.filter(
                run__is_current=True, value_at_risk_partial=True
            ).values_list("customer_id", flat=True)
        )
        == partial_values
    )


def test_an_unknown_value_at_risk_stays_unmarked(company):
    # Bought in USD alone: the value at risk is unknown (null), not partial.
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30", currency="USD")
    analytics_refresh(as_of=AS_OF)
    follow_up = ChurnFollowUp.objects.get(customer=company.rep_customer)
    assert follow_up.value_at_risk is None

    _run_the_migration()

    assert not ChurnFollowUp.objects.get(pk=follow_up.pk).value_at_risk_partial
    assert not CustomerValue.objects.filter(value_at_risk_partial=True).exists()
