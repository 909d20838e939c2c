"""The analytics refresh: orders, contacts and invoices in, one new run of customer value out.

The work is split three ways, each doing what it is good at:

1. the database aggregates: one ``GROUP BY`` per source (orders, interactions, invoices,
   service desk tickets, satisfaction surveys) turns millions of rows into one row per customer
   (:func:`_aggregate_orders` and friends);
2. numpy and the pure modules (``clv/`` and ``value/``) compute every figure, one array
   element per customer (:func:`compute_values`);
3. the rows of the new run are streamed in with ``COPY`` (plain batches on SQLite), and the
   run becomes the current one in a single short transaction (:func:`_swap`).

Readers only ever look at the current run, so they see either the old results or the new
ones. When anything fails, the run is marked failed, its rows are deleted and the previous
current run stays as it was.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from guanxi.analytics.clv import bgnbd
from guanxi.analytics.clv.lifetime_value import (
    MIN_REPEAT_BUYERS,
    SpendModel,
    customer_value,
    fit_spend_model,
)
from guanxi.analytics.value import churn, credit, lifecycle, profitability, rfm, tiers
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record_many, diff_values
from guanxi.core import bulk
from guanxi.core.arrays import day_number_sql, days_to_dates, fetch_columns
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Invoice, Order, Payment
from guanxi.service.models import SatisfactionSurvey, Ticket

from .models import (
    ORDER_HANDLED,
    TICKET_HANDLED,
    AnalyticsRun,
    ChurnFollowUp,
    CustomerValue,
    TierChange,
    ValueSettings,
)
from .services import follow_ups_close_internal

logger = logging.getLogger(__name__)

KEEP_SUCCEEDED_RUNS = 3
# A run still "running" after this long was abandoned: its process was killed before it could
# record the failure (a refresh of a million customers takes about a minute).
ABANDONED_AFTER = dt.timedelta(hours=6)

# The steps a refresh reports to ``progress``, in order.
STEPS = ("aggregate", "compute", "write", "swap", "statistics", "prune")

Progress = Callable[[str], None]


def analytics_refresh(
    *, as_of: dt.date | None = None, progress: Progress | None = None
) -> AnalyticsRun:
    """Compute every customer's value as of ``as_of`` (default today) into a new run and make
    it the current one. Raises whatever went wrong, after marking the run failed; the previous
    current run is then still current."""
    as_of = as_of or timezone.localdate()
    value_settings = ValueSettings.load()
    with transaction.atomic():
        run = AnalyticsRun.objects.create(as_of=as_of, status=AnalyticsRun.Status.RUNNING)
    timings: dict[str, float] = {}

    def step(name: str):
        if progress:
            progress(name)
        return _Timer(timings, name)

    try:
        with step("aggregate"):
            data = aggregate(
                as_of=as_of,
                currency=value_settings.currency,
                praise_window_days=value_settings.lifecycle_cycle_days,
            )
        with step("compute"):
            values = compute_values(data, value_settings)
            values.figures["settings"] = _settings_figures(value_settings)
            values.figures["seconds"] = timings
        with step("write"):
            _write_values(run, values)
        with step("swap"):
            _swap(run, values)
    except BaseException as error:
        _fail(run, error)
        raise
    # The new run is current from here on: nothing below may mark it failed.
    try:
        with step("statistics"):
            _analyze_swapped_tables()
    except Exception:
        logger.exception("analysing the tier changes and follow-ups failed after a refresh")
    try:
        with step("prune"):
            _prune()
    except Exception:
        logger.exception("pruning old analytics runs failed; the refresh itself succeeded")
    run.refresh_from_db()
    return run


class _Timer:
    def __init__(self, timings: dict[str, float], name: str):
        self.timings, self.name = timings, name

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.timings[self.name] = round(time.perf_counter() - self.started, 3)
        return False


def _fail(run: AnalyticsRun, error: BaseException) -> None:
    """Record the failure and take the run's partial rows away, in its own transaction (the
    refresh's own transaction, if the error came from inside one, is already rolled back)."""
    message = f"{type(error).__name__}: {error}"
    logger.error("analytics refresh %s failed", run.pk, exc_info=error)
    with transaction.atomic():
        CustomerValue.objects.filter(run=run).delete()
        AnalyticsRun.objects.filter(pk=run.pk).update(
            status=AnalyticsRun.Status.FAILED,
            is_current=False,
            finished_at=timezone.now(),
            error=message[:10_000],
        )


# --- 1. Aggregation in SQL --------------------------------------------------------------


@dataclass
class Aggregates:
    """One element per customer (not deleted), customers in ascending id order."""

    as_of: dt.date
    customer_ids: np.ndarray
    owner_ids: np.ndarray  # 0 for unowned customers
    internal: np.ndarray  # bool: the company's own accounts (kind "internal")
    purchase_days: np.ndarray
    first_purchase: np.ndarray  # datetime64[D], NaT without purchases
    last_purchase: np.ndarray
    total_amount: np.ndarray
    first_day_amount: np.ndarray  # spent on the first purchase day
    gross_margin: np.ndarray  # over the purchases whose margin is known
    # The orders in the settings currency, refunds and cancellations included: the orders the
    # money figures count (see the cost to serve in compute_values).
    orders_handled: np.ndarray
    # The purchase days again over completed orders in every currency, for the churn warnings
    # (see guanxi.analytics.value.churn): whether a customer is still buying, not what they spent.
    any_purchase_days: np.ndarray
    any_first_purchase: np.ndarray
    any_last_purchase: np.ndarray
    any_second_purchase: np.ndarray  # the purchase day after the first; NaT with fewer than two
    any_previous_purchase: np.ndarray  # the purchase day before the last; NaT with fewer than two
    # Completed orders in other currencies than the settings': a customer with any has money
    # figures that hold only part of what they bought.
    other_currency_orders: np.ndarray
    interactions: dict[str, np.ndarray] = field(default_factory=dict)  # per channel
    invoices_due: np.ndarray | None = None  # invoices whose due date has come
    invoices_on_time: np.ndarray | None = None  # ... paid in full by it
    max_days_overdue: np.ndarray | None = None
    outstanding: np.ndarray | None = None
    # Service desk tickets opened up to the end of the as_of day, duplicates merged into
    # another left out: the tickets the cost to serve charges.
    tickets_handled: np.ndarray | None = None
    complaints: np.ndarray | None = None  # opened in the complaint window
    open_complaints: np.ndarray | None = None  # ... and not resolved yet
    # Praise tickets at most a purchase cycle old on the as_of day (see the lifecycle in
    # compute_values).
    praise: np.ndarray | None = None
    latest_survey_score: np.ndarray | None = None  # in the survey window; NaN without one


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _days_between(later: str, earlier: str) -> str:
    """SQL for the whole days from one date expression to another."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _date_param() -> str:
    return "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s"


def _date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def _positions(customer_ids: np.ndarray, found) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``customer_ids`` (sorted) of the ids ``found``, and a mask of which of them
    are there at all (rows of deleted customers, for instance, are not)."""
    found = np.asarray(found, dtype=np.int64)
    if len(customer_ids) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(len(found), dtype=bool)
    where = np.minimum(np.searchsorted(customer_ids, found), len(customer_ids) - 1)
    known = customer_ids[where] == found
    return where[known], known


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _columns(rows: list[tuple], count: int) -> list[list]:
    if not rows:
        return [[] for _ in range(count)]
    return [list(column) for column in zip(*rows, strict=True)]


