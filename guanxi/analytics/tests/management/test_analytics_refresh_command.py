"""``guanxi analytics refresh`` runs the refresh and prints its summary."""

import datetime as dt
import re

import pytest
from django.core.management import CommandError, call_command

from guanxi.analytics.models import AnalyticsRun
from guanxi.analytics.tasks import refresh_customer_values
from guanxi.analytics.tests.conftest import AS_OF, book


def test_refresh_command_makes_a_current_run_and_prints_a_summary(book_of_orders, capsys):
    call_command("analytics", "refresh", "--as-of", AS_OF.isoformat())
    output = capsys.readouterr().out
    run = AnalyticsRun.objects.get(is_current=True)
    assert run.as_of == AS_OF
    assert f"Run #{run.pk} as of 2026-03-01: 6 customers, 3 who bought" in output
    assert "BG/NBD purchase model (NOT USED)" in output
    assert "Value tiers (by profit): untiered 2, gold 1, iron 1, lead 2" in output
    assert "Churn warnings: 1 customers" in output
    # Three customers bought, too few to say how long a second purchase takes.
    assert "No second purchase: not judged (too few customers bought again" in output
    # The last line: the whole time and the steps in the order they ran.
    assert re.fullmatch(
        r"[\d.]+ s \(aggregate [\d.]+ s, compute [\d.]+ s, write [\d.]+ s\)",
        output.strip().splitlines()[-1],
    )


def test_refresh_command_rejects_a_bad_date(db):
    with pytest.raises(CommandError, match="not a date"):
        call_command("analytics", "refresh", "--as-of", "2026-02-30")
    assert not AnalyticsRun.objects.exists()


def test_refresh_task_runs_the_refresh(book_of_orders):
    result = refresh_customer_values.enqueue(as_of=AS_OF.isoformat())
    run = AnalyticsRun.objects.get(is_current=True)
    assert result.return_value == run.pk and run.as_of == AS_OF


def test_the_summary_counts_apart_who_bought_only_in_other_currencies(company, capsys):
    day = AS_OF - dt.timedelta(days=10)
    book(company.rep_customer, day, "100.00", margin="30")
    book(company.teammate_customer, day, "100.00", margin="30", currency="USD")
    # Refunded: no purchase in any currency.
    book(company.rep_b_customer, day, "100.00", currency="USD", status="refunded")
    call_command("analytics", "refresh", "--as-of", AS_OF.isoformat())
    output = capsys.readouterr().out
    assert (
        ": 6 customers, 1 who bought (and 1 only in other currencies, which the figures do not "
        "count), 0 more than once." in output
    )
