"""How a running import learns that someone has asked it to stop.

A request to stop (:func:`guanxi.imports.services.import_job_cancel`) cannot reach into another
process, so it marks the job's row and the runner looks at the mark between two batches. Every
batch is one transaction: stopping there leaves the batches before it written and none half
written, and the job's counts are those of the batches written.

A dry run stops there too: it throws away all it wrote anyway. It runs in one transaction (on
SQLite against a copy of the database, see ``dry_run``), so the check reads the real database,
where the request is: on PostgreSQL at READ COMMITTED a read in that transaction sees what
others have committed, and on SQLite it goes through the real connection, not the copy's.
"""

from .dry_run import real_database
from .models import ImportJob


class ImportCancelled(Exception):
    """Raised by a runner, between two batches, when its job has been asked to stop."""


def stop_if_cancel_requested(job: ImportJob) -> None:
    """Raise :class:`ImportCancelled` when someone has asked the job to stop.

    One read of the job's row by its primary key per batch (2,000 rows by default), outside the
    batch's transaction (in a dry run, inside its one transaction: see above)."""
    with real_database():
        asked = ImportJob.objects.filter(pk=job.pk, cancel_requested_at__isnull=False).exists()
    if asked:
        raise ImportCancelled
