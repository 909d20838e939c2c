"""Orders, invoices and payments for the demo's customers, drawn from a model of how people buy.

Like :mod:`guanxi.demo.generator` this module never touches the database: it takes the
customers as arrays and returns the rows as arrays, block after block. It is numpy throughout,
because the benchmark makes ten million orders.

**Purchases** follow the process the BG/NBD model assumes (Fader, Hardie and Lee, 2005). A buying
customer makes a first purchase some time after they became a customer; while active they buy
at their own rate λ (a Poisson process); after every repeat purchase they drop out for good
with their own probability p. Across customers λ ~ Gamma(r, α) per week and p ~ Beta(a, b),
with the estimates published for the CDNOW data set as the starting point. CDNOW customers
bought a few CDs in a year and a half; to reach the number of orders asked for, rates are
multiplied and the ``b`` of the dropout multiplied by the same factor (customers buy more often
and stay longer, the shape of both distributions kept), the factor chosen by bisection on the
model's expected number of purchases, E[X(t) | λ, p] = (1 − e^(−λpt)) / p. Organisations buy
:data:`ORGANISATION_RATE` times as often as people. Only customers whose lifecycle stage says
they have bought (first purchase, repeat purchase, advocate) get orders.

**Amounts** follow the Gamma-Gamma spend model, again with CDNOW's estimates: each customer has
a spend rate ν ~ Gamma(q, v), each order is Gamma(p, ν), and CDNOW's dollars become yuan at
:data:`PERSON_SPEND_UNIT` (people) or :data:`ORGANISATION_SPEND_UNIT` (organisations). Costs
leave a gross margin of 10–40 % per order. A few orders are refunded or cancelled (they stay, with
that status); the newest are still placed, paid or shipped.

**Invoices**: most organisations' orders and some people's get one, issued within a few days of
the order and due 30 days later. Most are paid on time, some late, a few never; invoices whose
payment would fall after today are still open.

To hit an exact total (the benchmark loads exactly ten million orders) the purchases are drawn
a little above it and then thinned at random — every purchase equally likely to go — which is
still a purchase process of the same kind.

The same customers, seed and day give the same rows.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Column order of the rows of each table, by model attribute name (as generator.COLUMNS).
ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "order": (
        "id",
        "customer_id",
        "external_id",
        "ordered_on",
        "amount",
        "cost",
        "gross_margin",
        "currency",
        "channel",
        "status",
        "notes",
        "created_by_id",
        "created_at",
        "updated_at",
        "version",
        "approval",
        "approval_reason",
        "approved_by_id",
        "approved_at",
    ),
    "invoice": (
        "id",
        "customer_id",
        "order_id",
        "number",
        "issued_on",
        "due_on",
        "amount",
        "currency",
        "status",
        "created_by_id",
        "created_at",
    ),
    "payment": ("id", "invoice_id", "paid_on", "amount", "method", "created_by_id", "created_at"),
}

BUYING_STAGES = ("first_purchase", "repeat_purchase", "advocate")


@dataclass(frozen=True)
class PurchaseModel:
    """BG/NBD (purchases, time in weeks) and Gamma-Gamma (spend) parameters: CDNOW's."""

    r: float = 0.243
    alpha: float = 4.414
    a: float = 0.793
    b: float = 2.426
    spend_p: float = 6.25
    spend_q: float = 3.74
    spend_v: float = 15.44


CDNOW = PurchaseModel()
ORGANISATION_RATE = 3.0
PERSON_SPEND_UNIT = 10.0  # yuan per CDNOW dollar
ORGANISATION_SPEND_UNIT = 40.0
HISTORY_DAYS = 3 * 365  # orders reach back this far before today
FIRST_PURCHASE_DAYS = 30.0  # mean wait from becoming a customer to the first purchase
MARGIN_LOW, MARGIN_HIGH = 0.10, 0.40
REFUNDED_SHARE, CANCELLED_SHARE = 0.03, 0.02
INVOICED_SHARE = {True: 0.5, False: 0.05}  # organisations, people
PAYMENT_TERMS_DAYS = 30
ON_TIME_SHARE, LATE_SHARE = 0.80, 0.15  # the rest is never paid
# Drawn this much above the total asked for, then thinned down to it.
OVERSHOOT = 1.03
BLOCK_BUYERS = 20_000

