"""The service reports page and the CSV download of each report.

Every signed-in user may open them: the figures only ever count the tickets of the customers
the user can see, or could were they not in the recycle bin (``reports.period_tickets``), so a
rep sees their own customers' service and an agent or an administrator the whole desk's. The
charts are drawn with the analytics dashboard's geometry (``guanxi.analytics.charts``) as
inline SVG.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.analytics import charts
from guanxi.analytics.exports import MEDIA_TYPE

from . import reports
from .models import Ticket

# The charts draw this many bars at most; the tables below them hold every row.
PARETO_BARS = 15
COMPLIANCE_GROUPS_DRAWN = 12
TREND_LABELS = 7
# One colour per ticket type in the trend (SVG attributes: the stylesheet colours only rects).
TYPE_COLOURS = {
    "complaint": "#c0392b",
    "inquiry": "#2f6fb0",
    "suggestion": "#c9a227",
    "praise": "#2e8b57",
}


class ReportPeriodForm(forms.Form):
    """The period above the reports, sent along with each download. Both dates are optional:
    without an end the period ends today, without a start it is the 90 days up to its end."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day and not reports.EARLIEST_DATE <= day <= reports.LATEST_DATE:
                self.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": reports.EARLIEST_DATE, "last": reports.LATEST_DATE},
                )
        if self.errors:
            return data
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("The period cannot end before it starts."))
            return data
        period = reports.report_period(first, last)
        if period.days > reports.MAX_DAYS:
            self.add_error(
                None,
                _("Choose a period of at most %(days)d days.") % {"days": reports.MAX_DAYS},
            )
            return data
        data["period"] = period
        return data

    @property
    def period(self) -> reports.Period:
        return self.cleaned_data["period"]


def _period_form(data) -> ReportPeriodForm:
    """The form bound to what was sent; with no dates at all, to the default period, so the
    fields show the dates the figures are for."""
    if not (data.get("date_from") or data.get("date_to")):
        period = reports.report_period()
        data = {"date_from": period.first.isoformat(), "date_to": period.last.isoformat()}
    return ReportPeriodForm(data)


def _points(line: charts.LineChart) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in point.split(",")) for point in line.points.split()]


def _pareto_drawing(rows: list[reports.ParetoRow]) -> dict | None:
    """Bars of the complaints per cause, most first, under the line of their cumulative share
    (0–100 %, the axis drawn): the two share the plot area, so each point of the line sits
    above its bar."""
    shown = rows[:PARETO_BARS]
    if not shown:
        return None
    bars = charts.column_chart([row.complaints for row in shown])
    n = len(shown)
    line = charts.line_chart(
        [(i + 0.5) / n for i in range(n)],
        [row.cumulative_share for row in shown],
        reference=1.0,
    )
    return {
        "bars": bars,
        "line": line,
        "entries": list(zip(range(1, n + 1), bars.bars, _points(line), shown, strict=True)),
        "truncated": len(rows) > n,
    }


