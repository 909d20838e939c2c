"""Background work of the analytics app, for the worker (``guanxi db_worker``) or a schedule."""

import datetime as dt

from django_tasks import task

from .refresh import analytics_refresh


@task()
def refresh_customer_values(as_of: str | None = None) -> int:
    """Run the analytics refresh (as of an ISO date, default today); returns the new run's id.
    Task arguments travel as JSON, hence the date as text."""
    run = analytics_refresh(as_of=dt.date.fromisoformat(as_of) if as_of else None)
    return run.pk
