"""Customer exports to Excel written in the background, for lists too long to write inside a
web request (a reverse proxy gives up on a response after about 60 s; a million customers take
minutes).

The export form, and ``GET /api/v1/customers/export?format=xlsx`` (which answers 202 with the
job), make a job (:func:`customer_export_job_create`) when the list has more than
``GUANXI_EXPORT_BACKGROUND_ROWS`` customers; the worker runs it (:func:`customer_export_job_run`)
with the same ``customers_export_xlsx`` as an immediate export, as its requester, and keeps the
workbook in the data directory under a random name until :func:`customer_exports_remove_expired`
deletes it ``EXPORT_KEPT_DAYS`` later (the ``customer-exports-cleanup`` entry of
``GUANXI_SCHEDULE``, hourly). A job and its file are seen by its requester only: the workbook may
hold phone and ID numbers in full, which not even an administrator was shown.

Each export writes exactly one audit row, when the workbook is written, in the same
transaction that marks the job ready, so a workbook that could not be kept leaves no row
claiming an export.
"""

import datetime as dt
import logging
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guanxi.audit.context import Origin, current_origin, reset_origin, set_origin

from .exports import MEDIA_TYPES, ExportFormat, ExportLayout, customers_export_xlsx_counted
from .models import CustomerExportJob
from .selectors import customer_list_for_user

logger = logging.getLogger(__name__)

EXPORT_KEPT_DAYS = 7


def exports_directory() -> Path:
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def customer_export_is_long(*, actor, filters: dict | None) -> bool:
    """Whether the list ``actor`` would export has more than ``GUANXI_EXPORT_BACKGROUND_ROWS``
    customers. Reads at most that many ids plus one instead of counting a million."""
    threshold = settings.GUANXI_EXPORT_BACKGROUND_ROWS
    customers = customer_list_for_user(actor, filters=filters).order_by()
    return customers.values_list("pk", flat=True)[threshold : threshold + 1].exists()


def _kept_filters(filters: dict | None) -> dict:
    """``filters`` as a job keeps them in JSON while it waits: a moment (``updated_since``) as
    ISO 8601 text with its UTC offset."""
    return {
        name: value.isoformat() if isinstance(value, dt.datetime) else value
        for name, value in (filters or {}).items()
    }


def _job_filters(job: CustomerExportJob) -> dict:
    """The filters a job kept, as the customer list takes them: a moment a datetime again."""
    filters = dict(job.filters)
    if isinstance(filters.get("updated_since"), str):
        filters["updated_since"] = dt.datetime.fromisoformat(filters["updated_since"])
    return filters


def customer_export_job_create(
    *, actor, filters: dict | None, reveal: bool, layout: str = ExportLayout.IMPORTABLE
) -> CustomerExportJob:
    """A queued job exporting what ``actor`` sees of the list narrowed by ``filters``, in
    ``layout``; the same export asked for earlier, while it still waits or is being written, is
    given again instead. A readable export is written in the requester's present language.

    Asking to reveal without the permission is refused here, at once, as an immediate export
    refuses it; the export checks it again when it runs. Making the job writes no audit row:
    nothing has been exported yet, and the export writes its own when it runs."""
    from .tasks import run_customer_export_job

    if reveal and not actor.may_view_sensitive():
        raise PermissionDenied(_("You may not export sensitive data in full."))
    if layout not in ExportLayout.values:
        raise ValueError(f"Unknown export layout: {layout!r}")
    language = translation.get_language() or settings.LANGUAGE_CODE
    filters = _kept_filters(filters)
    origin = current_origin()
    # The job and its queued task commit together: a job said to be waiting with no task
    # behind it would wait for ever.
    with transaction.atomic():
        # A second click (or a retried request) while the same export still waits or is being
        # written goes to that export instead of writing the list twice. The requester's row is
        # locked so that two requests at once take turns.
        get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
        waiting = CustomerExportJob.objects.filter(
            requested_by=actor,
            reveal=reveal,
            layout=layout,
            status__in=(CustomerExportJob.Status.QUEUED, CustomerExportJob.Status.RUNNING),
        ).order_by("pk")
        for earlier in waiting:
            # One asked for in another language is another file: a readable one's headers and
            # values are in it, and a re-import one's sheet names and header notes.
            if earlier.filters == filters and earlier.language == language:
                return earlier
        job = CustomerExportJob.objects.create(
            requested_by=actor,
            filters=filters,
            reveal=reveal,
            layout=layout,
            language=language,
            via=origin.via,
            remote_addr=origin.remote_addr,
        )
        run_customer_export_job.enqueue(job.pk)
    return job


