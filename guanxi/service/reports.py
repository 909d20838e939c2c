"""The service reports: what customers complain about, how the desk keeps its promises, how
often a resolved ticket comes back, who keeps complaining, and what customers think of the
help they got.

Every figure is one SQL aggregate (``GROUP BY`` with conditional counts) over the tickets of
the customers the user may see, those since moved to the recycle bin included
(:func:`period_tickets`), that were *opened* in the period: from the first day to the last,
both included, in the site's time zone. One rule for every figure, so they all describe the
same tickets: the compliance of a ticket opened in the period counts even when it was
resolved after it, and the survey of a ticket opened in the period counts whenever it was
answered.

Duplicates merged into another ticket are left out: their request is counted once, on the
ticket they were merged into.

At the end, :func:`report_export_csv` turns any one report into the CSV download, written to
the audit log like every other export.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, gettext_noop
from django.utils.translation import gettext as _

from guanxi.accounts.models import Team, User
from guanxi.analytics.exports import csv_bytes  # the dashboard downloads' CSV rules
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.audit.summaries import Summary
from guanxi.customers.models import Customer
from guanxi.customers.validation import DATE_YEARS
from guanxi.customers.visibility import VIEW, customer_scope

from .models import SatisfactionSurvey, Ticket, TicketCategory

DEFAULT_DAYS = 90
# A period longer than this would draw a trend of hundreds of weeks nobody can read.
MAX_DAYS = 3 * 366
# Dates outside these bounds are typing mistakes (and the far ends of the calendar do not
# survive the conversion to UTC). The last is the end of the last year the API takes in a date
# or a time, so the two cannot drift apart.
EARLIEST_DATE = dt.date(1970, 1, 1)
LATEST_DATE = dt.date(DATE_YEARS[1], 12, 31)
REPEAT_COMPLAINTS = 2
REPEAT_COMPLAINERS_LISTED = 20
POOR_SCORE = 2
SCORES = (1, 2, 3, 4, 5)


# --- the period ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days from ``first`` to ``last``, both included, in the site's time zone."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.first, dt.time()))

    @property
    def end(self) -> dt.datetime:
        """The first moment after the period."""
        return timezone.make_aware(dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time()))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def report_period(date_from: dt.date | None = None, date_to: dt.date | None = None) -> Period:
    """The period from ``date_from`` to ``date_to``; without an end it ends today, without a
    start it is the :data:`DEFAULT_DAYS` days up to the end. A start after the end, or a date
    out of bounds, is a ValueError (the form says so before it comes to that)."""
    last = date_to or timezone.localdate()
    first = date_from or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    for day in (first, last):
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValueError(f"{day} is outside {EARLIEST_DATE} to {LATEST_DATE}")
    if first > last:
        raise ValueError(f"the period starts ({first}) after it ends ({last})")
    return Period(first, last)


def period_tickets(
    user, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> QuerySet[Ticket]:
    """The tickets of the customers ``user`` may see, or would were they not in the recycle
    bin, that were opened in the period, merged duplicates left out. A plain range on
    ``created_at``, so its index serves it.

    A customer binned later does not take its tickets out of the figures: the work was done,
    the promises kept or missed, the surveys answered, and a report read again a month on
    should tell the same story, whoever was cleaned out of the records meanwhile. Counted
    only for whoever the visibility rule would show the customer to (``deleted``: as if it
    were back), so nobody learns of tickets they could never have seen; and a customer in
    the recycle bin is never named (:func:`repeat_complainers`). A count names nobody. (A
    customer merged into another is in the bin too, but its tickets went to the kept one.)"""
    period = report_period(date_from, date_to)
    scope = customer_scope(user, VIEW, deleted=True)
    tickets = Ticket.objects.all()
    if scope != Q():  # whoever sees every customer: no condition to join for
        tickets = tickets.filter(customer__in=Customer.objects.filter(scope).values("pk"))
    return tickets.filter(
        merged_into__isnull=True, created_at__gte=period.start, created_at__lt=period.end
    )


@contextmanager
def _hash_joins() -> Iterator[None]:
    """Keep PostgreSQL from answering a report with a merge join on the customer id.

    The visibility rule joins the period's tickets to the visible customers. Where the result
    is grouped by customer (repeat complainers) or large (the weekly trend), the planner
    likes to walk the whole ticket table in customer order through its index, which reads
    the table page by page at random: over a million tickets in the period, 7-9 s against
    1-3 s with a hash join of the period's tickets to the visible customers' ids. Without
    merge joins it takes the hash join; for these aggregates nothing else is lost. The
    setting ends with the transaction the reads run in (the outer one, when there is one).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_mergejoin = off")
        yield