def _scatter(positions: np.ndarray, values, size: int, fill, dtype) -> np.ndarray:
    out = np.full(size, fill, dtype=dtype)
    if len(positions):
        out[positions] = np.asarray(values, dtype=dtype)
    return out


def aggregate(*, as_of: dt.date, currency: str, praise_window_days: int) -> Aggregates:
    """Read everything the figures need as one row per customer: a ``GROUP BY`` query per
    source and a plain scan of the customers, each read straight into arrays
    (:func:`guanxi.core.arrays.fetch_columns`). Praise counts when it was opened at most
    ``praise_window_days`` days before ``as_of``, or on that day."""
    with _jit_compiled():
        return _aggregate(as_of=as_of, currency=currency, praise_window_days=praise_window_days)


@contextmanager
def _jit_compiled():
    """PostgreSQL's JIT compilation for these queries only (the connections have it off, see
    ``settings/base.py``): over ten million orders it saves more than it costs, 19-28 s with it
    against 27-33 s without in one series of runs."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


def _aggregate(*, as_of: dt.date, currency: str, praise_window_days: int) -> Aggregates:
    ids, owners, internal = fetch_columns(
        f"SELECT CAST(id AS BIGINT), CAST(COALESCE(owner_id, 0) AS BIGINT), "  # noqa: S608
        f"CAST(CASE WHEN kind = %s THEN 1 ELSE 0 END AS BIGINT) "
        f"FROM {_table(Customer)} WHERE deleted_at IS NULL ORDER BY id",
        [Customer.Kind.INTERNAL.value],
        "iii",
    )
    customer_ids = ids
    n = len(customer_ids)

    def positions(column) -> tuple[np.ndarray, np.ndarray]:
        return _positions(customer_ids, column)

    data = Aggregates(
        as_of=as_of,
        customer_ids=customer_ids,
        owner_ids=owners,
        internal=internal.astype(bool),
        **_aggregate_orders(as_of, currency, n, positions),
    )
    data.interactions = _aggregate_interactions(as_of, n, positions)
    for name, values in _aggregate_invoices(as_of, currency, n, positions).items():
        setattr(data, name, values)
    for name, values in _aggregate_service(as_of, praise_window_days, n, positions).items():
        setattr(data, name, values)
    return data


def _aggregate_orders(as_of, currency, n, positions) -> dict[str, np.ndarray]:
    # One pass over the orders up to as_of gives the per-customer counts and sums; joining that
    # back to the orders once more gives what needs the first and last day (the first day's
    # spend, for the mean *repeat* purchase; the purchase day before the last, for the
    # purchase cycle; and the one after the first, for how long a second purchase takes). Both
    # are hash aggregates; no sort of the order table. The "any_" columns count the completed
    # orders of every currency, for the churn warnings and the purchase dates, recency and
    # lifecycle shown beside them (the wait for a second purchase serves the warnings alone, so
    # it is counted that way only).
    not_purchases = list(Order.NOT_PURCHASES)
    marks = ", ".join(["%s"] * len(not_purchases))
    completed = f"o.status NOT IN ({marks})"
    purchase = f"{completed} AND o.currency = %s"
    purchase_params = [*not_purchases, currency]
    as_of_param = _date_param()
    sql = f"""
        WITH per_customer AS (
            SELECT o.customer_id,
                   COUNT(DISTINCT CASE WHEN {purchase} THEN o.ordered_on END) AS days,
                   MIN(CASE WHEN {purchase} THEN o.ordered_on END) AS first_day,
                   MAX(CASE WHEN {purchase} THEN o.ordered_on END) AS last_day,
                   CAST(SUM(CASE WHEN {purchase} THEN o.amount ELSE 0 END)
                        AS DOUBLE PRECISION) AS total,
                   CAST(SUM(CASE WHEN {purchase} THEN COALESCE(o.gross_margin, 0) ELSE 0 END)
                        AS DOUBLE PRECISION) AS margin,
                   COUNT(CASE WHEN o.currency = %s THEN 1 END) AS handled,
                   COUNT(DISTINCT CASE WHEN {completed} THEN o.ordered_on END) AS any_days,
                   MIN(CASE WHEN {completed} THEN o.ordered_on END) AS any_first_day,
                   MAX(CASE WHEN {completed} THEN o.ordered_on END) AS any_last_day,
                   COUNT(CASE WHEN {completed} AND o.currency <> %s THEN 1 END)
                       AS other_currency_orders
            FROM {_table(Order)} o
            WHERE o.ordered_on <= {as_of_param}
            GROUP BY o.customer_id
        ), around_ends AS (
            SELECT o.customer_id,
                   CAST(SUM(CASE WHEN {purchase} AND o.ordered_on = p.first_day
                                 THEN o.amount ELSE 0 END)
                        AS DOUBLE PRECISION) AS first_day_total,
                   MIN(CASE WHEN o.ordered_on > p.any_first_day
                            THEN o.ordered_on END) AS any_second_day,
                   MAX(CASE WHEN o.ordered_on < p.any_last_day
                            THEN o.ordered_on END) AS any_previous_day
            FROM {_table(Order)} o
            JOIN per_customer p ON p.customer_id = o.customer_id
            WHERE {completed} AND o.ordered_on <= {as_of_param}
            GROUP BY o.customer_id
        )
        SELECT CAST(p.customer_id AS BIGINT), CAST(p.days AS BIGINT),
               {day_number_sql("p.first_day")}, {day_number_sql("p.last_day")},
               CAST(p.total AS DOUBLE PRECISION), CAST(p.margin AS DOUBLE PRECISION),
               CAST(p.handled AS BIGINT),
               CAST(COALESCE(e.first_day_total, 0) AS DOUBLE PRECISION),
               CAST(p.any_days AS BIGINT),
               {day_number_sql("p.any_first_day")}, {day_number_sql("p.any_last_day")},
               {day_number_sql("e.any_second_day")}, {day_number_sql("e.any_previous_day")},
               CAST(p.other_currency_orders AS BIGINT)
        FROM per_customer p LEFT JOIN around_ends e ON e.customer_id = p.customer_id
    """  # noqa: S608
    params = [
        *purchase_params * 5,
        currency,
        *not_purchases * 3,
        *not_purchases,
        currency,
        _date(as_of),
        *purchase_params,
        *not_purchases,
        _date(as_of),
    ]
    (
        ids,
        days,
        first,
        last,
        total,
        margin,
        handled,
        first_total,
        any_days,
        any_first,
        any_last,
        any_second,
        any_previous,
        other_orders,
    ) = fetch_columns(sql, params, "iiiiffifiiiiii")
    where, known = positions(ids)
    nat = np.datetime64("NaT")
    return {
        "purchase_days": _scatter(where, days[known], n, 0, np.int64),
        "first_purchase": _scatter(where, days_to_dates(first[known]), n, nat, "datetime64[D]"),
        "last_purchase": _scatter(where, days_to_dates(last[known]), n, nat, "datetime64[D]"),
        "total_amount": _scatter(where, total[known], n, 0.0, np.float64),
        "gross_margin": _scatter(where, margin[known], n, 0.0, np.float64),
        "orders_handled": _scatter(where, handled[known], n, 0, np.int64),
        "first_day_amount": _scatter(where, first_total[known], n, 0.0, np.float64),
        "any_purchase_days": _scatter(where, any_days[known], n, 0, np.int64),
        "any_first_purchase": _scatter(
            where, days_to_dates(any_first[known]), n, nat, "datetime64[D]"
        ),
        "any_last_purchase": _scatter(
            where, days_to_dates(any_last[known]), n, nat, "datetime64[D]"
        ),
        "any_second_purchase": _scatter(
            where, days_to_dates(any_second[known]), n, nat, "datetime64[D]"
        ),
        "any_previous_purchase": _scatter(
            where, days_to_dates(any_previous[known]), n, nat, "datetime64[D]"
        ),
        "other_currency_orders": _scatter(where, other_orders[known], n, 0, np.int64),
    }


def _aggregate_interactions(as_of, n, positions) -> dict[str, np.ndarray]:
    # Contacts up to the end of the as_of day in the site's time zone, counted per customer and
    # channel; the channel travels as its position in the list of channels (text would have to
    # be fetched row by row), a channel outside the list counting as "other".
    end = _day_start(as_of + dt.timedelta(days=1))
    channels = list(Interaction.Channel.values)
    other = channels.index(Interaction.Channel.OTHER)
    code = " ".join(f"WHEN %s THEN {i}" for i in range(len(channels)))
    ids, codes, counts = fetch_columns(
        f"SELECT CAST(customer_id AS BIGINT), CAST(CASE channel {code} ELSE {other} END AS BIGINT),"  # noqa: S608
        f" CAST(COUNT(*) AS BIGINT) FROM {_table(Interaction)} WHERE occurred_at < %s"
        " GROUP BY customer_id, channel",
        [*channels, connection.ops.adapt_datetimefield_value(end)],
        "iii",
    )
    where, known = positions(ids)
    codes, counts = codes[known], counts[known]
    result = {}
    for i in np.unique(codes):
        mask = codes == i
        # (np.add.at: "other" may arrive in several rows per customer.)
        totals = np.zeros(n, dtype=np.int64)
        np.add.at(totals, where[mask], counts[mask])
        result[channels[int(i)]] = totals
    return result


def _aggregate_invoices(as_of, currency, n, positions) -> dict[str, np.ndarray]:
    # Payments are first summed per invoice (up to as_of; with what was paid by the due date
    # and the day of the last payment), then invoices per customer. An invoice paid in full
    # was late by the days from its due date to its last payment; one still owing is late by
    # the days from its due date to as_of.
    as_of_param = _date_param()
    paid = "COALESCE(p.paid, 0)"
    sql = f"""
        WITH paid AS (
            SELECT pay.invoice_id,
                   SUM(pay.amount) AS paid,
                   SUM(CASE WHEN pay.paid_on <= inv.due_on THEN pay.amount ELSE 0 END)
                       AS paid_by_due,
                   MAX(pay.paid_on) AS last_paid
            FROM {_table(Payment)} pay
            JOIN {_table(Invoice)} inv ON inv.id = pay.invoice_id
            WHERE pay.paid_on <= {as_of_param}
            GROUP BY pay.invoice_id
        )
        SELECT CAST(i.customer_id AS BIGINT),
               CAST(SUM(CASE WHEN i.due_on <= {as_of_param} THEN 1 ELSE 0 END) AS BIGINT),
               CAST(SUM(CASE WHEN i.due_on <= {as_of_param}
                         AND COALESCE(p.paid_by_due, 0) >= i.amount THEN 1 ELSE 0 END)
                    AS BIGINT),
               CAST(COALESCE(MAX(CASE WHEN {paid} >= i.amount
                        THEN {_days_between("p.last_paid", "i.due_on")}
                        ELSE {_days_between(as_of_param, "i.due_on")} END), 0) AS BIGINT),
               CAST(SUM(CASE WHEN i.amount > {paid} THEN i.amount - {paid} ELSE 0 END)
                    AS DOUBLE PRECISION)
        FROM {_table(Invoice)} i LEFT JOIN paid p ON p.invoice_id = i.id
        WHERE i.status <> %s AND i.currency = %s AND i.issued_on <= {as_of_param}
        GROUP BY i.customer_id
    """  # noqa: S608
    day = _date(as_of)
    params = [day, day, day, day, Invoice.Status.VOID.value, currency, day]
    ids, due, on_time, worst, owed = fetch_columns(sql, params, "iiiif")
    where, known = positions(ids)
    return {
        "invoices_due": _scatter(where, due[known], n, 0, np.int64),
        "invoices_on_time": _scatter(where, on_time[known], n, 0, np.int64),
        # A payment before the due date gives a negative delay: that is 0 days overdue.
        "max_days_overdue": _scatter(
            where, np.maximum(worst[known].astype(np.float64), 0), n, 0.0, np.float64
        ),
        "outstanding": _scatter(where, owed[known], n, 0.0, np.float64),
    }


def _day_start(day: dt.date) -> dt.datetime:
    """The first moment of a day in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _start_of_window(as_of: dt.date, days: int) -> dt.datetime:
    """The first moment of a window of ``days`` days ending with the as_of day."""
    return _day_start(as_of - dt.timedelta(days=days - 1))


