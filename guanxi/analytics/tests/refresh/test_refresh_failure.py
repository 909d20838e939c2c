"""A refresh that fails part-way leaves the previous results current and nothing of its own."""

import datetime as dt

import pytest

from guanxi.analytics import refresh
from guanxi.analytics.models import AnalyticsRun, ChurnFollowUp, CustomerValue, TierChange
from guanxi.analytics.tests.conftest import AS_OF, book


class Injected(RuntimeError):
    pass


def _values(run):
    return sorted(
        CustomerValue.objects.filter(run=run).values_list("customer_id", "pareto_tier", "profit")
    )


@pytest.mark.parametrize("failing_step", ["_record_tier_changes", "_create_follow_ups"])
def test_a_failure_after_the_rows_are_written_leaves_the_previous_run_current(
    book_of_orders, monkeypatch, failing_step
):
    company = book_of_orders
    previous = refresh.analytics_refresh(as_of=AS_OF)
    previous_values = _values(previous)
    tier_changes_before = TierChange.objects.count()
    follow_ups_before = ChurnFollowUp.objects.count()
    book(company.teammate_customer, dt.date(2026, 2, 25), "5000.00", margin="2000")

    real_step = getattr(refresh, failing_step)
    seen_rows = []

    def fail_midway(run, *args):
        real_step(run, *args)  # do the step's writes, then fail: they must be undone too
        seen_rows.append(CustomerValue.objects.filter(run=run).count())
        raise Injected("disk full")

    monkeypatch.setattr(refresh, failing_step, fail_midway)
    with pytest.raises(Injected):
        refresh.analytics_refresh(as_of=AS_OF)

    assert seen_rows == [6]  # the new run's rows had been written when it failed
    failed = AnalyticsRun.objects.exclude(pk=previous.pk).get()
    assert failed.status == AnalyticsRun.Status.FAILED and not failed.is_current
    assert "Injected: disk full" in failed.error and failed.finished_at is not None
    assert not CustomerValue.objects.filter(run=failed).exists()

    previous.refresh_from_db()
    assert previous.is_current and previous.status == AnalyticsRun.Status.SUCCEEDED
    assert _values(previous) == previous_values
    assert TierChange.objects.count() == tier_changes_before
    assert ChurnFollowUp.objects.count() == follow_ups_before


def test_a_failure_while_writing_the_rows_leaves_none_of_them(book_of_orders, monkeypatch):
    previous = refresh.analytics_refresh(as_of=AS_OF)
    real_insert = refresh.bulk.insert_values

    def write_half_then_fail(model, columns, rows):
        real_insert(model, columns, rows[: len(rows) // 2])
        raise Injected("connection lost")

    monkeypatch.setattr(refresh.bulk, "insert_values", write_half_then_fail)
    with pytest.raises(Injected):
        refresh.analytics_refresh(as_of=AS_OF)

    failed = AnalyticsRun.objects.get(status=AnalyticsRun.Status.FAILED)
    assert not CustomerValue.objects.filter(run=failed).exists()
    assert AnalyticsRun.objects.get(is_current=True) == previous
    assert CustomerValue.objects.filter(run=previous).count() == 6


def test_a_failed_first_refresh_leaves_no_current_run(book_of_orders, monkeypatch):
    def broken(*args, **kwargs):
        raise Injected("bad data")

    monkeypatch.setattr(refresh, "compute_values", broken)
    with pytest.raises(Injected):
        refresh.analytics_refresh(as_of=AS_OF)
    assert not AnalyticsRun.objects.filter(is_current=True).exists()
    assert AnalyticsRun.objects.get().status == AnalyticsRun.Status.FAILED