def binned_ticket_count(
    user, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> int:
    """How many of the tickets the figures count (:func:`period_tickets`) are of customers in
    the recycle bin. Counted, they are in no list of tickets, nobody being allowed to see
    their customers; the page says so, lest a list reached from it seem to contradict it."""
    return (
        period_tickets(user, date_from=date_from, date_to=date_to)
        .filter(customer__deleted_at__isnull=False)
        .count()
    )


def _share(part: int | float, whole: int | float) -> float | None:
    return round(part / whole, 6) if whole else None


def _category_labels() -> dict[int, str]:
    """Every category's path ("售后服务 › 退款"), in the language of the request. The tree is a
    small table edited by hand, read whole."""
    english = (get_language() or "").startswith("en")
    nodes = {
        row["pk"]: row
        for row in TicketCategory.objects.values("pk", "parent_id", "name", "name_en")
    }

    def own(row) -> str:
        return row["name_en"] if english and row["name_en"] else row["name"]

    labels = {}
    for pk, row in nodes.items():
        path, seen, parent = [own(row)], {pk}, row["parent_id"]
        while parent in nodes and parent not in seen:
            seen.add(parent)
            path.append(own(nodes[parent]))
            parent = nodes[parent]["parent_id"]
        labels[pk] = " › ".join(reversed(path))
    return labels


# --- complaints: Pareto ----------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoRow:
    key: Any  # the category id or the complaint area; None/"" for none
    label: str
    complaints: int
    share: float
    cumulative_share: float


def _pareto(counts: list[tuple[Any, str, int]]) -> list[ParetoRow]:
    """Largest first (ties by label), each with its share and the running total's share."""
    ordered = sorted(counts, key=lambda row: (-row[2], row[1]))
    total = sum(row[2] for row in ordered)
    rows, running = [], 0
    for key, label, count in ordered:
        running += count
        rows.append(
            ParetoRow(key, label, count, _share(count, total) or 0.0, _share(running, total) or 0.0)
        )
    return rows


def complaint_counts(
    user, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict]:
    """The period's complaints counted per (category, area) pair: the one read behind both
    Pareto views, so a page showing both scans the tickets once. A handful of rows."""
    with _hash_joins():
        return list(
            period_tickets(user, date_from=date_from, date_to=date_to)
            .filter(type=Ticket.Type.COMPLAINT)
            .values("category_id", "area")
            .annotate(complaints=Count("pk"))
            .order_by()
        )


def _count_by(rows: list[dict], field: str) -> dict:
    """The complaints of :func:`complaint_counts` rows summed per value of ``field``."""
    totals: dict = {}
    for row in rows:
        totals[row[field]] = totals.get(row[field], 0) + row["complaints"]
    return totals


def complaints_by_category(
    user,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    counts: list[dict] | None = None,
) -> list[ParetoRow]:
    """Complaints per category, the Pareto way: most frequent first, with the cumulative share
    that shows how few causes make most of the complaints. Complaints without a category are
    a row of their own. ``counts``: :func:`complaint_counts` already read for the period."""
    if counts is None:
        counts = complaint_counts(user, date_from=date_from, date_to=date_to)
    labels = _category_labels()
    none = _("No category")
    return _pareto(
        [
            (category, labels.get(category, none) if category else none, complaints)
            for category, complaints in _count_by(counts, "category_id").items()
        ]
    )


def complaints_by_area(
    user,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    counts: list[dict] | None = None,
) -> list[ParetoRow]:
    """Complaints per complaint area (design, quality, sales promise, service process), the
    Pareto way; complaints whose area is not known are a row of their own."""
    if counts is None:
        counts = complaint_counts(user, date_from=date_from, date_to=date_to)
    # Every row here is a complaint: the choice's label for no area ("not a complaint /
    # unknown") would say otherwise.
    names = {**dict(Ticket.Area.choices), Ticket.Area.NONE: _("Area not set")}
    return _pareto(
        [
            (area, str(names.get(area, area)), complaints)
            for area, complaints in _count_by(counts, "area").items()
        ]
    )


# --- the weekly trend --------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """Tickets opened per week (weeks start on Monday), per type: ``counts[type][i]`` is the
    count of the week starting ``weeks[i]``. The first and last weeks may be only partly in
    the period."""

    weeks: list[dt.date]
    counts: dict[str, list[int]]

    @property
    def totals(self) -> list[int]:
        return [sum(column) for column in zip(*self.counts.values(), strict=True)]


def tickets_per_week(
    user, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Trend:
    period = report_period(date_from, date_to)
    found = (
        period_tickets(user, date_from=period.first, date_to=period.last)
        .annotate(week=TruncWeek("created_at"))
        .values("week", "type")
        .annotate(tickets=Count("pk"))
        .order_by()
    )
    with _hash_joins():
        found = list(found)
    first_monday = period.first - dt.timedelta(days=period.first.weekday())
    weeks = [
        first_monday + dt.timedelta(weeks=i)
        for i in range((period.last - first_monday).days // 7 + 1)
    ]
    position = {week: i for i, week in enumerate(weeks)}
    counts = {kind: [0] * len(weeks) for kind in Ticket.Type.values}
    for row in found:
        week = row["week"]
        day = timezone.localtime(week).date() if isinstance(week, dt.datetime) else week
        if row["type"] in counts and day in position:
            counts[row["type"]][position[day]] += row["tickets"]
    return Trend(weeks, counts)


# --- service-level compliance ------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceRow:
    """A group's tickets, how many had a first-response / resolution target that has been
    decided (met or missed), and how many of those were met."""

    key: int | None
    label: str
    tickets: int
    first_response_targets: int
    first_response_met: int
    resolution_targets: int
    resolution_met: int

    @property
    def first_response_share(self) -> float | None:
        return _share(self.first_response_met, self.first_response_targets)

    @property
    def resolution_share(self) -> float | None:
        return _share(self.resolution_met, self.resolution_targets)


COMPLIANCE_GROUPS = {"team": "team_id", "agent": "assignee_id", "category": "category_id"}


def _group_labels(by: str, keys: set) -> tuple[dict, str]:
    """Names of the groups, and the name of "none" (no team, unassigned, no category)."""
    keys = {key for key in keys if key is not None}
    if by == "team":
        names = dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))
        return names, _("No team")
    if by == "agent":
        names = {user.pk: user.label for user in User.objects.filter(pk__in=keys)}
        return names, _("Unassigned")
    return _category_labels(), _("No category")


MEASURES = ("tickets", "fr_targets", "fr_met", "res_targets", "res_met")


def ticket_counts(
    user, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict]:
    """The period's tickets counted per (team, assignee, category), with their decided and
    met service-level targets and their reopenings: the one read behind the three compliance
    views and the reopen rate. At most a row per agent and category, however many tickets."""
    found = (
        period_tickets(user, date_from=date_from, date_to=date_to)
        .values(*COMPLIANCE_GROUPS.values())
        .annotate(
            tickets=Count("pk"),
            fr_targets=Count("pk", filter=Q(first_response_met__isnull=False)),
            fr_met=Count("pk", filter=Q(first_response_met=True)),
            res_targets=Count("pk", filter=Q(resolution_met__isnull=False)),
            res_met=Count("pk", filter=Q(resolution_met=True)),
            # A reopened ticket was resolved once, even while it is open again.
            resolved=Count("pk", filter=Q(resolved_at__isnull=False) | Q(reopened_count__gt=0)),
            reopened=Count("pk", filter=Q(reopened_count__gt=0)),
            reopens=Sum("reopened_count"),
        )
        .order_by()
    )
    with _hash_joins():
        return list(found)


def sla_compliance(
    user,
    *,
    by: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    counts: list[dict] | None = None,
) -> list[ComplianceRow]:
    """First-response and resolution compliance per team, agent (the assignee) or category:
    among the tickets whose target was met or missed (a ticket without a target, or still
    running against it, has no say), the share met. Busiest groups first. ``counts``:
    :func:`ticket_counts` already read for the period."""
    field = COMPLIANCE_GROUPS[by]
    if counts is None:
        counts = ticket_counts(user, date_from=date_from, date_to=date_to)
    totals: dict = {}
    for row in counts:
        group = totals.setdefault(row[field], dict.fromkeys(MEASURES, 0))
        for measure in MEASURES:
            group[measure] += row[measure]
    names, none = _group_labels(by, set(totals))
    rows = [
        ComplianceRow(
            key=key,
            label=names.get(key, none) if key is not None else none,
            tickets=group["tickets"],
            first_response_targets=group["fr_targets"],
            first_response_met=group["fr_met"],
            resolution_targets=group["res_targets"],
            resolution_met=group["res_met"],
        )
        for key, group in totals.items()
    ]
    # The "none" group last, whatever its size: it is what is left, not a group of its own.
    return sorted(rows, key=lambda r: (r.key is None, -r.tickets, r.label))


def compliance_total(rows: list[ComplianceRow]) -> ComplianceRow:
    """All groups together (any one grouping holds every ticket once)."""
    return ComplianceRow(
        key=None,
        label=_("All tickets"),
        tickets=sum(r.tickets for r in rows),
        first_response_targets=sum(r.first_response_targets for r in rows),
        first_response_met=sum(r.first_response_met for r in rows),
        resolution_targets=sum(r.resolution_targets for r in rows),
        resolution_met=sum(r.resolution_met for r in rows),
    )


# --- reopening ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reopening:
    """``resolved``: tickets resolved at least once (a reopened ticket was, even while it is
    open again); ``reopened``: those reopened at least once; ``reopens``: reopenings in all."""

    resolved: int
    reopened: int
    reopens: int

    @property
    def rate(self) -> float | None:
        return _share(self.reopened, self.resolved)


def reopen_rate(
    user,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    counts: list[dict] | None = None,
) -> Reopening:
    """How many of the period's resolved tickets came back. ``counts``: :func:`ticket_counts`
    already read for the period."""
    if counts is None:
        counts = ticket_counts(user, date_from=date_from, date_to=date_to)
    return Reopening(
        resolved=sum(row["resolved"] for row in counts),
        reopened=sum(row["reopened"] for row in counts),
        reopens=sum(row["reopens"] or 0 for row in counts),
    )


# --- repeat complainers --------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatComplainer:
    customer_id: int
    name: str
    complaints: int
    last_complaint_at: dt.datetime


def repeat_complainers(
    user,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = REPEAT_COMPLAINERS_LISTED,
) -> list[RepeatComplainer]:
    """Customers with :data:`REPEAT_COMPLAINTS` or more complaints in the period, most
    complaints first, then the most recent."""
    with _hash_joins():
        found = list(
            period_tickets(user, date_from=date_from, date_to=date_to)
            # Counted, a binned customer's complaints are; named, never (see period_tickets).
            .filter(type=Ticket.Type.COMPLAINT, customer__deleted_at__isnull=True)
            .values("customer_id")
            .annotate(complaints=Count("pk"), last=Max("created_at"))
            .filter(complaints__gte=REPEAT_COMPLAINTS)
            .order_by("-complaints", "-last", "customer_id")[:limit]
        )
    # The names of the few listed, read afterwards (through the same rule: their tickets are
    # visible, so they are): grouping every complainer by name as well took seconds.
    names = dict(
        Customer.objects.visible_to(user, VIEW)
        .filter(pk__in=[row["customer_id"] for row in found])
        .values_list("pk", "name")
    )
    return [
        RepeatComplainer(
            row["customer_id"], names.get(row["customer_id"], ""), row["complaints"], row["last"]
        )
        for row in found
    ]


# --- satisfaction --------------------------------------------------------------------------


@dataclass(frozen=True)
class Satisfaction:
    """The one-question surveys sent when the period's tickets were resolved: how many, how
    many answered, the average score, how many gave each score and how many were poor (a
    score of :data:`POOR_SCORE` or less)."""

    sent: int
    answered: int
    average: float | None
    scores: dict[int, int]
    poor: int

    @property
    def response_rate(self) -> float | None:
        return _share(self.answered, self.sent)

    @property
    def poor_share(self) -> float | None:
        return _share(self.poor, self.answered)


def satisfaction(
    user, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Satisfaction:
    answered = Q(answered_at__isnull=False, score__isnull=False)
    with _hash_joins():
        found = SatisfactionSurvey.objects.filter(
            ticket__in=period_tickets(user, date_from=date_from, date_to=date_to)
        ).aggregate(
            sent=Count("pk"),
            answered=Count("pk", filter=answered),
            average=Avg("score", filter=answered),
            poor=Count("pk", filter=answered & Q(score__lte=POOR_SCORE)),
            **{f"score_{s}": Count("pk", filter=answered & Q(score=s)) for s in SCORES},
        )
    average = found["average"]
    return Satisfaction(
        sent=found["sent"],
        answered=found["answered"],
        average=round(float(average), 4) if average is not None else None,
        scores={s: found[f"score_{s}"] for s in SCORES},
        poor=found["poor"],
    )


# --- the downloads -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportTable:
    title: Any
    columns: tuple[str, ...]
    rows: list[tuple]


def _pareto_table(title, key_column: str, label_column: str, rows) -> ReportTable:
    return ReportTable(
        title,
        (key_column, label_column, "complaints", "share", "cumulative_share"),
        [(r.key, r.label, r.complaints, r.share, r.cumulative_share) for r in rows],
    )


def _compliance_table(title, by: str, rows: list[ComplianceRow]) -> ReportTable:
    return ReportTable(
        title,
        (
            f"{by}_id",
            by,
            "tickets",
            "first_response_targets",
            "first_response_met",
            "first_response_share",
            "resolution_targets",
            "resolution_met",
            "resolution_share",
        ),
        [
            (
                r.key,
                r.label,
                r.tickets,
                r.first_response_targets,
                r.first_response_met,
                r.first_response_share,
                r.resolution_targets,
                r.resolution_met,
                r.resolution_share,
            )
            for r in rows
        ],
    )


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat()


def _trend_table(user, **period) -> ReportTable:
    trend = tickets_per_week(user, **period)
    kinds = list(trend.counts)
    return ReportTable(
        gettext_lazy("Tickets per week"),
        ("week_starting", *kinds, "total"),
        [
            (week.isoformat(), *(trend.counts[kind][i] for kind in kinds), trend.totals[i])
            for i, week in enumerate(trend.weeks)
        ],
    )


def _reopen_table(user, **period) -> ReportTable:
    figures = reopen_rate(user, **period)
    return ReportTable(
        gettext_lazy("Reopened tickets"),
        ("tickets_resolved", "tickets_reopened", "reopen_rate", "reopens"),
        [(figures.resolved, figures.reopened, figures.rate, figures.reopens)],
    )


def _repeat_table(user, **period) -> ReportTable:
    return ReportTable(
        gettext_lazy("Repeat complainers"),
        ("customer_id", "customer", "complaints", "last_complaint_at"),
        [
            (r.customer_id, r.name, r.complaints, _local(r.last_complaint_at))
            for r in repeat_complainers(user, **period)
        ],
    )


def _satisfaction_table(user, **period) -> ReportTable:
    figures = satisfaction(user, **period)
    summary = [
        ("surveys_sent", figures.sent),
        ("surveys_answered", figures.answered),
        ("response_rate", figures.response_rate),
        ("average_score", figures.average),
        ("poor_answers", figures.poor),
        ("poor_share", figures.poor_share),
        *((f"score_{s}", figures.scores[s]) for s in SCORES),
    ]
    return ReportTable(gettext_lazy("Satisfaction after resolution"), ("figure", "value"), summary)


REPORTS: dict[str, Callable[..., ReportTable]] = {
    "categories": lambda user, **period: _pareto_table(
        gettext_lazy("Complaints by category"),
        "category_id",
        "category",
        complaints_by_category(user, **period),
    ),
    "areas": lambda user, **period: _pareto_table(
        gettext_lazy("Complaints by area"), "area", "area_label", complaints_by_area(user, **period)
    ),
    "trend": _trend_table,
    "sla_teams": lambda user, **period: _compliance_table(
        gettext_lazy("Service levels by team"), "team", sla_compliance(user, by="team", **period)
    ),
    "sla_agents": lambda user, **period: _compliance_table(
        gettext_lazy("Service levels by agent"), "agent", sla_compliance(user, by="agent", **period)
    ),
    "sla_categories": lambda user, **period: _compliance_table(
        gettext_lazy("Service levels by category"),
        "category",
        sla_compliance(user, by="category", **period),
    ),
    "reopens": _reopen_table,
    "repeat_complainers": _repeat_table,
    "satisfaction": _satisfaction_table,
}


@transaction.atomic
def report_export_csv(
    *, actor, report: str, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> bytes:
    """Report ``report`` (a key of :data:`REPORTS`) over the tickets ``actor`` may see, as
    UTF-8 CSV with a byte order mark, text neutralised against spreadsheet formulas; the
    download is written to the audit log."""
    period = report_period(date_from, date_to)
    table = REPORTS[report](actor, date_from=period.first, date_to=period.last)
    content = csv_bytes(table.columns, table.rows)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="service_report",
        object_id=None,
        # The report's title stays in the exporter's language.
        summary=Summary(
            gettext_noop("%(count)d rows of the “%(report)s” service report exported"),
            {"count": len(table.rows), "report": str(table.title)},
        ),
        changes={
            "report": {"before": None, "after": report},
            "format": {"before": None, "after": "csv"},
            "period": {
                "before": None,
                "after": {"from": period.first.isoformat(), "to": period.last.isoformat()},
            },
            "rows": {"before": None, "after": len(table.rows)},
        },
    )
    return content


def export_filename(report: str) -> str:
    return f"guanxi-service-{report}-{timezone.localtime():%Y%m%d-%H%M}.csv"