def _praise_since(as_of: dt.date, praise_window_days: int) -> dt.datetime:
    """The first moment of the day ``praise_window_days`` days before the as_of day: praise
    opened from then on is at most that many days old, as a last purchase that keeps a customer
    on a buying rung is at most a cycle old (``lifecycle_stages``), so praise sent the day of
    that purchase lasts as long as the rung does. A window reaching back past the calendar's
    first days, from a cycle set so long that nobody lapses, takes in every praise."""
    # The calendar's second day: the start of its first, in a time zone ahead of UTC, is a
    # moment before the calendar in UTC, which the database cannot be given.
    earliest = dt.date.min + dt.timedelta(days=1)
    if praise_window_days >= (as_of - earliest).days:
        return _day_start(earliest)
    return _day_start(as_of - dt.timedelta(days=praise_window_days))


def _aggregate_service(as_of, praise_window_days, n, positions) -> dict[str, np.ndarray]:
    # Two queries. One pass over the tickets opened up to the end of the as_of day (about 2 s
    # over a million) gives, per customer, the tickets handled, for the cost to serve and the
    # lifecycle's contact (counted over the same span as the contacts: every one up to as_of),
    # and of them the complaints opened in the complaint window with how many are not resolved
    # yet (their status now: a refresh as of an earlier day still sees today's status), and the
    # praise opened in the praise window, for the lifecycle's advocates. The other picks the
    # score of each customer's latest survey answered in the survey window by a window
    # function, so the surveys are read once. A duplicate merged into another ticket is neither
    # a ticket handled, nor a complaint or praise of its own: its conversation went on in the
    # one it was merged into, which counts. There is no spam among the tickets to leave out:
    # mail sent by machines (bounces, auto-replies, bulk mail) is never filed as one
    # (``guanxi.service.inbound``).
    end = connection.ops.adapt_datetimefield_value(_day_start(as_of + dt.timedelta(days=1)))
    complaints_from = connection.ops.adapt_datetimefield_value(
        _start_of_window(as_of, churn.COMPLAINT_WINDOW_DAYS)
    )
    surveys_from = connection.ops.adapt_datetimefield_value(
        _start_of_window(as_of, churn.SURVEY_WINDOW_DAYS)
    )
    praise_from = connection.ops.adapt_datetimefield_value(_praise_since(as_of, praise_window_days))
    still_open = [str(status) for status in Ticket.OPEN_STATUSES]
    marks = ", ".join(["%s"] * len(still_open))
    opened_since = "type = %s AND created_at >= %s"
    ids, handled, made, unresolved, praised = fetch_columns(
        f"SELECT CAST(customer_id AS BIGINT), CAST(COUNT(*) AS BIGINT),"  # noqa: S608
        f" CAST(SUM(CASE WHEN {opened_since} THEN 1 ELSE 0 END) AS BIGINT),"
        f" CAST(SUM(CASE WHEN {opened_since} AND status IN ({marks}) THEN 1 ELSE 0 END)"
        " AS BIGINT),"
        f" CAST(SUM(CASE WHEN {opened_since} THEN 1 ELSE 0 END) AS BIGINT)"
        f" FROM {_table(Ticket)} WHERE merged_into_id IS NULL AND created_at < %s"
        " GROUP BY customer_id",
        [
            Ticket.Type.COMPLAINT.value,
            complaints_from,
            Ticket.Type.COMPLAINT.value,
            complaints_from,
            *still_open,
            Ticket.Type.PRAISE.value,
            praise_from,
            end,
        ],
        "iiiii",
    )
    where, known = positions(ids)
    result = {
        "tickets_handled": _scatter(where, handled[known], n, 0, np.int64),
        "complaints": _scatter(where, made[known], n, 0, np.int64),
        "open_complaints": _scatter(where, unresolved[known], n, 0, np.int64),
        "praise": _scatter(where, praised[known], n, 0, np.int64),
    }
    ids, scores = fetch_columns(
        f"""
        SELECT CAST(customer_id AS BIGINT), CAST(score AS BIGINT) FROM (
            SELECT t.customer_id, s.score,
                   ROW_NUMBER() OVER (
                       PARTITION BY t.customer_id ORDER BY s.answered_at DESC, s.id DESC
                   ) AS latest
            FROM {_table(SatisfactionSurvey)} s
            JOIN {_table(Ticket)} t ON t.id = s.ticket_id
            WHERE s.score IS NOT NULL AND s.answered_at >= %s AND s.answered_at < %s
        ) answered
        WHERE latest = 1
        """,  # noqa: S608
        [surveys_from, end],
        "ii",
    )
    where, known = positions(ids)
    result["latest_survey_score"] = _scatter(where, scores[known], n, np.nan, np.float64)
    return result