CHANNELS = np.array(["web", "store", "phone", "sales_visit", "marketplace", "other"], dtype=object)
# Relative weights of the channels above, for organisations and for people.
CHANNEL_WEIGHTS = {
    True: (20, 5, 25, 35, 5, 10),
    False: (35, 20, 12, 3, 25, 5),
}
# A customer places most orders through the channel they prefer.
PREFERRED_CHANNEL_SHARE = 0.7
STATUSES = np.array(
    ["placed", "paid", "shipped", "completed", "refunded", "cancelled"], dtype=object
)
PLACED, PAID, SHIPPED, COMPLETED, REFUNDED, CANCELLED = range(6)
INVOICE_STATUSES = np.array(["open", "paid"], dtype=object)
METHODS = np.array(["bank_transfer", "cash", "card", "alipay", "wechat_pay", "other"], dtype=object)
METHOD_WEIGHTS = {
    True: (80, 1, 4, 5, 5, 5),
    False: (5, 5, 15, 40, 35, 0),
}


@dataclass(frozen=True)
class Customers:
    """The customers to make orders for, in id order, as parallel arrays. Days are counted
    from 1970-01-01."""

    ids: np.ndarray  # int64
    is_organisation: np.ndarray  # bool
    buys: np.ndarray  # bool: the lifecycle stage says they have bought
    since: np.ndarray  # int64 day they became a customer
    created_by: np.ndarray  # int64 user id recorded on their orders; 0 for none


@dataclass
class OrderBlock:
    """Generated rows of a run of customers, one dict of column arrays per table; money in
    cents, dates as day numbers, times as seconds since 1970 (UTC)."""

    order: dict[str, np.ndarray]
    invoice: dict[str, np.ndarray]
    payment: dict[str, np.ndarray]

    @property
    def order_count(self) -> int:
        return len(self.order["id"])


@dataclass(frozen=True)
class _Plan:
    """Per buying customer: what the purchase process drew, before dates and amounts."""

    positions: np.ndarray  # into Customers
    first_day: np.ndarray
    age_weeks: np.ndarray  # from the first purchase to today
    arrivals: np.ndarray  # purchases in (first, today] had they never dropped out
    repeats: np.ndarray  # repeat purchases made before dropping out
    kept: np.ndarray  # purchases kept after thinning to the total, first included
    spend_rate: np.ndarray
    scale: float


def day_number(value) -> int:
    """Days since 1970-01-01 of a date."""
    return int(np.datetime64(value, "D").astype(np.int64))


def expected_purchases(rate: np.ndarray, dropout: np.ndarray, age_weeks: np.ndarray) -> np.ndarray:
    """BG/NBD: expected purchases of customers with these λ, p and ages, the first included."""
    return 1.0 + -np.expm1(-rate * dropout * age_weeks) / dropout


def _draw(rng, model: PurchaseModel, scale: float, is_organisation: np.ndarray):
    size = len(is_organisation)
    rate = rng.gamma(model.r, scale / model.alpha, size)
    rate = np.where(is_organisation, rate * ORGANISATION_RATE, rate)
    dropout = rng.beta(model.a, model.b * scale, size)
    # A dropout of exactly 0 (possible in floating point for tiny a) would never end.
    return rate, np.maximum(dropout, 1e-9)


