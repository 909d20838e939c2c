"""Imports started from the web run here, in the background worker (``guanxi db_worker``)."""

from django_tasks import task

from .models import ImportJob
from .services import import_job_run


@task()
def run_import_job(job_id: int) -> None:
    job = ImportJob.objects.select_related("started_by").get(pk=job_id)
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.INTERRUPTED):
        import_job_run(job=job)
