"""Reads of imports: a user sees the imports they started; administrators see all."""

from django.db.models import QuerySet

from guanxi.accounts.roles import Role

from .models import ImportJob, ImportRowError


def import_jobs_for_user(user) -> QuerySet[ImportJob]:
    jobs = ImportJob.objects.select_related("started_by", "stopped_by")
    if user.is_superuser or user.role == Role.ADMIN:
        return jobs
    return jobs.filter(started_by=user)


def access_import_job(user, job_id) -> ImportJob:
    """One import the user may look at, else ``ImportJob.DoesNotExist``."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise ImportJob.DoesNotExist from None
    return import_jobs_for_user(user).get(pk=pk)


def import_errors(job: ImportJob, *, limit: int = 50) -> list[ImportRowError]:
    return list(ImportRowError.objects.filter(job=job).order_by("row_number", "id")[:limit])
