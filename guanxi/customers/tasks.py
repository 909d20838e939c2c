"""Background work of customers, for the worker (``guanxi db_worker``) and the schedule (the
``customer-exports-cleanup`` entry of ``GUANXI_SCHEDULE`` runs hourly)."""

from django_tasks import task

from .export_jobs import customer_export_job_run, customer_exports_remove_expired


@task()
def run_customer_export_job(job_id: int) -> None:
    """Write a background export's workbook (see :mod:`guanxi.customers.export_jobs`)."""
    customer_export_job_run(job_id=job_id)


@task()
def remove_expired_customer_exports() -> int:
    """Delete the background exports' workbooks kept their days; returns how many."""
    return customer_exports_remove_expired()
