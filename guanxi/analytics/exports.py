"""Downloading the figures behind a dashboard chart as CSV.

The rows are the chart's own (see ``dashboard.py``), so a download holds exactly what the chart
shows, except the churn list, whose download holds every flagged customer rather than the first
fifty, and the whale curve, whose download holds the same thinned-out points the chart draws
(at most 200; every customer's own point would make a file the size of the customer base).
Text is neutralised against spreadsheet formulas as in the customer export, and every download
is written to the audit log.
"""

import csv
import io

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.audit.summaries import Summary
from guanxi.core.formulas import neutralise_formula

from .dashboard import EXPORTS

MEDIA_TYPE = "text/csv; charset=utf-8"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return neutralise_formula(str(value))


def csv_bytes(columns, rows) -> bytes:
    """A header row and the rows as UTF-8 CSV with a byte order mark (for spreadsheet
    programs), every cell written by the rules of :func:`_cell`."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")


@transaction.atomic
def chart_export_csv(*, actor, chart: str, filters: dict | None = None) -> bytes:
    """The figures of dashboard chart ``chart`` over the customers ``actor`` may see, narrowed
    by ``filters``, as UTF-8 CSV with a byte order mark (for spreadsheet programs)."""
    figures = EXPORTS[chart](actor, filters or {})
    content = csv_bytes(figures.columns, figures.rows)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="analytics_chart",
        object_id=None,
        # The chart's title stays in the exporter's language.
        summary=Summary(
            gettext_noop("%(count)d rows of the “%(chart)s” chart exported"),
            {"count": len(figures.rows), "chart": str(figures.title)},
        ),
        changes={
            "chart": {"before": None, "after": chart},
            "format": {"before": None, "after": "csv"},
            "filters": {"before": None, "after": {k: str(v) for k, v in (filters or {}).items()}},
            "rows": {"before": None, "after": len(figures.rows)},
        },
    )
    return content


def export_filename(chart: str) -> str:
    return f"guanxi-analytics-{chart}-{timezone.localtime():%Y%m%d-%H%M}.csv"
