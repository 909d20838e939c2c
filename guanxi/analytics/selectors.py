"""Reads of customer value results: always the current run, always through the customers the
user may see.

Every selector takes optional dashboard ``filters`` (``team``, ``region``, ``industry``). They
only ever narrow what the visibility rule already allows: the visible customers are selected
first and the filters are applied to that set, never in its place.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from guanxi.analytics.value.lifecycle import STAGES
from guanxi.analytics.value.profitability import WhaleCurve, whale_curve
from guanxi.core.arrays import fetch_columns
from guanxi.customers.models import Customer
from guanxi.customers.visibility import VIEW

from .models import (
    AnalyticsRun,
    Blacklist,
    ChurnFollowUp,
    CustomerValue,
    TierChange,
    ValueSettings,
)

TIER_ORDER = ("gold", "iron", "lead")
# The blank tier: customers the pyramid leaves out (nothing bought in the settings currency,
# and lose nothing): those who never bought, and those who bought only in other currencies.
UNTIERED = ""
PYRAMID_ORDER = (*TIER_ORDER, UNTIERED)
# The second kind of untiered, which the tier chart counts apart from those who never bought
# (the stored tier is blank for both).
UNTIERED_OTHER_CURRENCIES = "untiered_other_currencies"
TIER_CHART_ORDER = (*PYRAMID_ORDER, UNTIERED_OTHER_CURRENCIES)
STAGE_ORDER = tuple(STAGES)
FILTER_NAMES = ("team", "region", "industry")


def current_run() -> AnalyticsRun | None:
    """The run every page reads, or None before the first successful refresh."""
    return AnalyticsRun.objects.filter(is_current=True).first()


def figures_currency() -> str:
    """The currency of the money figures: the one the current run counted, as its figures
    record it, or the value settings' for a run that did not record it or before any run."""
    run = current_run()
    counted = (((run.figures if run else None) or {}).get("settings") or {}).get("currency")
    if counted:
        return counted
    return (ValueSettings.objects.filter(pk=1).first() or ValueSettings()).currency


def _visible_customers(user, filters: dict[str, Any] | None) -> QuerySet[Customer]:
    customers = Customer.objects.visible_to(user, VIEW)
    filters = filters or {}
    narrowing = Q()
    if filters.get("team"):
        narrowing &= Q(owner__team_id=filters["team"])
    if filters.get("region"):
        narrowing &= Q(region=filters["region"])
    if filters.get("industry"):
        narrowing &= Q(industry=filters["industry"])
    return customers.filter(narrowing)


# Unknown values at risk (null) last, on every database: PostgreSQL puts nulls first when
# sorting from the largest down, SQLite last.
_LARGEST_AT_RISK_FIRST = F("value_at_risk").desc(nulls_last=True)


def current_values_for_user(
    user, *, filters: dict[str, Any] | None = None
) -> QuerySet[CustomerValue]:
    """The current run's figures of every customer ``user`` may see, narrowed by ``filters``
    (none before the first successful refresh)."""
    return CustomerValue.objects.filter(
        run__is_current=True,
        customer__in=_visible_customers(user, filters).values("pk"),
    ).select_related("customer", "run")