def customer_export_job_run(*, job_id: int) -> None:
    """Write the job's workbook, unless it was started already (the same task queued twice
    runs once): ready with its count, or failed with the reason."""
    started = CustomerExportJob.objects.filter(
        pk=job_id, status=CustomerExportJob.Status.QUEUED
    ).update(status=CustomerExportJob.Status.RUNNING, started_at=timezone.now())
    if not started:
        logger.info("Customer export %s is not waiting; not running it.", job_id)
        return
    job = CustomerExportJob.objects.select_related("requested_by").get(pk=job_id)
    token = set_origin(Origin(via=job.via, remote_addr=job.remote_addr))
    stored: Path | None = None
    try:
        with translation.override(job.language):
            try:
                with transaction.atomic():
                    workbook, count = customers_export_xlsx_counted(
                        actor=job.requested_by,
                        filters=_job_filters(job),
                        reveal=job.reveal,
                        layout=job.layout,
                    )
                    with workbook:
                        stored = _store(workbook)
                    job.status = CustomerExportJob.Status.READY
                    job.path = str(stored)
                    job.rows = count
                    job.finished_at = timezone.now()
                    job.save(update_fields=["status", "path", "rows", "finished_at"])
            except PermissionDenied as refusal:
                _remove(stored)
                _fail(job, str(refusal))
            except Exception:
                _remove(stored)
                logger.exception("Customer export %s failed.", job_id)
                _fail(
                    job, _("The export could not be written. Try again, or tell an administrator.")
                )
    finally:
        reset_origin(token)


def _store(workbook) -> Path:
    """Copy the workbook into the exports directory under a name nobody can guess."""
    directory = exports_directory()
    while True:
        path = directory / f"{secrets.token_urlsafe(24)}.xlsx"
        try:
            with path.open("xb") as target:
                shutil.copyfileobj(workbook, target)
        except FileExistsError:
            continue
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def _fail(job: CustomerExportJob, reason: str) -> None:
    job.status = CustomerExportJob.Status.FAILED
    job.message = reason
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])


def customer_export_expired(job: CustomerExportJob, *, now: dt.datetime | None = None) -> bool:
    """Whether a ready job's workbook has been kept its days (it may not be deleted yet)."""
    now = now or timezone.now()
    return job.finished_at is not None and job.finished_at <= now - dt.timedelta(
        days=EXPORT_KEPT_DAYS
    )


def customer_export_removed(job: CustomerExportJob) -> bool:
    """Whether the job's workbook is no longer offered: deleted by the clean-up, or kept its
    days and about to be (a workbook past its days is not offered before the hourly clean-up
    comes by either)."""
    return job.status == CustomerExportJob.Status.EXPIRED or (
        job.status == CustomerExportJob.Status.READY and customer_export_expired(job)
    )


def customer_export_workbook(job: CustomerExportJob) -> FileResponse:
    """A ready job's workbook as a download, for the web page and the API alike; ``Http404``
    when its file has gone (deleted by hand, or by the clean-up a moment ago)."""
    try:
        workbook = open(job.path, "rb")  # noqa: SIM115 (FileResponse closes it)
    except OSError:
        raise Http404 from None
    return FileResponse(
        workbook,
        as_attachment=True,
        filename=customer_export_job_filename(job),
        content_type=MEDIA_TYPES[ExportFormat.XLSX],
    )


def customer_exports_remove_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the workbooks kept ``EXPORT_KEPT_DAYS`` days and mark their jobs removed; a job
    still waiting or writing after as long (its worker died) is marked failed. Returns how many
    jobs were ended."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=EXPORT_KEPT_DAYS)
    ended = 0
    for job in CustomerExportJob.objects.filter(
        status=CustomerExportJob.Status.READY, finished_at__lte=cutoff
    ):
        # The job is marked first: a file deleted for a change that then failed would leave a
        # job offering a download that is gone.
        if CustomerExportJob.objects.filter(
            pk=job.pk, status=CustomerExportJob.Status.READY
        ).update(status=CustomerExportJob.Status.EXPIRED, path=""):
            _remove(Path(job.path) if job.path else None)
            ended += 1
    ended += CustomerExportJob.objects.filter(
        status__in=(CustomerExportJob.Status.QUEUED, CustomerExportJob.Status.RUNNING),
        created_at__lte=cutoff,
    ).update(
        # No reason: the page says it did not finish, in its reader's language.
        status=CustomerExportJob.Status.FAILED,
        message="",
        finished_at=now,
    )
    return ended


def customer_export_job_filename(job: CustomerExportJob) -> str:
    """The workbook's download name, in the style of an immediate export's, with the time the
    export was asked for (not the time of the download)."""
    return f"guanxi-customers-{timezone.localtime(job.created_at):%Y%m%d-%H%M}.xlsx"


def access_customer_export_job(user, job_id) -> CustomerExportJob:
    """A background export ``user`` asked for, else ``CustomerExportJob.DoesNotExist``: nobody
    else sees it, administrators included, since its workbook may hold revealed numbers."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise CustomerExportJob.DoesNotExist from None
    return CustomerExportJob.objects.get(pk=pk, requested_by=user)
