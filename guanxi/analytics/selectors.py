"""Reads of customer value results: always the current run, always through the customers the
user may see."""

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from guanxi.analytics.value.profitability import WhaleCurve, whale_curve
from guanxi.customers.models import Customer
from guanxi.customers.visibility import VIEW

from .models import CustomerValue

TIER_ORDER = ("gold", "iron", "lead")


def current_values_for_user(user) -> QuerySet[CustomerValue]:
    """The current run's figures of every customer ``user`` may see (none before the first
    successful refresh)."""
    return CustomerValue.objects.filter(
        run__is_current=True,
        customer__in=Customer.objects.visible_to(user, VIEW).values("pk"),
    ).select_related("customer", "run")


def churn_warnings_for_user(user) -> QuerySet[CustomerValue]:
    """Flagged customers ``user`` may see, in the order to work through them: gold customers
    first, then by value at risk, largest first (as ``value.churn.warning_order`` orders)."""
    gold_first = Case(
        When(pareto_tier="gold", then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        current_values_for_user(user)
        .filter(churn_flag=True)
        .annotate(gold_first=gold_first)
        .order_by("gold_first", "-value_at_risk", "customer_id")
    )


def tier_pyramid_for_user(user) -> dict[str, int]:
    """How many of the customers ``user`` may see are in each value tier, gold first."""
    counts = dict(
        current_values_for_user(user)
        .order_by()
        .values_list("pareto_tier")
        .annotate(customers=Count("id"))
    )
    return {tier: counts.get(tier, 0) for tier in TIER_ORDER}


def whale_curve_for_user(user) -> WhaleCurve:
    """The whale curve of the profits of the customers ``user`` may see."""
    profits = list(current_values_for_user(user).order_by().values_list("profit", flat=True))
    return whale_curve(profits)
