"""The analytics dashboard's six charts: each one's figures for a user and a set of filters,
as rows (what the page's data table shows and the CSV export holds, so the two always agree)
and as geometry for the template to draw.

Every figure comes from a selector, so the visibility rule and the filters apply to each
chart alike. The page reads the current run's figures of the visible customers once
(``selectors.value_columns_for_user``) and hands them to every chart: selecting the visible
customers again for each chart is what made the page slow at a million customers.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User

from . import charts, labels, selectors
from .models import TICKET_HANDLED, ValueSettings, bought_only_in_other_currencies
from .selectors import ValueColumns

CHURN_LIST_LENGTH = 50


@dataclass
class Chart:
    """One chart: ``columns`` name the CSV columns, ``rows`` are the figures behind the chart
    (all of them: the page may show fewer, as the churn list does), ``drawing`` is whatever
    its template needs to draw it."""

    key: str
    title: Any
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    drawing: Any = None
    empty: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole > 0 else None


def _entries(names: list, drawing: charts.CentredBars, rows: list[tuple]) -> list[tuple]:
    """(label, bar, row) for each category, for the template to walk through together."""
    return list(zip(names, drawing.bars, rows, strict=True))


def _percent(share: float) -> str:
    return f"{round(share * 100, 1):g}%"


def tier_rule(run) -> str:
    """The rule the run's tiers were made by, in words: the gold and lead shares of the value
    settings that run used (an administrator may have changed them since, which takes effect
    at the next refresh), what buyers were ranked by, and that whoever loses money is lead
    whatever their rank, which is why gold can be well under its share; and where those who
    never bought stand, since the dashboard's other counts of them would otherwise seem to
    disagree with the untiered; and those who bought only in other currencies, the same way,
    as the figures hold none of their purchases."""
    figures = (run.figures if run else None) or {}
    used = _settings_used(run)
    gold = used["gold_share"]
    lead = used["lead_share"]
    basis = _("lifetime value") if figures.get("pareto_by") == "clv" else _("profit to date")
    ranked = _(
        "Customers who have bought, ranked by %(basis)s: the top %(gold)s gold, the bottom "
        "%(lead)s lead, the rest iron. Whoever costs more than they bring is lead whatever "
        "their rank, so gold may be fewer than %(gold)s."
    ) % {"basis": basis, "gold": _percent(gold), "lead": _percent(lead)}
    # What serving someone who never bought may have cost: their contacts, their orders
    # cancelled or refunded (the settings currency's, whose handling is charged), and their
    # tickets when the run's settings priced them: settings whose unit costs were set before
    # tickets were charged price none, and a run made before charged none either.
    unit_costs = used["unit_costs"] or {}
    if TICKET_HANDLED in unit_costs:
        never_bought = _(
            "Customers who never bought are lead when serving them (contacts, service tickets, "
            "orders cancelled or refunded) has cost something, and otherwise not tiered."
        )
    else:
        never_bought = _(
            "Customers who never bought are lead when serving them (contacts, orders "
            "cancelled or refunded) has cost something, and otherwise not tiered."
        )
    other_currencies = _(
        "Customers who bought only in other currencies than the settings' (%(currency)s) "
        "are treated the same way: the figures count neither their purchases nor the handling "
        "of their orders in other currencies."
    ) % {"currency": used["currency"]}
    return f"{ranked} {never_bought} {other_currencies}"


# The value settings the captions read, as the run that made the figures used them.
_CAPTION_SETTINGS = ("gold_share", "lead_share", "currency", "unit_costs")


def _settings_used(run) -> dict:
    """The value settings a run's figures were made with, those the run did not record (a run
    made before they were recorded, or no run yet) read from the settings as they are now."""
    used = dict(((run.figures if run else None) or {}).get("settings") or {})
    if not used.keys() >= set(_CAPTION_SETTINGS):
        current = ValueSettings.objects.filter(pk=1).first() or ValueSettings()
        for name in _CAPTION_SETTINGS:
            used.setdefault(name, getattr(current, name))
    return used


def stage_rule(run) -> str:
    """What puts a customer on the ladder's first and last steps, which the purchases alone do
    not tell: a suspect has had no contact, no service ticket and no purchase; an advocate is a
    repeat buyer who sent praise in the window that run used (the purchase cycle of its value
    settings). A run made before tickets and praise were counted records no window, and gets no
    rule: it has no advocates, and some of its suspects may have written to the desk."""
    days = ((run.figures if run else None) or {}).get("advocate_praise_days")
    if not days:
        return ""
    return _(
        "Suspects have never been in contact: no contact, service ticket or purchase. "
        "Advocates are repeat buyers who sent praise to the service desk in the last %(days)s "
        "days, the purchase cycle's length."
    ) % {"days": days}


def tier_pyramid(user, filters: dict, values: ValueColumns | None = None) -> Chart:
    totals = selectors.tier_totals_for_user(user, filters=filters, values=values)
    # The row of those who bought only in other currencies is for a base that has them: in one
    # that keeps to the settings currency it would be an empty row to puzzle over, on the page
    # and in the download alike. The pyramid's own rows stay, empty or not.
    if not totals[selectors.UNTIERED_OTHER_CURRENCIES]["customers"]:
        del totals[selectors.UNTIERED_OTHER_CURRENCIES]
    customers = sum(t["customers"] for t in totals.values())
    profit = sum(t["profit"] for t in totals.values())
    clv = sum(t["clv"] for t in totals.values())
    rows = [
        (
            tier or "untiered",  # UNTIERED_OTHER_CURRENCIES keeps its own name
            t["customers"],
            _share(t["customers"], customers),
            round(t["profit"], 2),
            _share(t["profit"], profit),
            round(t["clv"], 2),
            _share(t["clv"], clv),
        )
        for tier, t in totals.items()
    ]
    drawing = charts.centred_bars([row[1] for row in rows])
    return Chart(
        key="tiers",
        title=_("Value tiers"),
        columns=(
            "tier",
            "customers",
            "customer_share",
            "profit",
            "profit_share",
            "lifetime_value",
            "lifetime_value_share",
        ),
        rows=rows,
        drawing=drawing,
        empty=customers == 0,
        extra={
            "entries": _entries([_tier_chart_label(tier) for tier in totals], drawing, rows),
            "profit_undefined": not profit > 0,
        },
    )


def _tier_chart_label(tier: str):
    if tier == selectors.UNTIERED_OTHER_CURRENCIES:
        return labels.UNTIERED_OTHER_CURRENCIES
    return labels.tier_label(tier)


def whale_curve(user, filters: dict, values: ValueColumns | None = None) -> Chart:
    curve = selectors.whale_curve_for_user(user, filters=filters, values=values)
    n = len(curve.order)
    peak = int(np.argmax(curve.cumulative_profit))  # the first peak, as the curve has it
    kept = charts.downsample(n + 1, keep=[peak])
    shares_defined = curve.total_profit > 0
    rows = [
        (
            round(float(curve.customer_share[i]), 6),
            i,
            round(float(curve.cumulative_profit[i]), 2),
            round(float(curve.profit_share[i]), 6) if shares_defined else None,
        )
        for i in kept
    ]
    drawing = None
    if n:
        ys = [row[3] if shares_defined else row[2] for row in rows]
        drawing = charts.line_chart(
            [row[0] for row in rows],
            ys,
            reference=1.0 if shares_defined else None,
            marker=kept.index(peak),
        )
    return Chart(
        key="whale",
        title=_("Whale curve"),
        columns=("customer_share", "customers", "cumulative_profit", "profit_share"),
        rows=rows,
        drawing=drawing,
        empty=n == 0,
        extra={
            "shares_defined": shares_defined,
            "total_profit": curve.total_profit,
            "peak_height": curve.peak_height,
            "peak_customer_share": curve.peak_customer_share,
            "loss_making_share": curve.loss_making_share,
            "customers": n,
            "downsampled": len(kept) < n + 1,
        },
    )


def lifecycle_funnel(user, filters: dict, values: ValueColumns | None = None) -> Chart:
    counts = selectors.lifecycle_funnel_for_user(user, filters=filters, values=values)
    total = sum(counts.values())
    rows = [(stage, count, _share(count, total)) for stage, count in counts.items()]
    drawing = charts.centred_bars(list(counts.values()))
    return Chart(
        key="lifecycle",
        title=_("Lifecycle funnel"),
        columns=("stage", "customers", "customer_share"),
        rows=rows,
        drawing=drawing,
        empty=total == 0,
        extra={"entries": _entries([labels.STAGES[stage] for stage in counts], drawing, rows)},
    )


def lifetime_value_distribution(user, filters: dict, values: ValueColumns | None = None) -> Chart:
    known, without = selectors.lifetime_values_for_user(user, filters=filters, values=values)
    missing = selectors.without_lifetime_value_for_user(user, filters=filters, values=values)
    histogram = charts.histogram(known)
    rows: list[tuple] = [
        (str(i + 1), round(low, 2), round(high, 2), count)
        for i, (low, high, count) in enumerate(
            zip(histogram.edges, histogram.edges[1:], histogram.counts, strict=False)
        )
    ]
    rows.append(("no_value", None, None, without))
    drawing = charts.column_chart(histogram.counts) if histogram.counts else None
    return Chart(
        key="clv",
        title=_("Lifetime value distribution"),
        columns=("bin", "from", "to", "customers"),
        rows=rows,
        drawing=drawing,
        empty=len(known) == 0 and without == 0,
        extra={
            "entries": list(zip(drawing.bars, rows, strict=False)) if drawing else [],
            "capped": histogram.capped,
            "without": without,
            "never_bought": missing["never_bought"],
            "never_bought_lead": missing["never_bought_lead"],
            "other_currencies": missing["other_currencies"],
            "other_currencies_lead": missing["other_currencies_lead"],
            "not_fitted": missing["not_fitted"],
            "with": len(known),
        },
    )


def churn_risk(
    user,
    filters: dict,
    values: ValueColumns | None = None,
    *,
    limit: int | None = CHURN_LIST_LENGTH,
) -> Chart:
    """The flagged customers in working order: the first ``limit`` for the page (with how many
    there are in all), every one of them for the download (``limit=None``). A million-customer
    base flags a hundred thousand or more: with ``values`` the page orders them from the arrays
    already read and reads the names of the first ``limit`` only."""
    if values is not None and limit is not None:
        ordered = selectors.churn_warning_ids(values)
        flagged = len(ordered)
        wanted = [int(pk) for pk in ordered[:limit]]
        by_id = {
            row[0]: row
            for row in selectors.current_values_for_user(user, filters=filters)
            .filter(customer_id__in=wanted)
            .values_list(*_CHURN_COLUMNS)
        }
        # A customer gone out of sight (or a run swapped) since the arrays were read is left
        # out rather than shown with figures from elsewhere.
        found = [by_id[pk] for pk in wanted if pk in by_id]
    else:
        warnings = selectors.churn_warnings_for_user(user, filters=filters)
        listed = warnings if limit is None else warnings[:limit]
        found = list(listed.values_list(*_CHURN_COLUMNS))
        flagged = len(found) if limit is None or len(found) < limit else warnings.count()
    owners = {user.pk: user.label for user in User.objects.filter(pk__in={r[6] for r in found})}
    # An unknown value at risk (None: bought only in other currencies) stays None, an empty
    # cell in the download; a partial one (bought in other currencies too) is marked so in a
    # column of its own, the amount staying a number a spreadsheet can add.
    rows = [
        (
            customer_id,
            name,
            tier,
            reason,
            None if at_risk is None else round(at_risk, 2),
            partial,
            owners.get(owner_id, ""),
        )
        for customer_id, name, tier, reason, at_risk, partial, owner_id, *_dates in found
    ]
    other_currencies = {row[0] for row in found if bought_only_in_other_currencies(*row[-2:])}
    return Chart(
        key="churn",
        title=_("Churn risk"),
        columns=(
            "customer_id",
            "customer",
            "tier",
            "reason",
            "value_at_risk",
            "value_at_risk_partial",
            "owner",
        ),
        rows=rows,
        empty=not rows,
        extra={
            "listed": CHURN_LIST_LENGTH,
            "flagged": flagged,
            "shown": _churn_entries(rows[:CHURN_LIST_LENGTH], other_currencies),
        },
    )


_CHURN_COLUMNS = (
    "customer_id",
    "customer__name",
    "pareto_tier",
    "churn_reason",
    "value_at_risk",
    "value_at_risk_partial",
    "customer__owner_id",
    # For the tier's name only (see ``CustomerValue.bought_only_in_other_currencies``).
    "purchase_days",
    "last_purchase",
)


def _churn_entries(rows: list[tuple], other_currencies: set[int]) -> list[dict]:
    largest = max((row[4] for row in rows if row[4] is not None), default=0) or 1
    return [
        {
            "id": customer_id,
            "name": name,
            "tier": tier,
            "tier_label": labels.tier_label(tier, other_currencies=customer_id in other_currencies),
            "reason_label": labels.REASONS.get(reason, reason),
            "value_at_risk": at_risk,
            "value_at_risk_partial": partial,
            "bar": 0 if at_risk is None else round(max(at_risk, 0) / largest * 100, 1),
            "owner": owner,
        }
        for customer_id, name, tier, reason, at_risk, partial, owner in rows
    ]


def tier_movement(user, filters: dict, values: ValueColumns | None = None) -> Chart:
    """From-tier × to-tier counts between the previous run and the current one. Only changes
    are stored, so those who stayed put (the diagonal) are each tier's customers less the ones
    who moved into it. The blank tier is both where new customers come from and where those
    left out of the pyramid are, so the cells add up to the customers shown. The columns are
    the tier chart's rows, those who bought only in other currencies apart from those who
    never bought when there are any; the rows' blank tier holds both kinds and the new
    customers, as the tier changes record only a blank "from"."""
    # Read once for both selectors below (a download comes without them).
    values = values or selectors.value_columns_for_user(user, filters=filters)
    moves = selectors.tier_movements_for_user(user, filters=filters, values=values)
    totals = selectors.tier_totals_for_user(user, filters=filters, values=values)
    tiers = [
        tier
        for tier in selectors.TIER_CHART_ORDER
        if tier != selectors.UNTIERED_OTHER_CURRENCIES or totals[tier]["customers"]
    ]
    untiered = (selectors.UNTIERED, selectors.UNTIERED_OTHER_CURRENCIES)
    stayed = {
        tier: totals[tier]["customers"] - sum(c for (_from, to), c in moves.items() if to == tier)
        for tier in tiers
    }
    sources = (selectors.UNTIERED, *selectors.TIER_ORDER)

    def stayed_put(source: str, to: str) -> bool:
        return source == to or (source == selectors.UNTIERED and to in untiered)

    grid = [
        [stayed[to] if stayed_put(source, to) else moves.get((source, to), 0) for to in tiers]
        for source in sources
    ]
    # Room on the left for the rows' names ("New or not tiered" the longest).
    drawing = charts.matrix_cells(grid, left=130)
    # The "to" names are the tier chart's (and its download's): "untiered" for those who never
    # bought, "untiered_other_currencies" for those who bought only in other currencies.
    rows = [
        (source or "new_or_untiered", to or "untiered", grid[i][j])
        for i, source in enumerate(sources)
        for j, to in enumerate(tiers)
    ]
    return Chart(
        key="movement",
        title=_("Tier movement"),
        columns=("from_tier", "to_tier", "customers"),
        rows=rows,
        drawing=drawing,
        empty=sum(t["customers"] for t in totals.values()) == 0,
        extra={
            "matrix": list(
                zip(
                    [labels.NEW_TO_TIERS, *(labels.PARETO_TIERS[t] for t in selectors.TIER_ORDER)],
                    drawing,
                    strict=True,
                )
            ),
            "column_labels": [_tier_chart_label(t) for t in tiers],
            "drawn_columns": list(zip(_drawn_column_labels(tiers), drawing[0], strict=True)),
            "row_label_x": drawing[0][0].x - 8,
            # As wide and tall as the cells: the last one's far corner.
            "width": int(drawing[-1][-1].x + drawing[-1][-1].size),
            "height": int(drawing[-1][-1].y + drawing[-1][-1].size),
            # A change from the blank tier is a customer tiered for the first time (new, or
            # left out before): after the first refresh that is everyone, and none of them
            # changed tier.
            "moved": sum(c for (source, _to), c in moves.items() if source),
            "first_tiered": sum(c for (source, _to), c in moves.items() if not source),
        },
    )


def _drawn_column_labels(tiers: list[str]) -> list:
    """The names over the tier movement drawing's columns, short enough to sit side by side
    over cells 64 units wide: the tables under it and in the download give the full ones."""
    names = []
    for tier in tiers:
        if tier == selectors.UNTIERED_OTHER_CURRENCIES:
            names.append(_("Non-%(currency)s") % {"currency": _settings_currency()})
        else:
            names.append(labels.PARETO_TIERS[tier] if tier else labels.UNTIERED_SHORT)
    return names


def _settings_currency() -> str:
    """The currency of the current run's figures (the settings' now, before any run)."""
    return _settings_used(selectors.current_run())["currency"]


# Each builder takes the user, the filters and, optionally, the value columns already read for
# them (the page reads them once for all six charts; a download reads what its chart needs).
CHARTS: dict[str, Callable[..., Chart]] = {
    "tiers": tier_pyramid,
    "whale": whale_curve,
    "lifecycle": lifecycle_funnel,
    "clv": lifetime_value_distribution,
    "churn": churn_risk,
    "movement": tier_movement,
}
# What a download holds: the same figures, with the whole churn list rather than its head.
EXPORTS: dict[str, Callable[..., Chart]] = {
    **CHARTS,
    "churn": partial(churn_risk, limit=None),
}
