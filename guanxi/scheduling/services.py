"""Queueing the periodic jobs that have fallen due (see ``schedule`` for when that is)."""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from .models import ScheduledRun
from .schedule import ScheduleEntry, latest_due, parse_entry


def configured_entries() -> list[ScheduleEntry]:
    """The entries of the ``GUANXI_SCHEDULE`` setting (name → entry spec)."""
    return [parse_entry(name, spec) for name, spec in settings.GUANXI_SCHEDULE.items()]


def enqueue_due(*, entries: Iterable[ScheduleEntry], now: dt.datetime) -> list[ScheduledRun]:
    """Queue each entry's latest due occurrence unless it was queued already; returns the runs
    queued now. The occurrence's row and the task's row are written in one transaction (the
    task queue is the database), so a crash leaves either both or neither."""
    queued = []
    for entry in entries:
        due = latest_due(entry, now)
        if ScheduledRun.objects.filter(name=entry.name, due_at=due).exists():
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(name=entry.name, due_at=due)
                result = import_string(entry.task).enqueue()
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:  # another scheduler queued it between the check and the insert
            continue
        queued.append(run)
    _forget_old_runs(now)
    return queued


# An every-minute entry records half a million occurrences a year; a week of them is plenty to
# see what ran and what did not.
KEEP_RUNS = dt.timedelta(days=7)


def _forget_old_runs(now: dt.datetime) -> None:
    ScheduledRun.objects.filter(due_at__lt=now - KEEP_RUNS).delete()