def churn_warnings_for_user(
    user, *, filters: dict[str, Any] | None = None
) -> QuerySet[CustomerValue]:
    """Flagged customers ``user`` may see, in the order to work through them: gold customers
    first, then by value at risk, largest first (as ``value.churn.warning_order`` orders), an
    unknown value at risk after every known one."""
    gold_first = Case(
        When(pareto_tier="gold", then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        current_values_for_user(user, filters=filters)
        .filter(churn_flag=True)
        .annotate(gold_first=gold_first)
        .order_by("gold_first", _LARGEST_AT_RISK_FIRST, "customer_id")
    )


@dataclass(frozen=True)
class ValueColumns:
    """The current run's figures of the customers a user may see (narrowed by the filters),
    one array element per customer, in no particular order: what every chart of the dashboard
    is computed from. ``tier`` indexes :data:`PYRAMID_ORDER`, ``stage`` :data:`STAGE_ORDER`;
    ``clv`` is NaN for customers without a lifetime value; ``churn`` is the churn warning;
    ``bought`` whether the customer has bought in the settings currency, ``other_currencies``
    whether they bought, but only in other currencies (neither: never bought)."""

    customer_id: np.ndarray
    profit: np.ndarray
    clv: np.ndarray
    tier: np.ndarray
    stage: np.ndarray
    churn: np.ndarray
    value_at_risk: np.ndarray
    bought: np.ndarray
    other_currencies: np.ndarray


def value_columns_for_user(user, *, filters: dict[str, Any] | None = None) -> ValueColumns:
    """Read the columns in one query. The visible customers are read once here for the whole
    page: at a million customers every further query that selected them again (each chart's
    own ``GROUP BY``, the churn list and its count, the tier movements) took about a second
    for a rep and more for the administrator, so the charts work from these arrays instead."""
    tier_code = Case(
        *(When(pareto_tier=tier, then=Value(i)) for i, tier in enumerate(PYRAMID_ORDER)),
        default=Value(PYRAMID_ORDER.index(UNTIERED)),
    )
    stage_code = Case(
        *(When(lifecycle_stage=stage, then=Value(i)) for i, stage in enumerate(STAGE_ORDER)),
        default=Value(-1),
    )
    churn_code = Case(When(churn_flag=True, then=Value(1)), default=Value(0))
    bought_code = Case(When(purchase_days__gt=0, then=Value(1)), default=Value(0))
    # The purchase dates count completed orders in every currency, the purchase days the
    # settings currency alone (see ``CustomerValue.bought_only_in_other_currencies``).
    other_currencies_code = Case(
        When(purchase_days=0, last_purchase__isnull=False, then=Value(1)), default=Value(0)
    )
    rows = (
        current_values_for_user(user, filters=filters)
        .order_by()
        .annotate(
            customer_key=Cast("customer_id", BigIntegerField()),
            profit_value=Cast("profit", FloatField()),
            clv_value=Coalesce(Cast("clv", FloatField()), Value(float("nan"))),
            tier_code=Cast(tier_code, BigIntegerField()),
            stage_code=Cast(stage_code, BigIntegerField()),
            churn_code=Cast(churn_code, BigIntegerField()),
            # NaN for an unknown value at risk: the arrays hold no nulls, and sorting from the
            # largest down puts NaN last, as the churn list does null.
            at_risk_value=Coalesce(Cast("value_at_risk", FloatField()), Value(float("nan"))),
            bought_code=Cast(bought_code, BigIntegerField()),
            other_currencies_code=Cast(other_currencies_code, BigIntegerField()),
        )
        .values_list(
            "customer_key",
            "profit_value",
            "clv_value",
            "tier_code",
            "stage_code",
            "churn_code",
            "at_risk_value",
            "bought_code",
            "other_currencies_code",
        )
    )
    sql, params = rows.query.sql_with_params()
    customer_id, profit, clv, tier, stage, churn, at_risk, bought, other = fetch_columns(
        sql, params, "iffiiifii"
    )
    return ValueColumns(
        customer_id=customer_id,
        profit=profit,
        clv=clv,
        tier=tier,
        stage=stage,
        churn=churn.astype(bool),
        value_at_risk=at_risk,
        bought=bought.astype(bool),
        other_currencies=other.astype(bool),
    )


def churn_warning_ids(values: ValueColumns) -> np.ndarray:
    """The ids of the flagged customers among ``values``, in the working order of
    :func:`churn_warnings_for_user` (gold first, then value at risk, largest first, then id)."""
    flagged = np.flatnonzero(values.churn)
    not_gold = values.tier[flagged] != PYRAMID_ORDER.index("gold")
    order = np.lexsort((values.customer_id[flagged], -values.value_at_risk[flagged], not_gold))
    return values.customer_id[flagged[order]]


def tier_pyramid_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> dict[str, int]:
    """How many of the customers ``user`` may see are in each value tier, gold first, and how
    many are not tiered (the blank tier, last, whoever bought only in other currencies
    included). ``values``, when given, are the columns already read for this user and these
    filters (so with every selector below)."""
    totals = tier_totals_for_user(user, filters=filters, values=values)
    pyramid = {tier: totals[tier]["customers"] for tier in PYRAMID_ORDER}
    pyramid[UNTIERED] += totals[UNTIERED_OTHER_CURRENCIES]["customers"]
    return pyramid


def tier_totals_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> dict[str, dict[str, float]]:
    """Per value tier, gold first and the untiered last, in :data:`TIER_CHART_ORDER`: the
    number of customers, their total profit and their total lifetime value (customers without
    one count as 0). The untiered who bought only in other currencies are counted apart from
    those who never bought (:data:`UNTIERED_OTHER_CURRENCIES`)."""
    values = values or value_columns_for_user(user, filters=filters)
    size = len(TIER_CHART_ORDER)
    untiered_other = (values.tier == PYRAMID_ORDER.index(UNTIERED)) & values.other_currencies
    group = np.where(untiered_other, TIER_CHART_ORDER.index(UNTIERED_OTHER_CURRENCIES), values.tier)
    customers = np.bincount(group, minlength=size)
    profit = np.bincount(group, weights=values.profit, minlength=size)
    clv = np.bincount(group, weights=np.nan_to_num(values.clv, nan=0.0), minlength=size)
    return {
        tier: {"customers": int(customers[i]), "profit": float(profit[i]), "clv": float(clv[i])}
        for i, tier in enumerate(TIER_CHART_ORDER)
    }


def whale_curve_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> WhaleCurve:
    """The whale curve of the profits of the customers ``user`` may see."""
    values = values or value_columns_for_user(user, filters=filters)
    return whale_curve(values.profit)


def lifecycle_funnel_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> dict[str, int]:
    """How many of the customers ``user`` may see stand on each step of the loyalty ladder,
    from suspect to advocate."""
    values = values or value_columns_for_user(user, filters=filters)
    known = values.stage[values.stage >= 0]
    counts = np.bincount(known, minlength=len(STAGE_ORDER))
    return {stage: int(counts[i]) for i, stage in enumerate(STAGE_ORDER)}


def lifetime_values_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> tuple[np.ndarray, int]:
    """The lifetime values of the customers ``user`` may see that have one, and how many have
    none (nothing bought in the settings currency, or the models could not be fitted)."""
    values = values or value_columns_for_user(user, filters=filters)
    missing = np.isnan(values.clv)
    return values.clv[~missing], int(missing.sum())


def without_lifetime_value_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> dict[str, int]:
    """Who among the customers ``user`` may see has no lifetime value, and why: how many never
    bought, how many bought only in other currencies (the models see the settings currency
    alone), of each how many are lead (serving them having cost something), and how many
    bought but have none because the models could not be fitted. "Never bought" alone would
    not match the tier chart's untiered, who are only those of them who cost nothing; nor
    would it be true of whoever bought in other currencies."""
    values = values or value_columns_for_user(user, filters=filters)
    missing = np.isnan(values.clv)
    never = missing & ~values.bought & ~values.other_currencies
    other = missing & values.other_currencies
    lead = values.tier == PYRAMID_ORDER.index("lead")
    return {
        "never_bought": int(never.sum()),
        "never_bought_lead": int((never & lead).sum()),
        "other_currencies": int(other.sum()),
        "other_currencies_lead": int((other & lead).sum()),
        "not_fitted": int((missing & values.bought).sum()),
    }


def tier_movements_for_user(
    user, *, filters: dict[str, Any] | None = None, values: ValueColumns | None = None
) -> dict[tuple[str, str], int]:
    """How many of the customers ``user`` may see moved from one tier to another when the
    current run replaced the one before it, keyed by (from, to); a blank "from" is a customer
    tiered for the first time. A move to the blank tier of a customer who bought only in other
    currencies goes to :data:`UNTIERED_OTHER_CURRENCIES`, as the tier chart counts them; the
    blank "from" keeps both kinds (and the new customers), which the changes do not tell apart.

    With ``values`` the current run's changes are read without the visible customers and kept
    where their customer is among ``values`` (a customer who changed tier in the run has a
    figure in it): the changes are far fewer than the customers after the first run, and even
    then (a change for every customer) this is cheaper than selecting the visible customers
    again."""
    changes = TierChange.objects.filter(run__is_current=True).order_by()
    if values is None:
        # Whether the customer is now untiered for having bought only in other currencies, by
        # their figures in the current run (see ``CustomerValue.bought_only_in_other_currencies``).
        now_other_currencies = Exists(
            CustomerValue.objects.filter(
                run__is_current=True,
                customer_id=OuterRef("customer_id"),
                purchase_days=0,
                last_purchase__isnull=False,
            )
        )
        rows = (
            changes.filter(customer__in=_visible_customers(user, filters).values("pk"))
            .annotate(
                to_other_currencies=Case(
                    When(Q(to_tier=UNTIERED) & now_other_currencies, then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            )
            .values_list("from_tier", "to_tier", "to_other_currencies")
            .annotate(customers=Count("id"))
        )
        moves: dict[tuple[str, str], int] = {}
        for from_tier, to_tier, to_other_currencies, count in rows:
            key = (from_tier, UNTIERED_OTHER_CURRENCIES if to_other_currencies else to_tier)
            moves[key] = moves.get(key, 0) + count
        return moves
    from_codes = {tier: i for i, tier in enumerate(PYRAMID_ORDER)}

    def code_of(field: str) -> Case:
        return Case(
            *(When(**{field: tier}, then=Value(i)) for tier, i in from_codes.items()),
            default=Value(-1),
        )

    query = changes.annotate(
        customer_key=Cast("customer_id", BigIntegerField()),
        from_code=Cast(code_of("from_tier"), BigIntegerField()),
        to_code=Cast(code_of("to_tier"), BigIntegerField()),
    ).values_list("customer_key", "from_code", "to_code")
    sql, params = query.query.sql_with_params()
    customer_id, from_code, to_code = fetch_columns(sql, params, "iii")
    seen = np.isin(customer_id, values.customer_id)
    # The "to" codes index TIER_CHART_ORDER, whose first ones are PYRAMID_ORDER's.
    other_now = np.isin(customer_id, values.customer_id[values.other_currencies])
    to_code = np.where(
        (to_code == PYRAMID_ORDER.index(UNTIERED)) & other_now,
        TIER_CHART_ORDER.index(UNTIERED_OTHER_CURRENCIES),
        to_code,
    )
    # A tier this code does not know (-1) would have no cell in the grid anyway.
    known = seen & (from_code >= 0) & (to_code >= 0)
    size = len(TIER_CHART_ORDER)
    counts = np.bincount(from_code[known] * size + to_code[known], minlength=size * size)
    return {
        (from_tier, to_tier): int(counts[i * size + j])
        for i, from_tier in enumerate(PYRAMID_ORDER)
        for j, to_tier in enumerate(TIER_CHART_ORDER)
        if counts[i * size + j]
    }


def follow_ups_for_user(user, *, open_only: bool = True) -> QuerySet[ChurnFollowUp]:
    """Churn follow-ups on the customers ``user`` may see, largest value at risk first (unknown
    last), then the oldest; only the open ones unless ``open_only`` is false. A rep sees the
    ones on their own customers (and their teammates' where the team shares), a manager their
    department's (all, for the manager of service agents)."""
    follow_ups = ChurnFollowUp.objects.filter(
        customer__in=Customer.objects.visible_to(user, VIEW).values("pk")
    )
    if open_only:
        follow_ups = follow_ups.filter(done_at__isnull=True)
    return follow_ups.select_related("customer", "owner").order_by(
        _LARGEST_AT_RISK_FIRST, "created_at", "id"
    )


@dataclass(frozen=True)
class CustomerValueCard:
    """What the customer page shows of one customer's value: the current run's figures (None
    before the first refresh, or for a customer created since) and the blacklist entry."""

    run: AnalyticsRun | None
    value: CustomerValue | None
    blacklist: Blacklist | None
    customer_version: int  # what taking the customer off the blacklist sends back
    # Why the run's figures no longer describe the customer, who changed since in a way they
    # would tell (``OUTDATED_BY_MERGE``, ``OUTDATED_BY_PURCHASE``), or "" when they do.
    outdated_by: str = ""


# A customer merged with another since the run: its figures are those of the survivor alone,
# the other's orders, contacts and tickets missing from them.
OUTDATED_BY_MERGE = "merge"
# A customer the run counted no purchase of, who has one now: its figures say it never bought.
OUTDATED_BY_PURCHASE = "purchase"


def customer_value_card_for_user(user, customer_id: int) -> CustomerValueCard:
    """The value card of a customer ``user`` may see (``Customer.DoesNotExist`` otherwise, as
    :func:`guanxi.customers.selectors.access_customer`)."""
    from guanxi.customers.selectors import access_customer

    return customer_value_card(access_customer(user, customer_id, VIEW))


def customer_value_card(customer: Customer) -> CustomerValueCard:
    """The value card of a customer already read through the caller's scope (the customer
    page has it from its own selector)."""
    run = current_run()
    value = (
        CustomerValue.objects.filter(run=run, customer=customer).first()
        if run is not None
        else None
    )
    blacklist = Blacklist.objects.filter(customer=customer).select_related("added_by").first()
    return CustomerValueCard(
        run=run,
        value=value,
        blacklist=blacklist,
        customer_version=customer.version,
        outdated_by=_outdated_by(customer, run, value) if value is not None else "",
    )


def _outdated_by(customer: Customer, run: AnalyticsRun, value: CustomerValue) -> str:
    """Whether ``value``, the customer's figures of ``run``, no longer describe them (see
    :class:`CustomerValueCard`). The figures are recomputed only by the next refresh, so until
    then the card would say "never bought" beside the purchases the orders card counts live:
    a merge moves the other customer's orders at once, and a first order is booked at once.
    The page says why the figures are missing instead of showing figures of another customer."""
    from guanxi.dedup.models import CustomerMerge
    from guanxi.orders.models import Order

    merged_since = CustomerMerge.objects.filter(
        survivor=customer, merged_at__gte=run.started_at, undone_at__isnull=True
    )
    if merged_since.exists():
        return OUTDATED_BY_MERGE
    counted_no_purchase = value.purchase_days == 0 and value.last_purchase is None
    if counted_no_purchase and Order.objects.purchases().filter(customer=customer).exists():
        return OUTDATED_BY_PURCHASE
    return ""
