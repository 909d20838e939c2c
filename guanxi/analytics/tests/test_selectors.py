"""Reading results: the current run only, through the visibility rule."""

import pytest

from guanxi.analytics import selectors
from guanxi.analytics.models import CustomerValue, TierChange
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF
from guanxi.analytics.value.profitability import whale_curve


def test_nothing_to_read_before_the_first_refresh(book_of_orders):
    assert not selectors.current_values_for_user(book_of_orders.admin).exists()
    assert selectors.tier_pyramid_for_user(book_of_orders.admin) == {
        "gold": 0,
        "iron": 0,
        "lead": 0,
        "": 0,
    }


def test_a_rep_sees_only_the_values_and_warnings_of_customers_they_may_see(book_of_orders):
    company = book_of_orders
    analytics_refresh(as_of=AS_OF)
    second = analytics_refresh(as_of=AS_OF)

    mine = selectors.current_values_for_user(company.rep)
    # Their own and their sharing teammate's customer, from the current run only.
    assert {v.customer for v in mine} == {company.rep_customer, company.teammate_customer}
    assert {v.run_id for v in mine} == {second.pk}
    assert [v.customer for v in selectors.churn_warnings_for_user(company.rep)] == [
        company.rep_customer
    ]
    assert selectors.churn_warnings_for_user(company.rep_west).count() == 0
    assert {v.customer for v in selectors.current_values_for_user(company.rep_west)} == {
        company.west_customer
    }
    assert selectors.tier_pyramid_for_user(company.rep) == {
        "gold": 0,
        "iron": 1,
        "lead": 1,
        "": 0,
    }
    assert selectors.tier_pyramid_for_user(company.analyst) == {
        "gold": 1,
        "iron": 1,
        "lead": 2,
        "": 2,
    }
    assert not selectors.current_values_for_user(None).exists()


def test_warnings_put_gold_first_then_value_at_risk(book_of_orders):
    company = book_of_orders
    run = analytics_refresh(as_of=AS_OF)
    # Shape the stored figures directly: the ordering is the selector's business.
    rows = {v.customer_id: v for v in CustomerValue.objects.filter(run=run)}
    setups = {
        company.rep_customer.pk: ("iron", 500.0),
        company.teammate_customer.pk: ("gold", 10.0),
        company.rep_b_customer.pk: ("lead", 900.0),
        company.west_customer.pk: ("gold", 50.0),
    }
    for customer_id, (tier, at_risk) in setups.items():
        CustomerValue.objects.filter(pk=rows[customer_id].pk).update(
            churn_flag=True, pareto_tier=tier, value_at_risk=at_risk
        )
    ordered = [v.customer_id for v in selectors.churn_warnings_for_user(company.admin)]
    assert ordered == [
        company.west_customer.pk,
        company.teammate_customer.pk,
        company.rep_b_customer.pk,
        company.rep_customer.pk,
    ]


def test_whale_curve_over_the_visible_customers(book_of_orders):
    company = book_of_orders
    analytics_refresh(as_of=AS_OF)
    curve = selectors.whale_curve_for_user(company.rep)
    # The rep sees their customer (profit -330) and the teammate's (profit 0).
    expected = whale_curve([-330.0, 0.0])
    assert curve.total_profit == pytest.approx(expected.total_profit) == pytest.approx(-330)
    assert list(curve.cumulative_profit) == pytest.approx(list(expected.cumulative_profit))
    assert selectors.whale_curve_for_user(company.analyst).total_profit == pytest.approx(-195)


ROLES = ("admin", "manager", "manager_west", "rep", "teammate", "rep_b", "rep_west", "agent")


def test_the_dashboards_arrays_agree_with_the_queries_for_every_role(book_of_orders):
    """The page orders the churn list and counts the tier movements from the arrays it read
    once; the downloads ask the database. Both must give the same answer to every reader."""
    company = book_of_orders
    analytics_refresh(as_of=AS_OF)
    run = analytics_refresh(as_of=AS_OF)
    rows = {v.customer_id: v for v in CustomerValue.objects.filter(run=run)}
    # Ties on value at risk (ordered by id), gold ahead of a larger risk, and a customer who
    # moved tier between the runs in every reader's view.
    setups = {
        company.rep_customer.pk: ("iron", 500.0),
        company.teammate_customer.pk: ("gold", 10.0),
        company.rep_b_customer.pk: ("lead", 500.0),
        company.west_customer.pk: ("gold", 10.0),
    }
    for customer_id, (tier, at_risk) in setups.items():
        CustomerValue.objects.filter(pk=rows[customer_id].pk).update(
            churn_flag=True, pareto_tier=tier, value_at_risk=at_risk
        )
    for customer_id in setups:
        TierChange.objects.create(
            customer_id=customer_id,
            run=run,
            changed_on=run.as_of,
            from_tier="lead",
            to_tier=setups[customer_id][0],
        )
    everyone = selectors.churn_warnings_for_user(company.admin)
    assert [v.customer_id for v in everyone] == [
        min(company.teammate_customer.pk, company.west_customer.pk),
        max(company.teammate_customer.pk, company.west_customer.pk),
        min(company.rep_customer.pk, company.rep_b_customer.pk),
        max(company.rep_customer.pk, company.rep_b_customer.pk),
    ]
    for username in ROLES:
        user = company.users[username]
        for filters in ({}, {"team": company.team_a.pk}):
            values = selectors.value_columns_for_user(user, filters=filters)
            queried = [
                v.customer_id for v in selectors.churn_warnings_for_user(user, filters=filters)
            ]
            assert selectors.churn_warning_ids(values).tolist() == queried, (username, filters)
            from_arrays = selectors.tier_movements_for_user(user, filters=filters, values=values)
            assert from_arrays == selectors.tier_movements_for_user(user, filters=filters)
    # Each reader sees the moves of their own customers only.
    rep_moves = selectors.tier_movements_for_user(
        company.rep, values=selectors.value_columns_for_user(company.rep)
    )
    assert rep_moves == {("lead", "iron"): 1, ("lead", "gold"): 1}
