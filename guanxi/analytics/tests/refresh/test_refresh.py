"""A refresh over the small book: every stored figure checked against the hand-worked values,
then a second refresh for tier movements and follow-ups, and a larger simulated base on which
the lifetime-value models do converge."""

import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from guanxi.analytics.models import (
    AnalyticsRun,
    ChurnFollowUp,
    CustomerValue,
    TierChange,
    ValueSettings,
)
from guanxi.analytics.refresh import KEEP_SUCCEEDED_RUNS, analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.core.testing.factories import CustomerFactory
from guanxi.orders.models import Order


def _values(run):
    return {v.customer_id: v for v in CustomerValue.objects.filter(run=run)}


def test_refresh_stores_the_figures_worked_out_by_hand(book_of_orders):
    company = book_of_orders
    run = analytics_refresh(as_of=AS_OF)

    assert run.status == AnalyticsRun.Status.SUCCEEDED and run.is_current
    assert run.finished_at is not None and run.as_of == AS_OF
    values = _values(run)
    assert set(values) == {c.pk for c in company.customers.values()}

    rep = values[company.rep_customer.pk]
    # Two orders on 10 January are one purchase day; the refund, the cancellation and the
    # order after AS_OF do not count.
    assert rep.purchase_days == 2
    assert (rep.first_purchase, rep.last_purchase) == (dt.date(2025, 1, 10), dt.date(2025, 6, 1))
    assert rep.total_amount == pytest.approx(350)
    assert rep.monetary_value == pytest.approx(200)  # the one repeat day
    assert rep.gross_margin == pytest.approx(100)
    assert (rep.recency_days, rep.tenure_days) == (273, 415)
    # A visit (300), two calls (2 × 15) and five orders handled, refunds included (5 × 20).
    assert rep.cost_to_serve == pytest.approx(430)
    assert rep.profit == pytest.approx(-330)
    assert rep.pareto_tier == "lead"  # loses money
    assert rep.lifecycle_stage == "repeat_purchase"
    # 273 days since the last purchase > 1.5 × the 142-day gap.
    assert rep.churn_flag and rep.churn_reason == "overdue"
    assert rep.value_at_risk == pytest.approx(100)  # without a lifetime value: the margin
    # One invoice paid early, one 90 days overdue: half on time, not past 90 days → C.
    assert rep.credit_rating == "C"
    assert rep.rfm_segment == "cannot_lose" and (rep.r_score, rep.f_score, rep.m_score) == (
        1,
        4,
        3,
    )

    rep_b = values[company.rep_b_customer.pk]
    assert (rep_b.purchase_days, rep_b.profit, rep_b.credit_rating) == (2, 170, "A")
    assert rep_b.pareto_tier == "gold" and not rep_b.churn_flag

    teammate = values[company.teammate_customer.pk]
    assert (teammate.purchase_days, teammate.monetary_value) == (1, 0)
    assert teammate.lifecycle_stage == "first_purchase"
    assert teammate.credit_rating == "unrated" and teammate.rfm_segment == "new_customer"

    west = values[company.west_customer.pk]  # a cancelled order is no purchase
    assert west.purchase_days == 0 and west.first_purchase is None and west.recency_days is None
    assert west.lifecycle_stage == "expectation"  # contacted, never bought
    assert west.cost_to_serve == pytest.approx(35) and west.pareto_tier == "lead"
    assert west.rfm_segment == "none" and west.r_score == 0
    unowned = values[company.unowned_customer.pk]
    # Never bought, never cost anything: out of the pyramid rather than a zero at its bottom.
    assert unowned.lifecycle_stage == "suspect" and unowned.pareto_tier == ""

    # Three buyers cannot pin the models down: recorded, and no predictions rather than
    # made-up ones; the pyramid falls back to profit.
    assert run.figures["bgnbd"]["converged"] is False
    assert run.figures["bgnbd"]["message"] == (
        "2 customers bought more than once; the models need at least 20"
    )
    assert run.figures["pareto_by"] == "profit"
    assert all(v.p_alive is None and v.clv is None for v in values.values())
    assert run.figures["customers"] == 6 and run.figures["buyers"] == 3
    # Three buyers: one gold (0.2 × 3 rounds to 1), one lead at the bottom (0.9 rounds to 1),
    # which is the money-losing rep customer; the west customer, who never bought but cost
    # something, is lead too; the two who neither bought nor cost anything are not tiered.
    assert run.figures["tiers"] == {"gold": 1, "iron": 1, "lead": 2, "": 2}

    follow_up = ChurnFollowUp.objects.get()
    assert (follow_up.customer, follow_up.owner) == (company.rep_customer, company.rep)
    assert follow_up.reason == "overdue" and follow_up.run == run and follow_up.done_at is None
    # First tiering of every tiered customer is recorded from "".
    assert TierChange.objects.filter(run=run, from_tier="").count() == 4


