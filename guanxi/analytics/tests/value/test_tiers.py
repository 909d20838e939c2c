"""Gold/iron/lead, volume tiers, the value quadrant and tier movements."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.analytics.value._checks import count_of
from guanxi.analytics.value.tiers import (
    pareto_tiers,
    tier_changes,
    value_quadrant,
    volume_tiers,
)

RANK = {"gold": 0, "iron": 1, "lead": 2}


def test_top_fifth_gold_bottom_three_tenths_lead():
    values = [40.0, 100.0, 10.0, 70.0, 90.0, 20.0, 60.0, 30.0, 80.0, 50.0]
    tiers = pareto_tiers(values)
    assert tiers.tolist() == [
        "iron", "gold", "lead", "iron", "gold", "lead", "iron", "lead", "iron", "iron",
    ]  # fmt: skip


def test_negative_values_are_lead_whatever_their_rank():
    # Five customers: one gold (0.2 × 5), two lead (0.3 × 5 = 1.5, rounded half up).
    assert pareto_tiers([50.0, -5.0, 30.0, 20.0, 10.0]).tolist() == [
        "gold", "lead", "iron", "iron", "lead",
    ]  # fmt: skip
    # When everyone loses money, no one is gold, not even the least bad.
    assert set(pareto_tiers([-1.0, -2.0, -3.0, -4.0, -5.0]).tolist()) == {"lead"}


def test_zero_is_not_negative():
    assert pareto_tiers([0.0]).tolist() == ["iron"]  # 0.2 and 0.3 of one customer round to 0


def test_a_tie_mostly_inside_gold_is_all_gold():
    # The three 10s occupy positions 0..2, middle 1.5 < 2 gold places: three gold.
    values = [10.0, 10.0, 10.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.4]
    assert pareto_tiers(values).tolist()[:4] == ["gold", "gold", "gold", "iron"]


def test_a_tie_centred_on_the_gold_cut_is_all_iron():
    # The two 8s occupy positions 1..2, middle exactly 2.0: not inside the first 2 places.
    values = [10.0, 8.0, 8.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.4]
    assert pareto_tiers(values).tolist()[:4] == ["gold", "iron", "iron", "iron"]


def test_all_equal_positive_values_are_iron():
    assert set(pareto_tiers([7.0] * 10).tolist()) == {"iron"}


def test_shares_that_overlap_after_rounding_give_priority_to_gold():
    assert pareto_tiers([3.0], gold_share=0.5, lead_share=0.5).tolist() == ["gold"]
    assert pareto_tiers([3.0, 1.0], gold_share=0.0, lead_share=1.0).tolist() == ["lead"] * 2


def test_empty_values_give_no_tiers():
    assert pareto_tiers([]).tolist() == []


def test_pareto_arguments_are_checked():
    with pytest.raises(ValueError, match="gold_share must be between 0 and 1"):
        pareto_tiers([1.0], gold_share=1.2)
    with pytest.raises(ValueError, match="values must be finite"):
        pareto_tiers([1.0, np.nan])


@given(
    st.lists(st.floats(0.01, 1e9), min_size=0, max_size=80, unique=True),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_distinct_positive_values_meet_the_shares_exactly(values, gold_share, lead_share):
    tiers = pareto_tiers(values, gold_share, lead_share).tolist()
    n = len(values)
    gold = count_of(gold_share, n)
    assert tiers.count("gold") == gold
    assert tiers.count("lead") == min(count_of(lead_share, n), n - gold)


@given(st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=60))
def test_negatives_are_lead_and_more_value_never_means_a_worse_tier(values):
    values = np.array(values)
    tiers = pareto_tiers(values)
    assert set(tiers[values < 0].tolist()) <= {"lead"}
    ranks = np.array([RANK[tier] for tier in tiers])
    order = np.argsort(-values, kind="stable")
    assert np.all(np.diff(ranks[order]) >= 0)


def test_only_ranked_customers_share_the_pyramid():
    # Ten buyers and five prospects: the shares are of the buyers (2 gold, 3 lead); the
    # prospects, whose zero would otherwise fill the bottom, stay untiered.
    values = [100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0] + [0.0] * 5
    bought = [True] * 10 + [False] * 5
    tiers = pareto_tiers(values, ranked=bought).tolist()
    assert tiers == ["gold"] * 2 + ["iron"] * 5 + ["lead"] * 3 + [""] * 5


def test_losing_customers_are_lead_ranked_or_not():
    # Ranked by lifetime value, which is never negative, while profit says who loses money:
    # the top buyer by value costs more than it brings, and so does a prospect who was
    # called on often and never bought.
    clv = [500.0, 400.0, 300.0, 200.0, 100.0, 0.0]
    profit = [-20.0, 50.0, 40.0, 30.0, 10.0, -15.0]
    bought = [True] * 5 + [False]
    tiers = pareto_tiers(clv, ranked=bought, losing=np.array(profit) < 0).tolist()
    # Of the five buyers one is gold (0.2 × 5) and two are lead (0.3 × 5, rounded half up);
    # the one gold place went to a customer who loses money, and is lead instead.
    assert tiers == ["lead", "iron", "iron", "lead", "lead", "lead"]


def test_ranked_and_losing_masks_must_fit_the_values():
    with pytest.raises(ValueError, match="ranked has 1 elements but values has 2"):
        pareto_tiers([1.0, 2.0], ranked=[True])
    with pytest.raises(ValueError, match="losing must be"):
        pareto_tiers([1.0], losing=[0.5])


def test_volume_tiers_need_both_sales_and_orders():
    sales = [500.0, 300.0, 100.0, 50.0, 30.0, 20.0]  # the first two make 80 % of 1000
    volume = [20, 2, 15, 1, 8, 3]  # busiest fifth: 20; quietest half: 1, 2 and 3
    assert volume_tiers(sales, volume).tolist() == [
        "high", "medium", "medium", "low", "medium", "low",
    ]  # fmt: skip


def test_the_customer_who_crosses_the_sales_line_is_in_the_head():
    tiers = volume_tiers([700.0, 200.0, 100.0], [5, 5, 5], high_share=1.0, low_share=0.0)
    # 700 is below 80 % of 1000, so the next customer is in too; 900 is not below it.
    assert tiers.tolist() == ["high", "high", "medium"]


def test_equal_sales_are_in_or_out_of_the_head_together():
    sales = [400.0, 200.0, 200.0, 200.0]  # the last 200 crosses 800, but ties go together
    assert volume_tiers(sales, [1, 1, 1, 1], high_share=1.0).tolist() == ["high"] * 4
    tiers = volume_tiers(sales, [1, 1, 1, 1], high_share=1.0, head_sales_share=0.4)
    assert tiers.tolist() == ["high", "medium", "medium", "medium"]


def test_without_positive_total_sales_no_one_is_high():
    assert volume_tiers([0.0, 0.0], [9, 1]).tolist() == ["medium", "low"]
    assert volume_tiers([], []).tolist() == []


def test_volume_tier_arguments_are_checked():
    with pytest.raises(ValueError, match="volume has 1 elements but sales has 2"):
        volume_tiers([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="head_sales_share must be between 0 and 1"):
        volume_tiers([1.0], [1], head_sales_share=80)


def test_value_quadrant_with_given_cuts():
    quadrants = value_quadrant([10, 1, 10, 1], [5, 5, 1, 1], current_cut=5, potential_cut=3)
    assert quadrants.tolist() == ["keep", "invest", "maintain", "minimise"]


def test_value_quadrant_cuts_at_the_medians_and_a_value_on_the_cut_is_low():
    assert value_quadrant([1, 2, 3, 4], [4, 3, 2, 1]).tolist() == [
        "invest", "invest", "maintain", "maintain",
    ]  # fmt: skip
    # Medians 2 and 20: the middle customer sits on both cuts.
    assert value_quadrant([1, 2, 3], [30, 20, 10]).tolist() == ["invest", "minimise", "maintain"]


def test_value_quadrant_edge_cases():
    assert value_quadrant([], []).tolist() == []
    assert set(value_quadrant([5, 5], [5, 5]).tolist()) == {"minimise"}
    with pytest.raises(ValueError, match="potential_value must be finite"):
        value_quadrant([1.0], [np.nan])
    with pytest.raises(ValueError, match="current_cut must be a finite number"):
        value_quadrant([1.0], [1.0], current_cut=np.nan)


def test_tier_changes_list_the_movements():
    changes = tier_changes(["gold", "iron", "lead", "iron"], ["gold", "gold", "iron", "iron"])
    assert changes.indices.tolist() == [1, 2]
    assert changes.pairs() == [(1, "iron", "gold"), (2, "lead", "iron")]
    assert len(changes) == 2


def test_no_changes_and_bad_input():
    assert len(tier_changes(["gold"], ["gold"])) == 0
    assert tier_changes([], []).pairs() == []
    with pytest.raises(ValueError, match="current has 1 elements but previous has 2"):
        tier_changes(["gold", "iron"], ["gold"])
    with pytest.raises(ValueError, match="previous must be strings"):
        tier_changes([1, 2], ["gold", "iron"])
