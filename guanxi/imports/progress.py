"""How far a running import has got, stored where its page reads it: the rows read of the file's,
what became of them, and how many rows a second the run reads.

A real import writes its counts with each batch, in the batch's transaction. A dry run cannot:
it is one transaction rolled back at the end (on SQLite against a copy of the database, see
``dry_run``), so what it writes there nobody else sees, and on PostgreSQL writing the job's row
in that transaction would lock the row to its end, so that a request to stop would wait for the
whole file. Its progress is written between batches outside that transaction instead, each write
committed at once: on SQLite through the real database's connection (``real_database``), on
PostgreSQL through a second connection of the run's own.

A dry run's last row is not written as it goes: it keeps nothing to carry on from. Stopped short
(asked to, failed, interrupted) it is set back to having read nothing
(:meth:`RunProgress.forget_dry_run`), and run again it starts over from the first row
(``services._claim``). Inside a transaction of the caller's (a test's, or a task run at once by
the one that queued it) nobody else could see a dry run's progress before it ends, and it is not
written there.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections

from .customer_import import COUNTED
from .dry_run import real_database
from .models import ImportJob

# What a dry run writes of its progress between batches.
DRY_RUN_PROGRESS = [name for name in COUNTED if name != "last_row"]


class RunProgress:
    """The progress callback an importer is given (it is called with the number of rows of each
    batch done): it stores the job's rate and, for a dry run, its counts, then tells
    ``report`` (the command line's progress bar, say). :meth:`close` at the run's end."""

    def __init__(self, job: ImportJob, report: Callable[[int], None] | None = None):
        self.job = job
        self.report = report or (lambda count: None)
        self.rows = 0
        self.started = time.monotonic()
        # Decided before the dry run opens its own transaction.
        self.dry_run_shown = job.dry_run and not connection.in_atomic_block
        self._second = None  # PostgreSQL: the connection a dry run's progress is written by

    def __call__(self, count: int) -> None:
        job = self.job
        self.rows += count
        seconds = time.monotonic() - self.started
        # Rows of this run over its own time: a resumed import's earlier rows, and the time it
        # lay stopped, would make a rate it does not have.
        job.rows_per_second = self.rows / seconds if seconds > 0 else None
        if not job.dry_run:
            # The counts are written by the batch itself.
            ImportJob.objects.filter(pk=job.pk).update(rows_per_second=job.rows_per_second)
        elif self.dry_run_shown:
            with self._beside_the_dry_run():
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_per_second=job.rows_per_second,
                    **{name: getattr(job, name) for name in DRY_RUN_PROGRESS},
                )
        self.report(count)

    @contextmanager
    def _beside_the_dry_run(self) -> Iterator[None]:
        """For the block, this thread's default connection is one to the real database outside
        the dry run's transaction."""
        if connection.vendor != "postgresql":
            with real_database():
                yield
            return
        dry_run_connection = connections[DEFAULT_DB_ALIAS]
        if self._second is None:
            self._second = type(dry_run_connection)(
                dict(dry_run_connection.settings_dict), DEFAULT_DB_ALIAS
            )
        connections[DEFAULT_DB_ALIAS] = self._second
        try:
            yield
        finally:
            connections[DEFAULT_DB_ALIAS] = dry_run_connection

    def forget_dry_run(self) -> None:
        """A dry run that stopped short keeps nothing, its counts neither: the job says again
        that it has read nothing, as it did before the run wrote its progress."""
        ImportJob.objects.filter(pk=self.job.pk).update(**dict.fromkeys(DRY_RUN_PROGRESS, 0))
        for name in DRY_RUN_PROGRESS:
            setattr(self.job, name, 0)

    def close(self) -> None:
        if self._second is not None:
            self._second.close()
            self._second = None
