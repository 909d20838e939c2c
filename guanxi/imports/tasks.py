"""Imports started from the web run here, in the background worker (``guanxi db_worker``)."""

import logging

from django_tasks import task

from .models import ImportJob
from .services import ImportJobUnavailable, import_job_run

logger = logging.getLogger(__name__)


@task()
def run_import_job(job_id: int) -> None:
    """Run a queued job, carry on with an interrupted one, or take over one whose worker died.

    The same job queued twice (a double click, a resume while the first task waits) runs once:
    the second task finds it running or finished and does nothing."""
    job = ImportJob.objects.select_related("started_by").get(pk=job_id)
    try:
        import_job_run(job=job, startable=(ImportJob.Status.QUEUED, ImportJob.Status.INTERRUPTED))
    except ImportJobUnavailable as refusal:
        logger.info("Not running %s.", refusal)