# --- 2. The figures, in numpy ------------------------------------------------------------


@dataclass
class Values:
    """The computed columns of :class:`CustomerValue`, one element per customer."""

    customer_ids: np.ndarray
    owner_ids: np.ndarray
    columns: dict[str, np.ndarray]
    figures: dict


def _fit_models(frequency, recency, age, monetary) -> tuple[object, SpendModel | None, dict]:
    """Fit BG/NBD and Gamma-Gamma; the purchase fit if it can be used (or None), the spend
    model (None when there was too little to fit) and what happened.

    The purchase model is fitted on the distinct (frequency, recency, T) histories with their
    counts as weights: with ages in days a large base has far fewer distinct histories than
    customers, and the likelihood is the same.
    """
    figures: dict = {"bgnbd": {"converged": False}, "gamma_gamma": {"converged": False}}
    purchases = None
    if len(frequency) == 0:
        figures["bgnbd"]["message"] = figures["gamma_gamma"]["message"] = "no customer has bought"
        return None, None, figures
    repeat_buyers = int(np.count_nonzero(frequency > 0))
    if repeat_buyers < MIN_REPEAT_BUYERS:
        figures["bgnbd"]["message"] = figures["gamma_gamma"]["message"] = (
            f"{repeat_buyers} customers bought more than once; the models need at least "
            f"{MIN_REPEAT_BUYERS}"
        )
        return None, None, figures
    try:
        # The three are whole days: one int64 key per customer makes the grouping a plain
        # integer sort (np.unique over rows is ten times slower).
        span = int(age.max()) + 1
        keys = (frequency.astype(np.int64) * span + recency.astype(np.int64)) * span + age.astype(
            np.int64
        )
        distinct, counts = np.unique(keys, return_counts=True)
        fitted = bgnbd.fit(
            (distinct // (span * span)).astype(np.float64),
            (distinct // span % span).astype(np.float64),
            (distinct % span).astype(np.float64),
            weights=counts,
        )
        figures["bgnbd"] = {
            **_finite(fitted.parameters.as_dict()),
            "log_likelihood": _finite_value(fitted.log_likelihood),
            "converged": fitted.converged,
            "message": fitted.diagnostics.message,
            "iterations": fitted.diagnostics.iterations,
        }
        if fitted.converged:
            purchases = fitted
    except Exception as error:  # a failed fit leaves the predictions empty, not the refresh
        figures["bgnbd"] = {"converged": False, "message": f"{type(error).__name__}: {error}"}
    model = fit_spend_model(frequency, monetary)
    if model.fitted is None:
        figures["gamma_gamma"] = {"converged": False, "message": model.problem}
    else:
        fitted = model.fitted
        figures["gamma_gamma"] = {
            **_finite(fitted.parameters.as_dict()),
            "log_likelihood": _finite_value(fitted.log_likelihood),
            "converged": model.converged,
            "message": model.problem or fitted.diagnostics.message,
            "iterations": fitted.diagnostics.iterations,
        }
    return purchases, model, figures


def _finite_value(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {name: _finite_value(value) for name, value in values.items()}


def compute_values(data: Aggregates, value_settings: ValueSettings) -> Values:
    """Every figure of every customer, from the aggregates and the settings."""
    n = len(data.customer_ids)
    as_of = np.datetime64(data.as_of, "D")
    bought = data.purchase_days > 0
    buyers = np.flatnonzero(bought)
    nan = np.full(n, np.nan)

    # Days, as the models count them: frequency is repeat purchase days, recency the days
    # from the first purchase to the last, T the days from the first purchase to as_of.
    first = data.first_purchase[buyers]
    last = data.last_purchase[buyers]
    frequency = (data.purchase_days[buyers] - 1).astype(np.float64)
    recency = (last - first).astype(np.float64)
    age = (as_of - first).astype(np.float64)
    repeat_spend = data.total_amount[buyers] - data.first_day_amount[buyers]
    monetary = np.divide(repeat_spend, frequency, out=np.zeros_like(frequency), where=frequency > 0)
    # The purchase dates shown, the days since the last and the first purchase, RFM's recency
    # and the lifecycle count completed orders in every currency, as the churn warnings do: a
    # customer page must not show a long silence beside no warning. Every purchase in the
    # settings currency is one of these, so every buyer above has them.
    any_buyers = np.flatnonzero(data.any_purchase_days > 0)
    days_since_last = nan.copy()
    days_since_last[any_buyers] = (as_of - data.any_last_purchase[any_buyers]).astype(np.float64)
    tenure = nan.copy()
    tenure[any_buyers] = (as_of - data.any_first_purchase[any_buyers]).astype(np.float64)
    monetary_value = np.zeros(n)
    monetary_value[buyers] = monetary

    # Lifetime value models, on the buyers.
    purchases, spend, fit_figures = _fit_models(frequency, recency, age, monetary)
    p_alive, expected_purchases, expected_spend, clv = (
        nan.copy(),
        nan.copy(),
        nan.copy(),
        nan.copy(),
    )
    # Which spend model values the purchases: the fitted Gamma-Gamma, or, when it has no
    # finite maximum (spend barely differs between customers), its limit for that case, the
    # mean of all repeat purchases. Without any lifetime values the tiers and the churn's value
    # at risk would fall back to the past profit, for every customer.
    spend_model = spend.name if spend is not None else None
    if purchases is not None:
        predicted = customer_value(
            purchases.parameters,
            spend.parameters if spend is not None else None,
            frequency,
            recency,
            age,
            monetary,
            months=value_settings.clv_horizon_months,
            monthly_discount_rate=value_settings.monthly_discount_rate,
        )
        p_alive[buyers] = predicted.probability_alive
        expected_purchases[buyers] = predicted.expected_purchases
        expected_spend[buyers] = predicted.expected_average_spend
        clv[buyers] = predicted.lifetime_value
    else:
        spend_model = None
    has_clv = bool(len(buyers)) and not np.isnan(clv[buyers]).any()

    # RFM: recency in every currency (above); frequency is the number of purchase days and
    # money the total spent, both in the settings currency, so whoever bought only in other
    # currencies has no scores, as the figures hold no money of theirs. Their segment says so:
    # "none" reads "No purchases", beside the purchase dates and the stage that show theirs.
    scores = rfm.rfm_scores(days_since_last, data.purchase_days, data.total_amount)
    segments = rfm.rfm_segments(scores.r, scores.f, scores.m)
    segments[(data.purchase_days == 0) & (data.any_purchase_days > 0)] = rfm.OTHER_CURRENCIES

    # Cost to serve, at the unit costs: every contact, by channel, every service desk ticket
    # handled, and every order handled in the settings currency (refunds and cancellations
    # included), the one currency the margin counts, and with it the profit, the tiers and the
    # value at risk: charging the handling of other currencies' orders against a margin that
    # holds none of them made a customer who bought in both look less profitable than their
    # business in the settings currency is, even lead ("costs more than they bring"), and made
    # lead whoever bought in other currencies only, for purchases the figures leave out.
    # Contacts and tickets count whole: a call, a visit or a complaint serves the customer, not
    # an order, and splitting it by currency would take the amounts the figures do not convert.
    # The profit of a customer who bought elsewhere too is thus their settings-currency business
    # bearing every contact and ticket, a part of what they are worth, as their value at risk
    # is (marked partial below).
    # A ticket is charged on top of the contacts: the desk's work on it (its replies, notes and
    # emails) writes no interaction, so nothing of it is counted twice. Every kind of ticket
    # costs the same: what an agent spends goes with the conversation rather than with its
    # type, which is often a guess made when the request comes in (a praise costs little, but
    # still has to be read, answered and closed). Settings that price no ticket yet (unit costs
    # set before tickets were charged) leave them out and list them among the activities
    # without a unit cost.
    unit_costs = {str(k): float(v) for k, v in (value_settings.unit_costs or {}).items()}
    activities = {
        **data.interactions,
        ORDER_HANDLED: data.orders_handled,
        TICKET_HANDLED: data.tickets_handled,
    }
    priced = {name: counts for name, counts in activities.items() if name in unit_costs}
    unpriced = sorted(set(activities) - set(priced))
    cost = profitability.cost_to_serve(priced, unit_costs) if priced else np.zeros(n)
    profit = profitability.profit(data.gross_margin, cost)

    # The pyramid ranks the buyers by lifetime value when the models gave one for every buyer,
    # since it looks forward, and otherwise by profit to date. Whoever loses money (negative
    # profit: cost to serve above margin) is lead either way, those who bought nothing in the
    # settings currency included; the others of them stay untiered. They are the prospects who
    # never bought and the customers who bought only in other currencies, whose purchases the
    # figures do not hold: the pages tell the two apart (``bought_only_in_other_currencies``).
    forward_value = np.where(np.isnan(clv), 0.0, clv)
    pareto = tiers.pareto_tiers(
        forward_value if has_clv else profit,
        gold_share=value_settings.gold_share,
        lead_share=value_settings.lead_share,
        ranked=bought,
        losing=profit < 0,
    )
    volume = tiers.volume_tiers(data.total_amount, data.purchase_days)
    quadrant = (
        tiers.value_quadrant(profit, forward_value) if has_clv else np.full(n, "", dtype="<U8")
    )

    # Lifecycle, by the purchases in every currency: the open cycle has two purchase days or
    # more exactly when the last two purchase days are at most a cycle apart (and the last is
    # recent enough, which lifecycle_stages checks itself).
    repeat_in_cycle = np.zeros(n, dtype=bool)
    repeaters = np.flatnonzero(data.any_purchase_days >= 2)
    gap_to_previous = data.any_last_purchase[repeaters] - data.any_previous_purchase[repeaters]
    repeat_in_cycle[repeaters] = (
        gap_to_previous.astype(np.int64) <= value_settings.lifecycle_cycle_days
    )
    # A customer has been in contact through a contact of any channel or a ticket with the
    # service desk, up to as_of: a prospect who only ever wrote to the desk is no longer a
    # suspect. A duplicate merged into another ticket is not counted of its own, as for the
    # cost to serve; the ticket it went into always belongs to the same customer.
    contacted = data.tickets_handled > 0
    for counts in data.interactions.values():
        contacted |= counts > 0
    # Advocacy: praise sent to the service desk in the last purchase cycle (the praise window
    # is the settings' cycle length, see analytics_refresh). A repeat buyer stays on the ladder's
    # buying rungs for one cycle after their last purchase, so praise of the same age speaks for
    # the same relationship; a shorter window, such as the complaints' 90 days, would drop a
    # customer who buys and praises once a year back to repeat purchase between visits, though
    # nothing has changed. Only a repeat buyer can be an advocate (lifecycle_stages decides
    # that): praise from anyone else leaves them where their purchases put them.
    stages = lifecycle.lifecycle_stages(
        contacted,
        data.any_purchase_days,
        repeat_in_cycle,
        data.praise > 0,
        days_since_last,
        cycle_days=value_settings.lifecycle_cycle_days,
    )

    # Churn warnings, for whoever bought in any currency, judged by their purchases in every
    # currency (see the churn module: whether a customer is still buying does not depend on the
    # currency; the money at risk does, and stays in the settings currency). Without the
    # purchase model only the overdue and no-repeat rules speak (a p_alive of 1 never trips the
    # threshold); nor does P(alive), fitted on the settings currency alone, speak for whoever
    # bought after the last purchase it saw. Customers with a single purchase are measured
    # against the days the repeat buyers took from their first purchase to their second. The
    # value at risk is the lifetime value, or without one the margin earned so far.
    at_stake = np.maximum(np.nan_to_num(clv if has_clv else data.gross_margin, nan=0.0), 0.0)
    churn_flag = np.zeros(n, dtype=bool)
    churn_reason = np.full(n, "", dtype=f"<U{churn.REASON_LENGTH}")
    value_at_risk = np.zeros(n)
    any_repeaters = np.flatnonzero(data.any_purchase_days >= 2)
    first_repeat_gaps = (
        data.any_second_purchase[any_repeaters] - data.any_first_purchase[any_repeaters]
    ).astype(np.float64)
    no_repeat_days = churn.no_repeat_days(
        first_repeat_gaps,
        percentile=value_settings.churn_no_repeat_percentile,
        margin=value_settings.churn_no_repeat_margin,
    )
    if len(any_buyers):
        any_days = data.any_purchase_days[any_buyers]
        any_last = data.any_last_purchase[any_buyers]
        span = (any_last - data.any_first_purchase[any_buyers]).astype(np.float64)
        mean_gap = np.where(any_days >= 2, span / np.maximum(any_days - 1, 1), np.nan)
        alive = p_alive[any_buyers]
        warnings = churn.churn_warnings(
            np.where(np.isnan(alive), 1.0, alive),
            (as_of - any_last).astype(np.float64),
            mean_gap,
            at_stake[any_buyers],
            p_alive_threshold=value_settings.churn_p_alive_threshold,
            overdue_margin=value_settings.churn_overdue_margin,
            no_repeat_days=no_repeat_days,
            # NaT (no purchase in the settings currency) compares false: no P(alive) either.
            p_alive_saw_last=data.last_purchase[any_buyers] == any_last,
        )
        churn_flag[any_buyers] = warnings.flagged
        churn_reason[any_buyers] = warnings.reason
        value_at_risk[any_buyers] = warnings.value_at_risk
    # The service desk's signals speak for every customer, buyers or not: a prospect who
    # complains is worth a call too (with nothing bought, nothing is at risk yet).
    signals = churn.service_signals(data.complaints, data.open_complaints, data.latest_survey_score)
    warned = churn.with_service_signals(
        churn.ChurnWarnings(churn_flag, churn_reason, value_at_risk), signals, at_stake
    )
    churn_flag, churn_reason, value_at_risk = warned.flagged, warned.reason, warned.value_at_risk
    # The company's own accounts are not customers who could be lost: no warning, so no
    # follow-up either, and a warning from before the account became internal clears with this
    # run. Their figures, tiers and segments are kept: they describe real orders, and leaving
    # the accounts out would quietly move every paying customer's tier and the models' fit.
    churn_flag = churn_flag & ~data.internal
    churn_reason = np.where(data.internal, "", churn_reason)
    value_at_risk = np.where(data.internal, 0.0, value_at_risk)
    # A warned customer who bought, but nothing in the settings currency, has a value at risk
    # the figures cannot tell (they do not convert currencies): unknown (NaN, stored as null),
    # not the 0 their empty figures would give. A prospect who never bought (no completed
    # order in any currency) has nothing at risk yet.
    risk_unknown = churn_flag & (data.purchase_days == 0) & (data.any_purchase_days > 0)
    value_at_risk[risk_unknown] = np.nan
    # A warned customer who bought in the settings currency and in others has a value at risk
    # that counts the settings-currency part alone: a part of what they are worth, not the
    # whole, however much of their buying was elsewhere. It is kept and marked partial, shown
    # as "at least" that much, rather than made unknown: the part is a real figure in the
    # settings currency (the other currencies can only add to it, unconverted as they are), it
    # keeps such customers comparable with the others on the churn list, ordered by what is
    # known, and unknown would rank a customer with most of their buying here after every
    # known value. Shown bare, it would read as the whole; hence the mark, which the customer
    # page, the churn list and its download, the follow-ups and the API all carry.
    risk_partial = churn_flag & (data.purchase_days > 0) & (data.other_currency_orders > 0)

    # Credit: customers with no invoice due yet have no record (NaN: unrated).
    on_time_share = np.divide(
        data.invoices_on_time.astype(np.float64),
        data.invoices_due,
        out=np.full(n, np.nan),
        where=data.invoices_due > 0,
    )
    ratings = credit.credit_ratings(on_time_share, data.max_days_overdue, data.outstanding)

    columns = {
        "purchase_days": data.purchase_days,
        "first_purchase": data.any_first_purchase,
        "last_purchase": data.any_last_purchase,
        "recency_days": days_since_last,
        "tenure_days": tenure,
        "total_amount": data.total_amount,
        "monetary_value": monetary_value,
        "gross_margin": data.gross_margin,
        "cost_to_serve": cost,
        "profit": profit,
        "r_score": scores.r,
        "f_score": scores.f,
        "m_score": scores.m,
        "rfm_segment": segments,
        "p_alive": p_alive,
        "expected_purchases": expected_purchases,
        "expected_spend": expected_spend,
        "clv": clv,
        "pareto_tier": pareto,
        "volume_tier": volume,
        "value_quadrant": quadrant,
        "lifecycle_stage": stages,
        "churn_flag": churn_flag,
        "churn_reason": churn_reason,
        "value_at_risk": value_at_risk,
        "value_at_risk_partial": risk_partial,
        "credit_rating": ratings,
    }
    figures = {
        "as_of": data.as_of.isoformat(),
        "customers": int(n),
        "buyers": len(buyers),
        # Bought, but nothing in the settings currency: not among the buyers above, whose
        # figures count that currency alone, nor among those who never bought.
        "buyers_other_currencies_only": int(
            np.count_nonzero((data.purchase_days == 0) & (data.any_purchase_days > 0))
        ),
        "repeat_buyers": int(np.count_nonzero(frequency > 0)),
        **fit_figures,
        "spend_model": spend_model,
        "pareto_by": "clv" if has_clv else "profit",
        "tiers": _counts(pareto),
        "volume_tiers": _counts(volume),
        "lifecycle_stages": _counts(stages),
        # The days of praise that make a repeat buyer an advocate, for the funnel's caption
        # (a run made before the service desk was heard has none, and no advocates).
        "advocate_praise_days": value_settings.lifecycle_cycle_days,
        "credit_ratings": _counts(ratings),
        "churn_warnings": int(churn_flag.sum()),
        # None when too few customers bought again to say how long a second purchase takes, or
        # when the margin makes the wait too long to write down (infinite: no one is flagged).
        "churn_no_repeat_days": _finite_value(no_repeat_days),
        "churn_service_signals": {
            "complaints": int((signals.complaints & ~data.internal).sum()),
            "poor_survey": int((signals.poor_survey & ~data.internal).sum()),
        },
        "value_at_risk": float(np.nansum(value_at_risk)),  # of the known values
        "value_at_risk_unknown": int(risk_unknown.sum()),
        # Of the known values, how many count the settings-currency part only ("at least").
        "value_at_risk_partial": int(risk_partial.sum()),
        "total_clv": float(np.nansum(clv)) if has_clv else None,
        "total_profit": float(profit.sum()),
        "activities_without_unit_cost": unpriced,
    }
    return Values(data.customer_ids, data.owner_ids, columns, figures)


def _counts(labels: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(labels, return_counts=True)
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


# --- 3. Writing and swapping -------------------------------------------------------------

_INTEGERS = {"recency_days", "tenure_days"}
_DATES = {"first_purchase", "last_purchase"}


def _as_column(name: str, values: np.ndarray) -> list:
    """Plain Python values for the database: None for NaN and NaT."""
    if name in _DATES:
        return values.astype("datetime64[D]").tolist()  # NaT → None
    if name in _INTEGERS:
        return [None if v != v else int(v) for v in values.tolist()]  # NaN != NaN
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        if missing.any():
            return np.where(missing, None, values).tolist()
    return values.tolist()


def _write_values(run: AnalyticsRun, values: Values) -> None:
    names = list(values.columns)
    columns = [
        [run.pk] * len(values.customer_ids),
        values.customer_ids.tolist(),
        *(_as_column(name, values.columns[name]) for name in names),
    ]
    with transaction.atomic():
        bulk.insert_values(
            CustomerValue,
            ["run_id", "customer_id", *names],
            list(zip(*columns, strict=True)),
        )
    if connection.vendor == "postgresql":
        # A million new rows: without fresh statistics the planner of the swap's queries goes
        # by whatever the table held when it was last analysed (nothing, after a first refresh
        # on a vacuumed database) and chose a nested loop over a sequential scan that ran for
        # minutes. Sampling the table takes well under a second.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_table(CustomerValue)}")


def _swap(run: AnalyticsRun, values: Values) -> None:
    """In one transaction: tier movements against the current run, follow-ups for the owners
    of newly flagged customers, the run's figures, and the switch of the current run."""
    with transaction.atomic():
        previous = AnalyticsRun.objects.select_for_update().filter(is_current=True).first()
        changes = _record_tier_changes(run, previous, values)
        follow_ups = _create_follow_ups(run)
        # Internal accounts get no warning in this run (see compute_values), so an open
        # follow-up from before one became internal closes with it.
        closed = follow_ups_close_internal()
        figures = {
            **values.figures,
            "previous_run": previous.pk if previous else None,
            "tier_changes": changes,
            "churn_follow_ups_created": follow_ups,
            "churn_follow_ups_closed": closed,
        }
        if previous is not None:
            AnalyticsRun.objects.filter(pk=previous.pk).update(is_current=False)
        AnalyticsRun.objects.filter(pk=run.pk).update(
            is_current=True,
            status=AnalyticsRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            figures=figures,
        )


def _record_tier_changes(run: AnalyticsRun, previous: AnalyticsRun | None, values: Values) -> int:
    current = values.columns["pareto_tier"].astype(str)
    # Customers the previous run did not have are tiered for the first time: from "".
    before = np.full(len(current), "", dtype=object)
    if previous is not None:
        rows = _fetch(
            f"SELECT customer_id, pareto_tier FROM {_table(CustomerValue)} "  # noqa: S608
            "WHERE run_id = %s",
            [previous.pk],
        )
        ids, old_tiers = _columns(rows, 2)
        where, known = _positions(values.customer_ids, ids)
        before[where] = np.asarray(old_tiers, dtype=object)[known]
    moved = tiers.tier_changes(before.astype(str), current)
    customer_ids = values.customer_ids[moved.indices].tolist()
    bulk.insert_values(
        TierChange,
        ["customer_id", "run_id", "changed_on", "from_tier", "to_tier"],
        [
            (customer, run.pk, run.as_of, str(old), str(new))
            for customer, old, new in zip(
                customer_ids, moved.previous.tolist(), moved.current.tolist(), strict=True
            )
        ],
    )
    return len(moved)


def _create_follow_ups(run: AnalyticsRun) -> int:
    """One follow-up per flagged customer with an owner, unless one is still open: a single
    INSERT … SELECT, the open ones left out by the unique index on open follow-ups (ON
    CONFLICT DO NOTHING), which costs one index probe per row whatever the statistics say. The
    anti-join it replaces (NOT EXISTS) was once planned as a nested loop around a sequential
    scan and ran for minutes. Each one opened gets an audit row on its customer, the system's,
    as handing it over and closing it get theirs."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_table(ChurnFollowUp)}
                (customer_id, owner_id, run_id, reason, value_at_risk, value_at_risk_partial,
                 created_at)
            SELECT v.customer_id, c.owner_id, v.run_id, v.churn_reason, v.value_at_risk,
                   v.value_at_risk_partial, %s
            FROM {_table(CustomerValue)} v
            JOIN {_table(Customer)} c ON c.id = v.customer_id
            WHERE v.run_id = %s AND v.churn_flag = %s AND c.owner_id IS NOT NULL
            ON CONFLICT (customer_id) WHERE done_at IS NULL DO NOTHING
            """,  # noqa: S608
            [now, run.pk, True],
        )
        created = cursor.rowcount
    if created:
        # Those of this run are the ones just opened: nothing else opens a follow-up for it.
        # Unordered: the rows go to the audit log as they come, no sort of them all needed.
        opened = (
            ChurnFollowUp.objects.filter(run=run)
            .order_by()
            .values_list(
                "pk", "customer_id", "customer__name", "owner_id", "reason", "value_at_risk"
            )
        )
        audit_record_many(
            AuditEvent(
                occurred_at=now,
                actor=None,
                action=AuditEvent.Action.CREATE,
                object_type="churn_follow_up",
                object_id=pk,
                customer_id=customer_id,
                summary=f"{name}: {reason}"[:300],
                changes=diff_values(
                    {}, {"owner_id": owner_id, "reason": reason, "value_at_risk": value_at_risk}
                ),
            )
            for pk, customer_id, name, owner_id, reason, value_at_risk in opened.iterator(
                chunk_size=5000
            )
        )
    return created


def _analyze_swapped_tables() -> None:
    """Fresh planner statistics for the tables the swap wrote to, as ``_write_values`` does for
    the figures. A first refresh writes a tier change for every customer and a follow-up for
    every flagged one (a million and 130,000 rows at a million customers); until autovacuum
    came round to them, the planner took the follow-ups for a few hundred and the dashboard's
    count of open follow-ups walked the customers with the wrong plan (0.7 s instead of 0.3 s
    for every reader)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (TierChange, ChurnFollowUp):
            cursor.execute(f"ANALYZE {_table(model)}")


def _prune() -> None:
    """Keep the last few succeeded runs (the current one among them) and drop the rest, along
    with failed runs older than the oldest kept one. Abandoned runs count as failed: without
    this, a refresh killed mid-way would keep its million rows for ever."""
    abandoned = AnalyticsRun.objects.filter(
        status=AnalyticsRun.Status.RUNNING, started_at__lt=timezone.now() - ABANDONED_AFTER
    )
    for run in abandoned:
        _fail(run, RuntimeError(f"abandoned: still running after {ABANDONED_AFTER}"))
    kept = list(
        AnalyticsRun.objects.filter(status=AnalyticsRun.Status.SUCCEEDED)
        .order_by("-started_at", "-id")
        .values_list("pk", flat=True)[:KEEP_SUCCEEDED_RUNS]
    )
    if not kept:
        return
    oldest_kept = AnalyticsRun.objects.get(pk=kept[-1])
    with transaction.atomic():
        AnalyticsRun.objects.exclude(pk__in=kept).filter(
            is_current=False, started_at__lt=oldest_kept.started_at
        ).exclude(status=AnalyticsRun.Status.RUNNING).delete()


def _settings_figures(value_settings: ValueSettings) -> dict:
    return {
        "unit_costs": value_settings.unit_costs,
        "currency": value_settings.currency,
        "gold_share": value_settings.gold_share,
        "lead_share": value_settings.lead_share,
        "clv_horizon_months": value_settings.clv_horizon_months,
        "monthly_discount_rate": value_settings.monthly_discount_rate,
        "churn_p_alive_threshold": value_settings.churn_p_alive_threshold,
        "churn_overdue_margin": value_settings.churn_overdue_margin,
        "churn_no_repeat_percentile": value_settings.churn_no_repeat_percentile,
        "churn_no_repeat_margin": value_settings.churn_no_repeat_margin,
        "lifecycle_cycle_days": value_settings.lifecycle_cycle_days,
    }
