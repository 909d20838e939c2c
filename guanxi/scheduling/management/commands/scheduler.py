"""``guanxi scheduler [--once] [--interval SECONDS]``: queue periodic jobs as they fall due.

A long-running process beside ``guanxi db_worker`` (``guanxi serve`` starts both): every
``--interval`` seconds it queues each ``GUANXI_SCHEDULE`` entry's latest due occurrence that is
not queued yet; the worker runs them. ``--once`` checks once and exits, for a system timer.
"""

import signal
import threading

from django.core.management.base import BaseCommand
from django.utils import timezone

from guanxi.core.arguments import positive_seconds
from guanxi.scheduling.services import configured_entries, enqueue_due


class Command(BaseCommand):
    help = "Queue the periodic jobs (GUANXI_SCHEDULE) as they fall due."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="check once and exit")
        parser.add_argument(
            "--interval", type=float, default=20.0, help="seconds between checks (default 20)"
        )

    def handle(self, *args, once: bool, interval: float, **options):
        positive_seconds("--interval", interval)
        entries = configured_entries()
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
            names = ", ".join(e.name for e in entries) or "nothing"
            self.stderr.write(f"Scheduler started: {names}; checking every {interval:g} s.")
        while True:
            for run in enqueue_due(entries=entries, now=timezone.now()):
                self.stdout.write(f"Queued {run.name} (due {run.due_at.isoformat()}).")
            self.stdout.flush()
            if once or stop.wait(interval):
                return
