"""Queueing due occurrences: once each, whatever how often or by how many it is asked."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils.module_loading import import_string
from django_tasks.base import Task

from guanxi.scheduling.models import ScheduledRun
from guanxi.scheduling.schedule import ScheduleEntry
from guanxi.scheduling.services import configured_entries, enqueue_due
from guanxi.scheduling.tests import tasks

UTC = dt.UTC
TASK = "guanxi.scheduling.tests.tasks.count_a_call"
NIGHTLY = ScheduleEntry(name="nightly", task=TASK, at=dt.time(2, 30), timezone="Asia/Shanghai")
SWEEP = ScheduleEntry(name="sweep", task=TASK, every_minutes=1)


@pytest.fixture(autouse=True)
def no_calls():
    tasks.CALLS.clear()


@pytest.mark.django_db
def test_each_occurrence_is_queued_and_run_once():
    morning = dt.datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    queued = enqueue_due(entries=[NIGHTLY], now=morning)
    assert [(r.name, r.due_at) for r in queued] == [
        ("nightly", dt.datetime(2026, 12, 2, 18, 30, tzinfo=UTC))
    ]
    assert queued[0].task_id and len(tasks.CALLS) == 1
    # Asked again all day long: nothing more.
    for hours in (1, 5, 17):
        assert enqueue_due(entries=[NIGHTLY], now=morning + dt.timedelta(hours=hours)) == []
    assert len(tasks.CALLS) == 1
    # The next night's occurrence is new.
    next_night = dt.datetime(2026, 12, 3, 18, 31, tzinfo=UTC)
    assert len(enqueue_due(entries=[NIGHTLY], now=next_night)) == 1
    assert len(tasks.CALLS) == 2
    assert ScheduledRun.objects.count() == 2


@pytest.mark.django_db
def test_occurrences_missed_while_stopped_run_once_not_once_each():
    enqueue_due(entries=[SWEEP], now=dt.datetime(2026, 12, 3, 10, 0, 5, tzinfo=UTC))
    # Down for an hour: one run on coming back, not sixty.
    back = dt.datetime(2026, 12, 3, 11, 0, 30, tzinfo=UTC)
    assert len(enqueue_due(entries=[SWEEP], now=back)) == 1
    assert len(tasks.CALLS) == 2


@pytest.mark.django_db
def test_an_occurrence_recorded_by_another_scheduler_is_not_queued_again():
    due = dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    ScheduledRun.objects.create(name="sweep", due_at=due)
    assert enqueue_due(entries=[SWEEP], now=due + dt.timedelta(seconds=20)) == []
    assert tasks.CALLS == []


@pytest.mark.django_db
def test_a_task_that_cannot_be_queued_leaves_no_record():
    broken = ScheduleEntry(
        name="broken", task="guanxi.scheduling.tests.tasks.missing", at=dt.time(1)
    )
    with pytest.raises(ImportError):
        enqueue_due(entries=[broken], now=dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    assert not ScheduledRun.objects.exists()


@pytest.mark.django_db
def test_the_command_checks_once_and_reports_what_it_queued(capsys):
    with override_settings(GUANXI_SCHEDULE={"sweep": {"task": TASK, "every_minutes": 1}}):
        call_command("scheduler", "--once")
        call_command("scheduler", "--once")
    output = capsys.readouterr().out
    assert output.count("Queued sweep") == 1
    assert len(tasks.CALLS) == 1


def test_the_configured_schedule_names_real_tasks():
    entries = configured_entries()
    assert "analytics-refresh" in {e.name for e in entries}
    for entry in entries:
        assert isinstance(import_string(entry.task), Task)


@pytest.mark.django_db
def test_the_service_level_sweep_runs_every_minute():
    [sweep] = [e for e in configured_entries() if e.name == "sla-sweep"]
    assert sweep.every_minutes == 1
    assert sweep.task == "guanxi.service.tasks.sweep_service_levels"


@pytest.mark.django_db
def test_occurrences_older_than_a_week_are_forgotten_and_not_queued_again():
    start = dt.datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)
    enqueue_due(entries=[SWEEP], now=start)
    enqueue_due(entries=[SWEEP], now=start + dt.timedelta(days=6, minutes=1))
    assert ScheduledRun.objects.count() == 2
    later = start + dt.timedelta(days=8)
    assert len(enqueue_due(entries=[SWEEP], now=later)) == 1
    assert sorted(ScheduledRun.objects.values_list("due_at", flat=True)) == [
        dt.datetime(2026, 12, 7, 0, 1, tzinfo=UTC),
        dt.datetime(2026, 12, 9, 0, 0, tzinfo=UTC),
    ]
    # Asking again for the same moment queues nothing: only the old rows went.
    assert enqueue_due(entries=[SWEEP], now=later) == []