def _find_scale(
    seed: int, model: PurchaseModel, is_organisation, age_weeks, target: float
) -> float:
    """The factor on rates and on b at which the expected purchases of these customers come
    to ``target``, from a sample of them with the same random numbers at every step."""
    sample = np.random.default_rng([seed, 0]).permutation(len(age_weeks))[:50_000]
    weight = len(age_weeks) / max(len(sample), 1)

    def expected(scale: float) -> float:
        rng = np.random.default_rng([seed, 1])
        rate, dropout = _draw(rng, model, scale, is_organisation[sample])
        return weight * float(expected_purchases(rate, dropout, age_weeks[sample]).sum())

    low, high = math.log(1 / 64), math.log(4096)
    if expected(math.exp(low)) >= target:
        return math.exp(low)
    for _ in range(40):
        middle = (low + high) / 2
        if expected(math.exp(middle)) < target:
            low = middle
        else:
            high = middle
    return math.exp(high)


def _plan(customers: Customers, *, total: int, today: int, seed: int, model) -> _Plan:
    rng = np.random.default_rng([seed, 2])
    positions = np.flatnonzero(customers.buys)
    is_org = customers.is_organisation[positions]
    since = np.clip(customers.since[positions], today - HISTORY_DAYS, today)
    waited = np.minimum(
        rng.exponential(FIRST_PURCHASE_DAYS, len(positions)),
        rng.random(len(positions)) * (today - since),
    )
    first_day = since + waited.astype(np.int64)
    age_weeks = (today - first_day) / 7.0
    scale = _find_scale(seed, model, is_org, age_weeks, total * OVERSHOOT)
    while True:
        rate, dropout = _draw(rng, model, scale, is_org)
        arrivals = rng.poisson(rate * age_weeks)
        repeats = np.minimum(arrivals, rng.geometric(dropout))
        if repeats.sum() + len(positions) >= total or scale > 1e6:
            break
        scale *= 1.25  # rarely: a draw short of the total; draw again with more purchases
    made = 1 + repeats
    kept = rng.multivariate_hypergeometric(made, total) if made.sum() > total else made
    spend_rate = rng.gamma(model.spend_q, 1.0 / model.spend_v, len(positions))
    return _Plan(positions, first_day, age_weeks, arrivals, repeats, kept, spend_rate, scale)


