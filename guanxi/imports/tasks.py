"""Imports started from the web run here, in the background worker (``guanxi db_worker``); the
schedule's ``import-uploads-cleanup`` entry deletes their uploaded files once kept their days."""

import datetime as dt
import logging
import time

from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from .models import ImportJob
from .services import ImportJobUnavailable, import_job_run, import_uploads_remove_expired

logger = logging.getLogger(__name__)

# How long a task that found its queued job's lock held waits before it tries again.
RETRY_SECONDS = 5


def _still_queued(job_id: int) -> bool:
    return ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).exists()


@task()
def run_import_job(job_id: int) -> None:
    """Run a queued job, carry on with an interrupted one, or take over one whose worker died.

    The same job queued twice (a double click, a resume while the first task waits) runs once:
    the second task finds it running or finished and does nothing.

    A job found still queued while another holds its lock is tried again a few seconds later
    rather than given up: the lock is held a moment by whoever discards, cancels or queues a job
    again, and one of those trying as the job was started finds it queued, changes nothing and
    lets go. Given up, the job would say "queued" for ever with nothing behind it. A runner
    holding the lock marks the job running at once, so the task tried again then does nothing
    (and the job's lock and one-statement claim see to it that no row is imported twice)."""
    while True:
        job = ImportJob.objects.select_related("started_by").get(pk=job_id)
        try:
            import_job_run(
                job=job, startable=(ImportJob.Status.QUEUED, ImportJob.Status.INTERRUPTED)
            )
            return
        except ImportJobUnavailable as refusal:
            if not (refusal.busy and _still_queued(job_id)):
                logger.info("%s", refusal)
                return
        backend = run_import_job.get_backend()
        if backend.supports_defer:
            # The worker's thread is not kept waiting: the task is queued again, for later.
            run_import_job.using(
                run_after=timezone.now() + dt.timedelta(seconds=RETRY_SECONDS)
            ).enqueue(job_id)
            logger.info("Import #%s is busy while queued: trying again shortly.", job_id)
            return
        if connection.in_atomic_block:
            # A backend that runs tasks at once runs this inside the transaction that queued
            # the job, which holds the job's row: whoever holds the lock may be waiting for that
            # row (a discard clicked as the job was started), so waiting here would wait for
            # ever, the request never answered. Tried again once that transaction commits.
            transaction.on_commit(lambda: run_import_job.enqueue(job_id))
            logger.info("Import #%s is busy while queued: trying again once it commits.", job_id)
            return
        # Otherwise a backend that runs tasks at once (tests) can only wait here.
        time.sleep(RETRY_SECONDS)


@task()
def remove_expired_import_uploads() -> int:
    """Delete the uploaded files of imports that ended their days ago; returns how many."""
    return import_uploads_remove_expired()