def _trend_drawing(trend: reports.Trend) -> dict | None:
    """One line per ticket type over the weeks. Each line is laid out by ``line_chart`` with
    the busiest week of any type as its reference, so all of them share one scale."""
    n = len(trend.weeks)
    peak = max((max(counts) for counts in trend.counts.values()), default=0)
    if not peak:
        return None
    xs = [i / (n - 1) if n > 1 else 0.5 for i in range(n)]
    # At least 4 on the axis: a quiet period would otherwise get ticks of a quarter ticket.
    top = float(max(peak, 4))
    lines = {
        kind: charts.line_chart(xs, [float(c) for c in counts], reference=top)
        for kind, counts in trend.counts.items()
    }
    first = next(iter(lines.values()))
    step = max(1, -(-n // TREND_LABELS))  # ceiling division
    week_x = [x for x, _y in _points(first)]
    return {
        "axis": first,
        "series": [
            {"kind": kind, "colour": TYPE_COLOURS.get(kind, "#666"), "line": line}
            for kind, line in lines.items()
        ],
        "week_labels": [(week_x[i], trend.weeks[i]) for i in range(0, n, step)],
    }


def _compliance_drawing(rows: list[reports.ComplianceRow]) -> dict | None:
    """Pairs of columns per group, first response then resolution, the share of targets met;
    a group without a decided target draws no column there."""
    shown = rows[:COMPLIANCE_GROUPS_DRAWN]
    if not any(r.first_response_targets or r.resolution_targets for r in shown):
        return None
    values = []
    for row in shown:
        values += [row.first_response_share or 0.0, row.resolution_share or 0.0]
    columns = charts.column_chart(values)
    pairs = [
        {
            "row": row,
            "first_response": columns.bars[2 * i],
            "resolution": columns.bars[2 * i + 1],
            "label_x": columns.bars[2 * i + 1].x,
            "label_y": columns.bars[2 * i].label_y,
            "number": i + 1,
        }
        for i, row in enumerate(shown)
    ]
    return {"chart": columns, "pairs": pairs, "truncated": len(rows) > len(shown)}


def _satisfaction_drawing(figures: reports.Satisfaction) -> dict | None:
    """A column per score, 1 to 5, of the answers that gave it."""
    if not figures.answered:
        return None
    counts = [figures.scores[s] for s in reports.SCORES]
    columns = charts.column_chart(counts)
    return {
        "chart": columns,
        "entries": list(zip(columns.bars, reports.SCORES, counts, strict=True)),
    }


def _render_page(request, form: ReportPeriodForm, *, status: int = 200):
    context: dict = {"form": form}
    if form.is_valid():
        period = form.period
        figures = {"date_from": period.first, "date_to": period.last}
        user = request.user
        # Each grouped read serves several figures: the tickets are scanned five times.
        complaint_rows = reports.complaint_counts(user, **figures)
        ticket_rows = reports.ticket_counts(user, **figures)
        by_category = reports.complaints_by_category(user, counts=complaint_rows)
        by_area = reports.complaints_by_area(user, counts=complaint_rows)
        trend = reports.tickets_per_week(user, **figures)
        compliance = {
            by: reports.sla_compliance(user, by=by, counts=ticket_rows)
            for by in reports.COMPLIANCE_GROUPS
        }
        survey = reports.satisfaction(user, **figures)
        context.update(
            period=period,
            by_category=by_category,
            by_area=by_area,
            pareto=_pareto_drawing(by_category),
            complaints=sum(row.complaints for row in by_category),
            trend_rows=list(
                zip(
                    trend.weeks, zip(*trend.counts.values(), strict=True), trend.totals, strict=True
                )
            ),
            trend_drawing=_trend_drawing(trend),
            compliance=compliance,
            compliance_total=reports.compliance_total(compliance["team"]),
            compliance_drawing=_compliance_drawing(compliance["team"]),
            reopening=reports.reopen_rate(user, counts=ticket_rows),
            repeaters=reports.repeat_complainers(user, **figures),
            binned_counted=reports.binned_ticket_count(user, **figures),
            repeat_threshold=reports.REPEAT_COMPLAINTS,
            satisfaction=survey,
            score_rows=[(s, survey.scores[s]) for s in reports.SCORES],
            satisfaction_drawing=_satisfaction_drawing(survey),
            type_labels=[
                (kind, label, TYPE_COLOURS.get(kind, "#666")) for kind, label in Ticket.Type.choices
            ],
        )
    return render(request, "service/reports.html", context, status=status)


@login_required
@require_GET
def service_reports(request):
    """The service reports over the tickets of the customers the user can see, opened in the
    period of the form (the last 90 days unless chosen). A period that cannot be read is
    shown on the form with a 422, and no figures."""
    form = _period_form(request.GET)
    return _render_page(request, form, status=200 if form.is_valid() else 422)


@login_required
@require_POST
def service_report_export(request, report: str):
    """One report as CSV. A POST, like the dashboard's downloads, because it writes an audit
    row; the period comes along in the form. An unknown report is a 404, an unreadable
    period the page with the form's error (422)."""
    if report not in reports.REPORTS:
        raise Http404
    form = _period_form(request.POST)
    if not form.is_valid():
        return _render_page(request, form, status=422)
    period = form.period
    content = reports.report_export_csv(
        actor=request.user, report=report, date_from=period.first, date_to=period.last
    )
    response = HttpResponse(content, content_type=MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{reports.export_filename(report)}"'
    return response