def _grouped_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group of ``counts`` consecutive values."""
    total = np.cumsum(values)
    ends = np.cumsum(counts)
    before = np.concatenate(([0.0], total))[ends - counts]
    return total - np.repeat(before, counts)


def _choice(rng, weights, size: int) -> np.ndarray:
    cumulative = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")


def _by_party(rng, is_org: np.ndarray, weights: dict) -> np.ndarray:
    drawn = _choice(rng, weights[False], len(is_org))
    return np.where(is_org, _choice(rng, weights[True], len(is_org)), drawn)


def _block(
    customers: Customers,
    plan: _Plan,
    part: slice,
    *,
    rng,
    today: int,
    now_seconds: int,
    first_ids: dict[str, int],
    model: PurchaseModel,
) -> OrderBlock:
    positions = plan.positions[part]
    buyers = len(positions)
    repeats, arrivals = plan.repeats[part], plan.arrivals[part]
    made, kept = 1 + repeats, plan.kept[part]
    is_org = customers.is_organisation[positions]

    # The first x of n arrivals in (0, T]: with S_k the sums of exponential gaps, the k-th is
    # T·S_k / S_(n+1), and S_(n+1) is S_x plus a Gamma(n − x + 1) remainder.
    sums = _grouped_cumsum(rng.standard_exponential(int(repeats.sum())), repeats)
    has_repeats = repeats > 0
    last = np.zeros(buyers)
    last[has_repeats] = sums[np.cumsum(repeats)[has_repeats] - 1]
    remainder = rng.standard_gamma(np.maximum(arrivals - repeats + 1, 1).astype(np.float64))
    repeat_weeks = (
        np.repeat(plan.age_weeks[part], repeats) * sums / np.repeat(last + remainder, repeats)
    )
    owner = np.repeat(np.arange(buyers), made)
    starts = np.cumsum(made) - made
    weeks = np.zeros(len(owner))
    is_repeat = np.ones(len(owner), dtype=bool)
    is_repeat[starts] = False
    weeks[is_repeat] = repeat_weeks

    # Thinning to the total: keep a random ``kept`` of each customer's purchases.
    if kept.sum() < made.sum():
        keys = rng.random(len(owner))
        order = np.lexsort((keys, owner))
        rank = np.empty(len(owner), dtype=np.int64)
        rank[order] = np.arange(len(owner)) - starts[owner[order]]
        keep = rank < kept[owner]
        owner, weeks = owner[keep], weeks[keep]
    count = len(owner)

    day = np.minimum(plan.first_day[part][owner] + (weeks * 7).astype(np.int64), today)
    org = is_org[owner]
    unit = np.where(org, ORGANISATION_SPEND_UNIT, PERSON_SPEND_UNIT)
    spend = rng.standard_gamma(model.spend_p, count) / plan.spend_rate[part][owner] * unit
    amount = np.maximum(np.rint(spend * 100), 100).astype(np.int64)
    margin_share = MARGIN_LOW + (MARGIN_HIGH - MARGIN_LOW) * rng.beta(3.0, 3.0, count)
    cost = np.rint(amount * (1 - margin_share)).astype(np.int64)

    preferred = _by_party(rng, is_org, CHANNEL_WEIGHTS)[owner]
    channel = np.where(
        rng.random(count) < PREFERRED_CHANNEL_SHARE, preferred, _by_party(rng, org, CHANNEL_WEIGHTS)
    )
    age_days = today - day
    status = np.select(
        [age_days < 2, age_days < 5, age_days < 12], [PLACED, PAID, SHIPPED], COMPLETED
    )
    roll = rng.random(count)
    status = np.where(roll < REFUNDED_SHARE, REFUNDED, status)
    status = np.where(
        (roll >= REFUNDED_SHARE) & (roll < REFUNDED_SHARE + CANCELLED_SHARE), CANCELLED, status
    )
    # Orders are entered during the working day in China (01:00–11:00 UTC), never after now.
    created_at = np.minimum(
        day * 86400 + 3600 + (rng.random(count) * 36000).astype(np.int64), now_seconds
    )
    customer_ids = customers.ids[positions][owner]
    created_by = customers.created_by[positions][owner]
    order_ids = first_ids["order"] + np.arange(count, dtype=np.int64)

    # Invoices for some purchases, due 30 days after issue.
    purchase = status < REFUNDED
    invoiced = purchase & (
        rng.random(count) < np.where(org, INVOICED_SHARE[True], INVOICED_SHARE[False])
    )
    billed = np.flatnonzero(invoiced)
    issued = np.minimum(day[billed] + rng.integers(0, 4, len(billed)), today)
    due = issued + PAYMENT_TERMS_DAYS
    behaviour = rng.random(len(billed))
    on_time = issued + rng.integers(0, PAYMENT_TERMS_DAYS + 1, len(billed))
    late = due + 1 + np.minimum(rng.exponential(20.0, len(billed)), 180).astype(np.int64)
    paid_on = np.where(behaviour < ON_TIME_SHARE, on_time, late)
    paid = (behaviour < ON_TIME_SHARE + LATE_SHARE) & (paid_on <= today)
    invoice_ids = first_ids["invoice"] + np.arange(len(billed), dtype=np.int64)
    invoice_created = np.minimum(issued * 86400 + 3600, now_seconds)

    settled = np.flatnonzero(paid)
    payment_days = paid_on[settled]
    methods = _by_party(rng, org[billed][settled], METHOD_WEIGHTS)
    return OrderBlock(
        order={
            "id": order_ids,
            "customer_id": customer_ids,
            "ordered_on": day,
            "amount": amount,
            "cost": cost,
            "gross_margin": amount - cost,
            "channel": channel,
            "status": status,
            "created_by_id": created_by,
            "created_at": created_at,
        },
        invoice={
            "id": invoice_ids,
            "customer_id": customer_ids[billed],
            "order_id": order_ids[billed],
            "issued_on": issued,
            "due_on": due,
            "amount": amount[billed],
            "status": paid.astype(np.int64),
            "created_by_id": created_by[billed],
            "created_at": invoice_created,
        },
        payment={
            "id": first_ids["payment"] + np.arange(len(settled), dtype=np.int64),
            "invoice_id": invoice_ids[settled],
            "paid_on": payment_days,
            "amount": amount[billed][settled],
            "method": methods,
            "created_by_id": created_by[billed][settled],
            "created_at": np.minimum(payment_days * 86400 + 7200, now_seconds),
        },
    )


def generate_orders(
    customers: Customers,
    *,
    total: int,
    seed: int,
    today: int,
    now_seconds: int,
    first_ids: dict[str, int],
    model: PurchaseModel = CDNOW,
    block_buyers: int = BLOCK_BUYERS,
) -> Iterator[OrderBlock]:
    """``total`` orders (fewer only when there is nobody to buy) for ``customers``, in blocks
    of consecutive buying customers; ids are handed out from ``first_ids`` per table."""
    if total <= 0 or not customers.buys.any():
        return
    plan = _plan(customers, total=total, today=today, seed=seed, model=model)
    next_ids = dict(first_ids)
    for number, start in enumerate(range(0, len(plan.positions), block_buyers)):
        block = _block(
            customers,
            plan,
            slice(start, start + block_buyers),
            rng=np.random.default_rng([seed, 3, number]),
            today=today,
            now_seconds=now_seconds,
            first_ids=next_ids,
            model=model,
        )
        for table in ORDER_COLUMNS:
            next_ids[table] += len(getattr(block, table)["id"])
        yield block


def _dates(days: np.ndarray) -> list:
    return days.astype("datetime64[D]").tolist()


def _times(seconds: np.ndarray) -> list:
    # Naive datetimes in UTC: Django's connections run in UTC, so both databases store them as
    # the UTC instants they are.
    return seconds.astype("datetime64[s]").tolist()


def _money(cents: np.ndarray) -> list:
    # The float nearest a whole number of cents prints as exactly those cents.
    return (cents / 100).tolist()


def _users(ids: np.ndarray) -> list:
    values = ids.astype(object)
    values[ids == 0] = None
    return values.tolist()


def block_rows(block: OrderBlock) -> dict[str, list[tuple]]:
    """The block's rows as tuples of Python values in the column order of
    :data:`ORDER_COLUMNS`."""
    order, invoice, payment = block.order, block.invoice, block.payment
    count = len(order["id"])
    created = _times(order["created_at"])
    orders = list(
        zip(
            order["id"].tolist(),
            order["customer_id"].tolist(),
            [None] * count,  # external_id: made here, not imported
            _dates(order["ordered_on"]),
            _money(order["amount"]),
            _money(order["cost"]),
            _money(order["gross_margin"]),
            ["CNY"] * count,
            CHANNELS[order["channel"]].tolist(),
            STATUSES[order["status"]].tolist(),
            [""] * count,
            _users(order["created_by_id"]),
            created,
            created,
            [1] * count,
            [""] * count,  # approval: demo orders were never held for one
            [""] * count,
            [None] * count,
            [None] * count,
            strict=True,
        )
    )
    invoice_ids = invoice["id"].tolist()
    invoices = list(
        zip(
            invoice_ids,
            invoice["customer_id"].tolist(),
            invoice["order_id"].tolist(),
            [f"DEMO-{pk:09d}" for pk in invoice_ids],
            _dates(invoice["issued_on"]),
            _dates(invoice["due_on"]),
            _money(invoice["amount"]),
            ["CNY"] * len(invoice_ids),
            INVOICE_STATUSES[invoice["status"]].tolist(),
            _users(invoice["created_by_id"]),
            _times(invoice["created_at"]),
            strict=True,
        )
    )
    payments = list(
        zip(
            payment["id"].tolist(),
            payment["invoice_id"].tolist(),
            _dates(payment["paid_on"]),
            _money(payment["amount"]),
            METHODS[payment["method"]].tolist(),
            _users(payment["created_by_id"]),
            _times(payment["created_at"]),
            strict=True,
        )
    )
    return {"order": orders, "invoice": invoices, "payment": payments}