def test_deleted_customers_are_left_out(book_of_orders):
    customer = book_of_orders.west_customer
    customer.deleted_at = timezone.now()
    customer.save()
    run = analytics_refresh(as_of=AS_OF)
    assert customer.pk not in _values(run)


def test_a_second_refresh_records_tier_changes_and_keeps_one_open_follow_up(book_of_orders):
    company = book_of_orders
    first = analytics_refresh(as_of=AS_OF)
    # The teammate's customer becomes the most profitable one.
    book(company.teammate_customer, dt.date(2026, 2, 25), "5000.00", margin="2000")
    second = analytics_refresh(as_of=AS_OF)

    first.refresh_from_db()
    assert not first.is_current and second.is_current
    assert AnalyticsRun.objects.filter(is_current=True).get() == second
    before, after = _values(first), _values(second)
    moved = {pk for pk in after if after[pk].pareto_tier != before[pk].pareto_tier}
    assert company.teammate_customer.pk in moved and company.rep_b_customer.pk in moved
    changes = TierChange.objects.filter(run=second)
    assert {c.customer_id for c in changes} == moved
    for change in changes:
        assert change.changed_on == AS_OF
        assert change.from_tier == before[change.customer_id].pareto_tier
        assert change.to_tier == after[change.customer_id].pareto_tier
    assert second.figures["tier_changes"] == len(moved)

    # Still flagged, still the one open follow-up.
    assert after[company.rep_customer.pk].churn_flag
    assert ChurnFollowUp.objects.filter(customer=company.rep_customer).count() == 1
    assert second.figures["churn_follow_ups_created"] == 0

    # Once the owner has done it, the next refresh that flags the customer opens a new one.
    ChurnFollowUp.objects.update(done_at=timezone.now())
    third = analytics_refresh(as_of=AS_OF)
    assert ChurnFollowUp.objects.filter(customer=company.rep_customer).count() == 2
    assert ChurnFollowUp.objects.get(done_at__isnull=True).run == third


def test_only_the_last_succeeded_runs_are_kept(book_of_orders):
    runs = [analytics_refresh(as_of=AS_OF) for _ in range(KEEP_SUCCEEDED_RUNS + 2)]
    kept = set(AnalyticsRun.objects.values_list("pk", flat=True))
    assert kept == {run.pk for run in runs[-KEEP_SUCCEEDED_RUNS:]}
    assert set(CustomerValue.objects.values_list("run_id", flat=True).distinct()) == kept
    # The history outlives the runs it came from.
    assert TierChange.objects.filter(run__isnull=True).count() == 4


def test_a_run_abandoned_mid_way_is_failed_and_pruned_and_a_fresh_one_left_alone(book_of_orders):
    killed = AnalyticsRun.objects.create(
        as_of=AS_OF, started_at=timezone.now() - dt.timedelta(hours=7)
    )
    in_progress = AnalyticsRun.objects.create(as_of=AS_OF)  # another refresh, still at work
    customer = book_of_orders.rep_customer
    for run in (killed, in_progress):
        CustomerValue.objects.create(run=run, customer=customer)

    for _ in range(KEEP_SUCCEEDED_RUNS + 1):
        analytics_refresh(as_of=AS_OF)

    assert not AnalyticsRun.objects.filter(pk=killed.pk).exists()
    assert not CustomerValue.objects.filter(run_id=killed.pk).exists()
    in_progress.refresh_from_db()
    assert in_progress.status == AnalyticsRun.Status.RUNNING
    assert CustomerValue.objects.filter(run=in_progress).count() == 1


def test_settings_row_is_created_with_the_defaults(db):
    assert not ValueSettings.objects.exists()
    value_settings = ValueSettings.load()
    assert (value_settings.gold_share, value_settings.lead_share) == (0.2, 0.3)
    assert value_settings.clv_horizon_months == 12
    assert value_settings.unit_costs["visit"] > value_settings.unit_costs["email"]
    assert ValueSettings.load().pk == value_settings.pk


def _simulated_base(customers: int, seed: int, *, every_amount: float | None = None) -> None:
    """Customers buying at their own Poisson rate until they drop out after some purchase
    (the BG/NBD story), over the two years before AS_OF; with ``every_amount`` every order
    costs that, so spend does not differ between customers at all."""
    rng = np.random.default_rng(seed)
    people = CustomerFactory.create_batch(customers)
    start = np.datetime64(AS_OF) - np.timedelta64(730, "D")
    orders = []
    for person in people:
        rate = rng.gamma(0.5, 1 / 20)  # purchases per day
        dropout = rng.beta(1.0, 3.0)
        day = float(rng.uniform(0, 365))
        mean_spend = rng.gamma(5.0, 20.0)
        while day <= 730:
            when = (start + np.timedelta64(int(day), "D")).astype(dt.date)
            amount = round(float(rng.gamma(5.0, mean_spend / 5.0)), 2) + 1
            if every_amount is not None:
                amount = every_amount
            orders.append(
                Order(
                    customer=person,
                    ordered_on=when,
                    amount=amount,
                    gross_margin=round(amount * 0.3, 2),
                    status="completed",
                )
            )
            if rng.random() < dropout:
                break
            day += rng.exponential(1 / rate)
    Order.objects.bulk_create(orders, batch_size=500)


@pytest.mark.django_db
def test_on_a_larger_base_the_models_converge_and_give_lifetime_values():
    _simulated_base(400, seed=7)
    run = analytics_refresh(as_of=AS_OF)
    figures = run.figures
    assert figures["bgnbd"]["converged"] is True, figures["bgnbd"]
    assert figures["gamma_gamma"]["converged"] is True, figures["gamma_gamma"]
    assert figures["spend_model"] == "gamma_gamma"
    assert set(figures["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert figures["pareto_by"] == "clv"
    values = list(CustomerValue.objects.filter(run=run))
    assert len(values) == 400
    for value in values:
        assert 0 <= value.p_alive <= 1 and value.clv >= 0 and value.expected_purchases >= 0
        assert value.value_quadrant in {"keep", "invest", "maintain", "minimise"}
        if value.churn_flag:
            assert value.value_at_risk == pytest.approx(value.clv)
    # The gold tier is the top fifth by lifetime value, less the customers who lose money
    # (cost to serve above margin so far), who are lead wherever they rank.
    ranked = sorted(values, key=lambda v: -v.clv)
    top, rest = ranked[:80], ranked[80:]
    assert all(v.pareto_tier == ("lead" if v.profit < 0 else "gold") for v in top)
    assert not any(v.pareto_tier == "gold" for v in rest)
    assert any(v.profit < 0 for v in top) and any(v.pareto_tier == "gold" for v in top)


@pytest.mark.django_db
def test_when_spend_does_not_differ_lifetime_values_use_the_mean_purchase():
    """No spread in spend: the Gamma-Gamma fit has no maximum, and every purchase is priced at
    the mean repeat purchase instead of leaving every lifetime value blank."""
    _simulated_base(400, seed=7, every_amount=50.0)
    run = analytics_refresh(as_of=AS_OF)
    figures = run.figures
    assert figures["bgnbd"]["converged"] is True, figures["bgnbd"]
    assert figures["gamma_gamma"]["converged"] is False
    assert figures["spend_model"] == "pooled_mean"
    assert figures["pareto_by"] == "clv"
    values = list(CustomerValue.objects.filter(run=run))
    assert len(values) == 400
    # A purchase is a purchase day: the odd day with two orders is one purchase of 100.
    (spend,) = {round(value.expected_spend, 9) for value in values}
    assert 50.0 <= spend < 55.0
    for value in values:
        # Discounted, the value is at most the expected purchases at that spend each.
        assert 0 < value.clv <= value.expected_purchases * spend + 1e-6


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's JIT setting")
def test_jit_is_on_only_for_the_refresh_aggregates():
    from guanxi.analytics.refresh import _jit_compiled

    def jit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return cursor.fetchone()[0]

    assert jit() == "off"  # the connection setting (settings/base.py)
    with _jit_compiled():
        assert jit() == "on"
    assert jit() == "off"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_the_refresh_leaves_fresh_statistics_for_the_tables_its_swap_wrote(book_of_orders):
    """The dashboard's count of open follow-ups was planned from statistics taken before the
    first refresh wrote any (the planner expected a few hundred of 130,000)."""

    def estimated_rows(model) -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
            )
            return cursor.fetchone()[0]

    analytics_refresh(as_of=AS_OF)
    changes = TierChange.objects.count()
    follow_ups = ChurnFollowUp.objects.count()
    assert changes > 0 and follow_ups > 0
    assert estimated_rows(TierChange) == changes
    assert estimated_rows(ChurnFollowUp) == follow_ups
