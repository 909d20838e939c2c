"""Starting, running and resuming imports, and writing their error files.

A job is made by :func:`import_job_create` (which checks the file and the mapping before
anything is imported) and run by :func:`import_job_run` — from the command line directly, from
the web as a background task. Whoever starts a job imports as themselves: the visibility rule
decides which customers their rows may update or merge into, and every change is audited under
their name.
"""

import csv
import datetime as dt
import hashlib
import logging
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, Func, IntegerField, Max, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.audit.context import Origin, current_origin, reset_origin, set_origin
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.audit.summaries import Summary
from guanxi.core.files import replaced_on_success
from guanxi.core.formulas import neutralise_formula
from guanxi.customers.models import CustomFieldDefinition
from guanxi.customers.visibility import can_create_customers

from .cancelling import ImportCancelled, stop_if_cancel_requested
from .job_locks import JobLockBusy, job_lock, job_runner_present
from .mapping import ColumnMapping, MappingError, allowed_fields, build_mapping
from .models import ImportJob, ImportRememberedId, ImportRowError
from .readers import FileProblem, TableFile, open_table

ERROR_COLUMNS = ("import_row", "import_error")

logger = logging.getLogger(__name__)


def _uploads_path() -> Path:
    return Path(settings.DATA_DIR) / "imports"


def uploads_directory() -> Path:
    """Where web uploads are kept (made on first use)."""
    path = _uploads_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store_upload(path: Path, digest: str) -> Path:
    """Copy an upload into the uploads directory under a name no other upload can take.

    The same file uploaded twice in one second (two colleagues, or a double click) must not
    share a copy: writing the second would truncate the first while its job reads it.
    """
    directory = uploads_directory()
    while True:
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{digest[:12]}-{secrets.token_hex(4)}{path.suffix}"
        stored = directory / name
        try:
            with stored.open("xb") as target, path.open("rb") as source:
                shutil.copyfileobj(source, target)
        except FileExistsError:
            continue  # another upload's name: theirs, left alone
        except BaseException:
            # Cut short (a full disk): no job will name the copy, so nothing would delete it.
            stored.unlink(missing_ok=True)
            raise
        return stored


def stored_upload(job: ImportJob) -> Path | None:
    """The copy of the job's file kept in the uploads directory (a web upload's), else None:
    a command-line import reads the user's own file, which is theirs to keep or delete, even
    when it lies in the uploads directory. Only what this says is deleted."""
    path = Path(job.path)
    return path if job.uploaded and path.parent == _uploads_path() else None


# The statuses of a job that reads its file, or may still be started or carried on (the last
# two: stopped short, see ``CARRIED_ON_FROM``).
UPLOAD_NEEDED_BY = (
    ImportJob.Status.DRAFT,
    ImportJob.Status.QUEUED,
    ImportJob.Status.RUNNING,
    ImportJob.Status.INTERRUPTED,
    ImportJob.Status.FAILED,
)


def upload_removed(job: ImportJob) -> bool:
    """Whether the job's uploaded file has been deleted (see :func:`_remove_upload`)."""
    path = stored_upload(job)
    return path is not None and not path.exists()


def _remove_upload_on_commit(job: ImportJob) -> None:
    """Delete the job's uploaded file once the change that ended the job (cancelled or
    discarded: never to be started or carried on) has committed: a file deleted for a change
    that then rolled back could not be brought back."""
    transaction.on_commit(lambda: _remove_upload(job))


def _forget_remembered_ids(job: ImportJob) -> None:
    """Delete the external ids the job remembered for a resume (see ``ImportRememberedId``), in
    the change that ended it (cancelled or discarded): nothing carries it on to read them, and
    nothing else would ever delete them."""
    ImportRememberedId.objects.filter(job=job).delete()


def upload_retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Jobs that ended before this keep their uploaded files no longer
    (``GUANXI_IMPORT_UPLOAD_RETENTION_DAYS``)."""
    days = settings.GUANXI_IMPORT_UPLOAD_RETENTION_DAYS
    return (now or timezone.now()) - dt.timedelta(days=days)


def _upload_still_needed(job: ImportJob, *, cutoff: dt.datetime | None = None) -> bool:
    """Whether another job reads the job's uploaded file, or may: one not ended (a draft, queued,
    running, or stopped short and offered to carry on), or a web dry run that finished within
    the retention (``cutoff``, :func:`upload_retention_cutoff`), whose file can still be
    imported for real from its page (:func:`import_job_for_real`).

    A finished dry run counts, so the file is kept as long as it might be imported for real:
    otherwise setting aside that import's draft would delete the file, and a second draft made
    from the dry run meanwhile would be left without it. Not for ever: after the retention the
    file goes like any other, and the dry run's page says so."""
    return (
        ImportJob.objects.filter(path=job.path)
        .exclude(pk=job.pk)
        .annotate(ended_at=Coalesce("finished_at", "created_at"))
        .filter(
            Q(status__in=UPLOAD_NEEDED_BY)
            | Q(
                status=ImportJob.Status.FINISHED,
                dry_run=True,
                via="web",
                ended_at__gt=cutoff or upload_retention_cutoff(),
            )
        )
        .exists()
    )


def _remove_upload(job: ImportJob, *, cutoff: dt.datetime | None = None) -> None:
    """Delete the job's uploaded file, which nothing reads any more, unless another job still
    needs it (:func:`_upload_still_needed`: a dry run and the import of its file for real share
    one). The rejected rows are written from the rows stored with their cells and the header
    stored on the job, so the error file stays; a job made before the header was stored gets
    it now, from the file.

    The jobs reading the file are locked while it is deleted: "Import this file for real"
    locks its dry run while it makes a draft reading the file, so the draft is either made
    first (and found here, which keeps the file) or finds the file gone and says so."""
    path = stored_upload(job)
    if path is None:
        return
    with transaction.atomic():
        list(ImportJob.objects.select_for_update().filter(path=job.path).order_by("pk"))
        # Asked again once the locks are held: a draft committed meanwhile is seen now.
        if _upload_still_needed(job, cutoff=cutoff):
            return
        if not job.header and path.exists():
            header = _job_header(job)
            if header:
                ImportJob.objects.filter(pk=job.pk).update(header=header)
                job.header = header
        _unlink_upload(path, job)


# The statuses of a job that has ended for good: nothing reads its file again, once a finished
# dry run has not been imported for real within the retention.
ENDED = (ImportJob.Status.FINISHED, ImportJob.Status.CANCELLED, ImportJob.Status.DISCARDED)


def import_uploads_remove_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the uploaded files of web imports (dry runs included) whose every job ended
    longer than ``GUANXI_IMPORT_UPLOAD_RETENTION_DAYS`` ago: finished, cancelled or discarded.
    A file another job still needs (a draft, or an import that stopped short and may be carried
    on) is kept (:func:`_remove_upload`). The jobs, their counts and their rejected rows stay,
    so the error file can still be downloaded. Returns how many files were deleted.

    The uploads directory is walked rather than the jobs, so each run costs as many files as
    are kept, not as many jobs as were ever made. Files no job refers to (an upload whose job
    was never made) are left alone."""
    cutoff = upload_retention_cutoff(now)
    files = sorted(str(path) for path in uploads_directory().iterdir() if path.is_file())
    removed = 0
    for start in range(0, len(files), 500):
        jobs_by_path: dict[str, list[ImportJob]] = {}
        for job in ImportJob.objects.filter(path__in=files[start : start + 500]).order_by("pk"):
            jobs_by_path.setdefault(job.path, []).append(job)
        for path, jobs in jobs_by_path.items():
            # A file in the folder that no job holds as its upload is someone's own (read by a
            # command-line import, say): never deleted.
            owners = [job for job in jobs if job.uploaded]
            if not owners or not all(
                job.status in ENDED and (job.finished_at or job.created_at) <= cutoff
                for job in jobs
            ):
                continue
            _remove_upload(owners[-1], cutoff=cutoff)
            if not Path(path).exists():
                removed += 1
    logger.info(
        "Deleted %d uploaded import files of imports that ended more than %d days ago",
        removed,
        settings.GUANXI_IMPORT_UPLOAD_RETENTION_DAYS,
    )
    return removed


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def custom_field_keys() -> frozenset[str]:
    return frozenset(
        CustomFieldDefinition.objects.filter(is_active=True).values_list("key", flat=True)
    )


def job_mapping(job: ImportJob, table: TableFile) -> ColumnMapping:
    try:
        return build_mapping(
            table.header, kind=job.kind, explicit=job.mapping, custom_field_keys=custom_field_keys()
        )
    except MappingError as error:
        raise ValidationError({"mapping": str(error)}) from None


def import_job_create(
    *,
    actor,
    path: Path,
    filename: str,
    kind: str,
    mapping: dict | None = None,
    dedup: str = ImportJob.Dedup.AUTO,
    dry_run: bool = False,
    via: str = "cli",
    keep_copy: bool = False,
    check_mapping: bool = True,
) -> ImportJob:
    """A job for ``path``, after checking that the file can be read and the mapping fits it.

    ``keep_copy`` copies the file into the data directory (uploads, which the web server
    deletes after the request). ``check_mapping=False`` leaves the mapping to be completed
    (the web form's suggestion, which the user confirms before starting)."""
    if not can_create_customers(actor):
        raise PermissionDenied(_("You may not import."))
    if kind not in ImportJob.Kind.values:
        raise ValidationError({"kind": _("Choose customers, interactions or orders.")})
    if dedup not in ImportJob.Dedup.values:
        raise ValidationError({"dedup": _("Choose auto, review or off.")})
    path = Path(path)
    try:
        table = open_table(path, filename=filename)
        # Counting reads the whole file, so a workbook damaged after its header is refused here
        # rather than failing the job half-way.
        total_rows = table.count_rows()
    except FileProblem as error:
        raise ValidationError({"file": str(error)}) from None
    if check_mapping:
        try:
            build_mapping(
                table.header,
                kind=kind,
                explicit=mapping or {},
                custom_field_keys=custom_field_keys(),
            )
        except MappingError as error:
            raise ValidationError({"mapping": str(error)}) from None
    digest = file_sha256(path)
    # The copy is made before the row, outside any transaction: copying a large file inside one
    # would hold the database's write lock meanwhile (all of it, on SQLite). Copied after the
    # row committed instead (on_commit), there would be a job whose file is not there yet, and
    # never if the copy failed (a full disk).
    stored = _store_upload(path, digest) if keep_copy else None
    try:
        # Durable for a copy: committed here, the row is kept exactly when its copy is. In a
        # caller's transaction that later rolled back, the copy would stay with nothing naming
        # it, which nothing ever deletes (the retention sweep goes by the jobs).
        with transaction.atomic(durable=keep_copy):
            return ImportJob.objects.create(
                kind=kind,
                filename=filename[:255],
                path=str(stored or path),
                uploaded=keep_copy,
                file_sha256=digest,
                header=table.header,
                mapping=mapping or {},
                dedup=dedup,
                dry_run=dry_run,
                via=via,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                total_rows=total_rows,
                started_by=actor,
            )
    except BaseException:
        if stored is not None:
            stored.unlink(missing_ok=True)
        raise


def resumable_job(*, actor, path: Path, kind: str, digest: str | None = None) -> ImportJob | None:
    """The newest unfinished job of this user on a file with the same contents (``digest``,
    the file's :func:`file_sha256` when the caller has it already).

    A "running" one is among them: its process may be gone. :func:`import_job_run` refuses
    it while its runner is still there. Cancelled and discarded jobs are not, nor one asked
    to stop (see :func:`ended_job` for why nothing is found)."""
    return (
        ImportJob.objects.filter(
            started_by=actor,
            kind=kind,
            file_sha256=digest or file_sha256(Path(path)),
            dry_run=False,
            status__in=[
                ImportJob.Status.INTERRUPTED,
                ImportJob.Status.FAILED,
                ImportJob.Status.RUNNING,
            ],
            cancel_requested_at__isnull=True,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def ended_job(*, actor, kind: str, digest: str) -> ImportJob | None:
    """The newest import of this user on a file with these contents, if it was cancelled or
    discarded: the reason there is nothing to resume, for the command line to say."""
    newest = (
        ImportJob.objects.filter(started_by=actor, kind=kind, file_sha256=digest, dry_run=False)
        .exclude(status=ImportJob.Status.DRAFT)
        .select_related("stopped_by")
        .order_by("-created_at", "-id")
        .first()
    )
    ended = (ImportJob.Status.CANCELLED, ImportJob.Status.DISCARDED)
    if newest is None or newest.status == ImportJob.Status.FINISHED:
        # Asked to stop too late, after its last batch: it finished, nothing was cancelled.
        return None
    if newest.status in ended or newest.cancel_requested_at:
        return newest
    return None


class ImportJobUnavailable(Exception):
    """The job cannot be run now: another process runs it (``busy``), or its status is not
    one the caller may start it from (finished, say; none when the job was deleted).

    Its text is a whole sentence in the language of the request, to be shown as it is: the
    status is named as the import's pages name it, capitals and all."""

    def __init__(self, job_id: int, *, busy: bool, status: str = ""):
        self.job_id, self.busy, self.status = job_id, busy, status
        if busy:
            text = _("Import #%(number)d is being run by another process.") % {"number": job_id}
        elif status:
            text = _("Import #%(number)d is not run: its status is “%(status)s”.") % {
                "number": job_id,
                "status": ImportJob.Status(status).label,
            }
        else:
            text = _("Import #%(number)d is not run: it was deleted.") % {"number": job_id}
        super().__init__(text)


# What a job may be started or carried on from. A "running" job may be taken over too, but only
# by whoever holds its lock (see ``job_locks``): then whoever marked it running has gone.
STARTABLE = (
    ImportJob.Status.DRAFT,
    ImportJob.Status.QUEUED,
    ImportJob.Status.INTERRUPTED,
    ImportJob.Status.FAILED,
)


def import_job_abandoned(job: ImportJob) -> bool:
    """Whether the job says it is running while no process runs it (one killed, say)."""
    return job.status == ImportJob.Status.RUNNING and not job_runner_present(job.pk)


def _claim(job: ImportJob, startable) -> None:
    """Mark the job running if its status allows, in one statement, so that of two callers
    that both read a startable status only one goes on. The caller holds the job's lock."""
    from .customer_import import COUNTED

    # A dry run starts over from the first row: one stopped short kept nothing, and one killed
    # outright may have left the progress it had written (see ``progress``).
    starting_over = dict.fromkeys(COUNTED, 0) if job.dry_run else {}
    claimed = ImportJob.objects.filter(
        pk=job.pk, status__in=[*startable, ImportJob.Status.RUNNING]
    ).update(
        status=ImportJob.Status.RUNNING,
        started_at=Coalesce("started_at", Value(timezone.now())),
        rows_per_second=None,  # until this run has read a batch
        **starting_over,
    )
    if not claimed:
        status = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        raise ImportJobUnavailable(job.pk, busy=False, status=status or "")
    if job.dry_run:
        # Read again from the first row, those of its rows an earlier attempt rejected are
        # rejected again.
        ImportRowError.objects.filter(job=job).delete()
    # What another run wrote (counters, the last row) is in the database, not in this object.
    job.refresh_from_db()


def import_job_run(
    *,
    job: ImportJob,
    path: Path | None = None,
    progress=None,
    batch_size: int | None = None,
    timings: dict | None = None,
    startable=STARTABLE,
    path_sha256: str | None = None,
    origin: Origin | None = None,
) -> ImportJob:
    """Run (or carry on with) a job; on an error the job is marked failed, and the batches
    written so far stay, so it can be resumed. ``timings``, if given, receives the seconds
    spent in each phase of the work.

    The run holds the job's lock (``job_locks``) from start to end and first marks the job
    running, from one of the ``startable`` statuses or from "running" left by a runner that is
    gone; a job run elsewhere now, or in another status, raises ``ImportJobUnavailable`` and
    nothing is done. However the run stops — an error, Ctrl-C, ``sys.exit`` from a worker told
    to stop — the job is left failed or interrupted, never "running".

    ``path`` is where the job's file is now, when that is not where it was: a command-line
    import resumed with the file moved since. It must hold the same bytes (checked), since
    ``last_row`` counts rows of that file; the job remembers the new place. ``path_sha256`` is
    its digest when the caller has read it already (hashing reads the whole file again).

    ``origin`` is where the rows this run writes come from, for their audit rows: by default
    the job's, the web request that started it or last queued it again (a background run
    outside any request). The command line gives its own: a web import carried on from there
    writes its rows from there."""
    moved = path is not None and Path(path) != Path(job.path)
    if moved and (path_sha256 or file_sha256(Path(path))) != job.file_sha256:
        raise ValidationError({"file": _("This is not the file the import was started with.")})
    try:
        with job_lock(job.pk):
            _claim(job, startable)
            return _run_claimed(
                job=job,
                path=path,
                progress=progress,
                batch_size=batch_size,
                timings=timings,
                origin=origin,
            )
    except JobLockBusy:
        raise ImportJobUnavailable(job.pk, busy=True) from None


def _read_from_now_on(job: ImportJob, path: Path) -> None:
    """Have the job read ``path`` from now on (a stopped import carried on from the user's own
    copy of its file elsewhere), and delete the copy of the web upload it read until now when no
    other job refers to it: no job would hold it as its upload any more, so the clean-up, which
    deletes only such files, would leave it in the uploads folder for ever.

    The jobs referring to that copy are locked as for the clean-up (:func:`_remove_upload`).
    One that does (the dry run an import for real was made from, another draft made from it)
    is a web job holding it as its upload too, so the clean-up deletes it once they are done."""
    replaced = stored_upload(job)
    with transaction.atomic():
        job.path, job.uploaded = str(path), False
        job.save(update_fields=["path", "uploaded"])
        if replaced is None:
            return
        if not list(
            ImportJob.objects.select_for_update().filter(path=str(replaced)).order_by("pk")
        ):
            _unlink_upload(replaced, job)


def _unlink_upload(path: Path, job: ImportJob) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        # The job goes on whatever happens to its file: say so in the log, for whoever looks
        # after the data directory.
        logger.warning(
            "The uploaded file of import #%s could not be deleted", job.pk, exc_info=True
        )


class _UploadGone(Exception):
    """The web upload a job was to read has been deleted."""


def _run_claimed(
    *, job: ImportJob, path, progress, batch_size, timings, origin: Origin | None
) -> ImportJob:
    from .customer_import import BATCH_SIZE, CustomerImporter
    from .interaction_import import InteractionImporter
    from .order_import import OrderImporter
    from .progress import RunProgress

    # A web import runs in the background, outside the request that started it: its audit rows
    # name that request's address, which the job kept.
    token = set_origin(origin or Origin(via=job.via, remote_addr=job.client_address))
    try:
        # Asked to stop while it waited in the queue: nothing is read or written.
        stop_if_cancel_requested(job)
        if path is not None and Path(path) != Path(job.path):
            # The file given on the command line is the user's own: never to be deleted as
            # the upload it replaces would have been. Switched first, so that a resume from
            # such a file does not fail for want of the upload it no longer reads.
            _read_from_now_on(job, Path(path))
        if upload_removed(job):
            # Deleted while the job waited (by hand: the clean-up keeps it meanwhile). The
            # error reading it would name a path of the server.
            raise _UploadGone
        table = open_table(Path(job.path), filename=job.filename)
        mapping = job_mapping(job, table)
        importer_class = {
            ImportJob.Kind.CUSTOMERS: CustomerImporter,
            ImportJob.Kind.INTERACTIONS: InteractionImporter,
            ImportJob.Kind.ORDERS: OrderImporter,
        }[job.kind]
        run_progress = RunProgress(job, report=progress)
        with translation.override(job.language):
            importer = importer_class(
                job=job,
                table=table,
                mapping=mapping,
                batch_size=batch_size or BATCH_SIZE,
                progress=run_progress,
            )
            try:
                return importer.run()
            except BaseException:
                if job.dry_run:
                    _forget_dry_run_progress(run_progress)
                raise
            finally:
                run_progress.close()
                if timings is not None:
                    timings.update(getattr(importer, "seconds", {}))
    except ImportCancelled:
        _mark_cancelled(job)
        return job
    except _UploadGone:
        with translation.override(job.language):
            _mark(
                job,
                ImportJob.Status.FAILED,
                _("The uploaded file is no longer there: upload the file again."),
            )
        return job
    except Exception as error:
        # A refusal says in a sentence of the job's language what stopped the import (see
        # ``importer_deactivated``); anything else is told by its kind too.
        if isinstance(error, PermissionDenied) and str(error):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        _mark(job, ImportJob.Status.FAILED, message)
        raise
    except BaseException:
        # Ctrl-C, or sys.exit() from the background worker told to stop a second time: the
        # batch being written has rolled back, the ones before it stay.
        _mark(job, ImportJob.Status.INTERRUPTED, None)
        raise
    finally:
        reset_origin(token)


def _forget_dry_run_progress(run_progress) -> None:
    """Set a dry run that stopped short back to having read nothing (see ``progress``). A
    failure here must not hide why the run stopped."""
    try:
        run_progress.forget_dry_run()
    except Exception:
        logger.exception("The progress of dry run #%s could not be set back", run_progress.job.pk)


def _mark(job: ImportJob, status: str, message: str | None) -> None:
    """Leave the stopped job ``status``, with ``message`` (by default, the last row written).

    The job row in memory may be ahead of the database (a batch that rolled back), so the
    database's own row counts. A failure here must not hide why the run stopped.

    A job someone had asked to stop is left cancelled whatever stopped it first: they do not
    want it carried on. It is then recorded as :func:`_mark_cancelled` records one: when it
    ended, and audited with its counts."""
    try:
        with transaction.atomic():
            ImportJob.objects.filter(pk=job.pk).update(
                status=Case(
                    When(cancel_requested_at__isnull=False, then=Value(ImportJob.Status.CANCELLED)),
                    default=Value(status),
                ),
                finished_at=Case(
                    When(cancel_requested_at__isnull=False, then=Value(timezone.now())),
                    default=F("finished_at"),
                ),
            )
            job.refresh_from_db()
            if message is None and job.dry_run:
                # It kept no row to carry on after: run again, it starts from the first.
                message = _("Stopped before the end of the file.")
            elif message is None:
                message = _("Stopped after row %(row)d.") % {"row": job.last_row}
            ImportJob.objects.filter(pk=job.pk).update(message=message[:2000])
            job.message = message[:2000]
            if job.status == ImportJob.Status.CANCELLED:
                _audit_cancelled(job)
                _remove_upload_on_commit(job)
                _forget_remembered_ids(job)
    except Exception:
        logger.exception("Import #%s could not be marked %s", job.pk, status)


def _mark_cancelled(job: ImportJob) -> None:
    """Leave the job cancelled, as its runner stops between two batches; its counts are those
    of the batches written, which stay. Audited with the counts, under the name of whoever
    asked it to stop."""
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.CANCELLED, finished_at=timezone.now(), message=""
        )
        job.refresh_from_db()
        _audit_cancelled(job)
        _remove_upload_on_commit(job)
        _forget_remembered_ids(job)


def _audit_cancelled(job: ImportJob) -> None:
    """Audit the running job's stop, with its counts, under the name of whoever asked.

    Written by the run, whose rows name the address of the request that started the job; the
    one who asked to stop (an administrator, or the starter elsewhere) did so from a request of
    its own, whose row names its address, so this one names none."""
    token = set_origin(Origin(via=current_origin().via))
    try:
        with translation.override(job.language):  # as the summary of a finished import
            _audit_stop(
                actor=job.stopped_by or job.started_by,
                job=job,
                before=ImportJob.Status.RUNNING,
                summary=Summary(
                    gettext_noop("Import of %(file)s stopped after row %(row)d"),
                    {"file": job.filename, "row": job.last_row},
                ),
            )
    finally:
        reset_origin(token)


def _audit_stop(*, actor, job: ImportJob, before: str, summary: Summary) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="import",
        object_id=job.pk,
        summary=summary,
        changes={
            "status": {"before": before, "after": job.status},
            **{
                name: {"before": None, "after": getattr(job, name)}
                for name in ("last_row", "rows_read", "created", "updated", "merged", "rejected")
            },
        },
    )


# What a web import may be carried on from, besides a "running" one whose runner has gone. A
# failed one too: its batch being written rolled back, the ones before it stay, and what made
# it fail (the database restarting, the disk full) may have passed; if not, it fails again
# and says why.
CARRIED_ON_FROM = (ImportJob.Status.INTERRUPTED, ImportJob.Status.FAILED)


def import_job_resumable(*, actor, job: ImportJob, abandoned: bool | None = None) -> bool:
    """Whether ``actor`` may carry on with this web import from the web: it was interrupted,
    failed or abandoned, and they started it (the import runs as them, as when it was started).
    ``abandoned`` is :func:`import_job_abandoned` when the caller has asked already (it looks
    for a live runner). Command-line imports carry on with ``guanxi import … --resume``."""
    return (
        job.via == "web"
        and job.started_by_id == actor.pk
        and can_create_customers(actor)
        and job.cancel_requested_at is None
        and (
            job.status in CARRIED_ON_FROM
            or (import_job_abandoned(job) if abandoned is None else abandoned)
        )
        and not upload_removed(job)
    )


def upload_lost_message(job: ImportJob) -> str:
    """What a stopped web import whose uploaded file is gone (deleted by hand, say: the
    clean-up keeps it while it may be carried on) tells whoever would carry it on."""
    if job.dry_run:
        return _(
            "The uploaded file of this dry run has been deleted, so it cannot be run again: "
            "upload the file again."
        )
    return _(
        "The uploaded file of this import has been deleted, so it cannot be carried on: "
        "upload the file again."
    )


def import_job_queue_again(*, actor, job: ImportJob) -> bool:
    """Queue an interrupted, failed or abandoned web import again, to be carried on by the
    background worker; False when it has been queued or taken up meanwhile (a second click).
    The caller queues the task when this says True. Raises ``ValidationError`` naming the file
    when its uploaded file is gone.

    Its lock is held while the status changes, so that no runner starts or takes it over then."""
    if job.via != "web" or job.started_by_id != actor.pk or not can_create_customers(actor):
        raise PermissionDenied
    if upload_removed(job):
        # Queued, it would only fail, naming a path of the server.
        raise ValidationError({"file": upload_lost_message(job)})
    try:
        with job_lock(job.pk, wait=0):
            # Holding the lock, a "running" job is one whose runner has gone.
            queued = ImportJob.objects.filter(
                pk=job.pk,
                status__in=[*CARRIED_ON_FROM, ImportJob.Status.RUNNING],
                cancel_requested_at__isnull=True,
            ).update(status=ImportJob.Status.QUEUED, client_address=current_origin().remote_addr)
    except JobLockBusy:
        return False
    job.refresh_from_db()
    return bool(queued)


def import_job_map(*, actor, job: ImportJob, mapping: dict, dedup: str | None) -> bool:
    """Keep the columns chosen on a draft web import's mapping page, and its duplicates choice
    when it is one of them; False when it has been started or discarded meanwhile, and nothing
    is changed: a second click, or a form left open, must not change the mapping of a running
    job (a resumed run reads it again).

    Of the fields chosen, only those the page offers are kept (``job.mapping`` and ``job.dedup``
    are set to what is kept): anything else, a value no list holds or one with a NUL character
    (which PostgreSQL refuses to store), is for the caller's check to name, never stored. Only
    its uploader may, as only they may start it, and only an upload's (see
    :func:`_require_uploaded`). Not audited, as an upload is not: a draft changes no customer."""
    if job.started_by_id != actor.pk or not can_create_customers(actor):
        raise PermissionDenied
    _require_uploaded(job)
    if dedup in ImportJob.Dedup.values:
        job.dedup = dedup
    allowed = allowed_fields(job.kind, custom_field_keys())
    job.mapping = {
        name: target for name, target in mapping.items() if target is None or target in allowed
    }
    # From the draft only, in one statement: a start that got there first wins.
    return bool(
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
            mapping=job.mapping, dedup=job.dedup
        )
    )


def _require_uploaded(job: ImportJob) -> None:
    """Refuse, naming the file, a job its mapping page may not change or start: one of the
    import command's, which the command runs from the operator's own file as soon as it has
    made it (a draft only meanwhile, or when the command was stopped before it began). Started
    from the web as well, the worker would run it beside the command."""
    if job.via != "web":
        raise ValidationError(
            {
                "file": _(
                    "This import was started from the command line: it is run by the command, "
                    "not from this page."
                )
            }
        )


def import_job_start(*, actor, job: ImportJob, dry_run: bool) -> bool:
    """Start a draft web import, or its dry run, from its mapping page, with the columns and
    duplicates choice ``job`` holds (those the page checked, as :func:`import_job_map` kept
    them): queued for the background worker, which runs it as ``actor``; False when it has been
    started meanwhile (a second click, another tab). The caller queues the task when this says
    True, in the same transaction: a job said to be queued with no task behind it would wait for
    ever, with no button to carry it on.

    The columns are written with the start, in the same statement: kept by a separate one before
    it, another tab's columns kept in between were the ones the import ran with, unchecked and
    unseen by whoever started it. Raises ``ValidationError`` naming the mapping when the columns
    do not make an import (no name column, say), and naming the file for a command-line import
    (:func:`_require_uploaded`).

    Only its uploader may (the import runs as them). The address of the request is kept for the
    audit rows its background run writes (``_run_claimed``). Not audited itself, as queuing a
    stopped import again is not (:func:`import_job_queue_again`): starting changes no customer,
    and the run audits every row it writes and, at the end, what the import did; cancelling and
    discarding are, as they stop what someone else may have started."""
    if job.started_by_id != actor.pk or not can_create_customers(actor):
        raise PermissionDenied
    _require_uploaded(job)
    try:
        build_mapping(
            job.header, kind=job.kind, explicit=job.mapping, custom_field_keys=custom_field_keys()
        )
    except MappingError as error:
        raise ValidationError({"mapping": str(error)}) from None
    # In one statement, from the draft only: of two clicks that both found it, one starts it.
    started = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT, via="web").update(
        status=ImportJob.Status.QUEUED,
        dry_run=dry_run,
        mapping=job.mapping,
        dedup=job.dedup,
        client_address=current_origin().remote_addr,
    )
    job.refresh_from_db()
    return bool(started)


# --- a dry run imported for real -------------------------------------------------------------


def dry_run_done_for(*, actor, job: ImportJob) -> bool:
    """Whether ``job`` is a finished web dry run that ``actor`` started, and may import for real
    (whether its file is still kept is :func:`upload_removed`)."""
    return (
        job.dry_run
        and job.via == "web"
        and job.status == ImportJob.Status.FINISHED
        and job.started_by_id == actor.pk
        and can_create_customers(actor)
    )


def import_made_from_dry_run(job: ImportJob) -> ImportJob | None:
    """The import made from this dry run ("Import this file for real") that stands: any but one
    discarded before it started, which imported nothing and may be made again."""
    return (
        ImportJob.objects.filter(made_from_dry_run=job)
        .exclude(status=ImportJob.Status.DISCARDED, started_at__isnull=True)
        .order_by("-pk")
        .first()
    )


def import_job_for_real(*, actor, job: ImportJob) -> ImportJob:
    """The import of a finished web dry run's file for real: a new draft with its mapping and
    duplicates choice, for its starter to check and start on the mapping page as after an
    upload; or, when one was made from this dry run already (:func:`import_made_from_dry_run`),
    that one, whatever its state: started, it would import the file a second time, and orders
    and interactions without external ids are not recognised as there already.

    The draft reads the dry run's uploaded file rather than a copy of it: files are deleted
    only when no job that may still need them refers to them (:func:`_upload_still_needed`,
    which counts the finished dry run itself while its file is kept, so the file cannot go
    while this runs). Only the dry run's starter may, as only they may start it: the import runs
    in their name. Raises ``ValidationError`` naming the file when the dry run is not finished
    or its upload has been deleted. Not audited, as an upload is not: a draft changes no
    customer."""
    if not (job.started_by_id == actor.pk and can_create_customers(actor)):
        raise PermissionDenied
    if not dry_run_done_for(actor=actor, job=job):
        raise ValidationError({"file": _("Only a finished dry run can be imported for real.")})
    with transaction.atomic():
        # The dry run's row is locked so that two clicks at once (or two tabs) take turns: the
        # second finds the import the first made.
        ImportJob.objects.select_for_update().filter(pk=job.pk).first()
        made = import_made_from_dry_run(job)
        if made is not None:
            return made
        path = stored_upload(job)
        if path is None or not path.exists():
            raise ValidationError(
                {
                    "file": _(
                        "The uploaded file of this dry run has been deleted, so it cannot be "
                        "imported for real from here: upload the file again."
                    )
                }
            )
        return ImportJob.objects.create(
            kind=job.kind,
            filename=job.filename,
            path=job.path,
            uploaded=True,
            file_sha256=job.file_sha256,
            header=job.header,
            mapping=job.mapping,
            dedup=job.dedup,
            dry_run=False,
            via="web",
            language=translation.get_language() or settings.LANGUAGE_CODE,
            total_rows=job.total_rows,
            started_by=actor,
            made_from_dry_run=job,
        )


# --- stopping and discarding ----------------------------------------------------------------


def import_job_may_stop(*, actor, job: ImportJob) -> bool:
    """Whether ``actor`` may cancel or discard this web import: they started it, or they are an
    administrator. Unlike carrying it on, stopping writes nothing in the starter's name, and an
    administrator must be able to stop a colleague's import of the wrong file (its starter gone
    home, say); the audit row names who did. Command-line imports stop with Ctrl-C."""
    return job.via == "web" and (job.started_by_id == actor.pk or actor.is_admin_role)


def import_job_cancellable(*, actor, job: ImportJob, abandoned: bool) -> bool:
    """Whether to offer ``actor`` to stop this import: queued, or running with its runner there,
    and not asked to stop already. (``abandoned`` is :func:`import_job_abandoned`.)"""
    return (
        job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        and not abandoned
        and job.cancel_requested_at is None
        and import_job_may_stop(actor=actor, job=job)
    )


# What a web import may be discarded from, besides a "running" one whose runner has gone: a
# draft (uploaded, its columns not yet confirmed), or one that stopped short of the end.
DISCARDED_FROM = (ImportJob.Status.DRAFT, *CARRIED_ON_FROM)


def import_job_discardable(*, actor, job: ImportJob, abandoned: bool) -> bool:
    """Whether to offer ``actor`` to discard this import: a draft, or one that stopped short of
    the end (interrupted, failed, or abandoned by a runner that has gone)."""
    return (job.status in DISCARDED_FROM or abandoned) and import_job_may_stop(actor=actor, job=job)


class CancelOutcome:
    CANCELLED = "cancelled"  # nothing ran it: it is cancelled now
    STOPPING = "stopping"  # its runner stops before its next batch
    NOTHING = ""  # stopped, stopping or finished already (a second click)


def import_job_cancel(*, actor, job: ImportJob) -> str:
    """Stop a web import, and say how (a :class:`CancelOutcome`).

    With nobody running it (its lock is free) it is cancelled here: a queued job, whose task
    then finds it cancelled and does nothing; one whose runner has gone; one that stopped
    meanwhile (the page showed it running). Otherwise its runner is asked to stop and does
    before its next batch (:mod:`.cancelling`), leaving it cancelled with the counts of the
    batches written. Either way audited; a second call finds nothing to do."""
    if not import_job_may_stop(actor=actor, job=job):
        raise PermissionDenied
    now = timezone.now()
    outcome = CancelOutcome.NOTHING
    try:
        with job_lock(job.pk, wait=0), transaction.atomic():
            # Holding the lock, nothing runs the job or starts it until this commits.
            before = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
            if ImportJob.objects.filter(
                pk=job.pk,
                status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING, *CARRIED_ON_FROM],
            ).update(
                status=ImportJob.Status.CANCELLED,
                cancel_requested_at=now,
                stopped_by=actor,
                finished_at=now,
            ):
                job.refresh_from_db()
                _audit_stop(
                    actor=actor,
                    job=job,
                    before=before,
                    summary=Summary(
                        gettext_noop("Import of %(file)s cancelled after row %(row)d"),
                        {"file": job.filename, "row": job.last_row},
                    ),
                )
                _remove_upload_on_commit(job)
                _forget_remembered_ids(job)
                outcome = CancelOutcome.CANCELLED
    except JobLockBusy:
        with transaction.atomic():
            if ImportJob.objects.filter(
                pk=job.pk,
                status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING],
                cancel_requested_at__isnull=True,
            ).update(cancel_requested_at=now, stopped_by=actor):
                audit_record(
                    actor=actor,
                    action=AuditEvent.Action.UPDATE,
                    object_type="import",
                    object_id=job.pk,
                    summary=Summary(
                        gettext_noop("Asked the import of %(file)s to stop"),
                        {"file": job.filename},
                    ),
                    changes={"cancel_requested_at": {"before": None, "after": now.isoformat()}},
                )
                outcome = CancelOutcome.STOPPING
    job.refresh_from_db()
    return outcome


def import_job_discard(*, actor, job: ImportJob) -> bool:
    """Set aside a web import that was never started (a draft) or stopped short of the end
    (interrupted, failed, abandoned), so that it is not started or carried on. What it wrote
    stays: this undoes nothing. Its uploaded file is deleted. False when there was nothing to
    discard (a second click, or it has been started or is being run now). Audited."""
    if not import_job_may_stop(actor=actor, job=job):
        raise PermissionDenied
    discarded = False
    try:
        with job_lock(job.pk, wait=0), transaction.atomic():
            # Holding the lock, a "running" job is one whose runner has gone. A draft is
            # started by one statement from "draft" (the mapping page's): of that and this, the
            # first wins and the other finds nothing to change.
            before = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
            if ImportJob.objects.filter(
                pk=job.pk, status__in=[*DISCARDED_FROM, ImportJob.Status.RUNNING]
            ).update(status=ImportJob.Status.DISCARDED, stopped_by=actor):
                job.refresh_from_db()
                if before == ImportJob.Status.DRAFT:
                    summary = Summary(
                        gettext_noop("Import of %(file)s discarded before it started"),
                        {"file": job.filename},
                    )
                else:
                    summary = Summary(
                        gettext_noop("Import of %(file)s discarded after row %(row)d"),
                        {"file": job.filename, "row": job.last_row},
                    )
                _audit_stop(actor=actor, job=job, before=before, summary=summary)
                _remove_upload_on_commit(job)
                _forget_remembered_ids(job)
                discarded = True
    except JobLockBusy:
        pass
    job.refresh_from_db()
    return discarded


def _job_header(job: ImportJob) -> list[str]:
    """The header of the job's file: stored on the job, or for a job made before it was,
    read from the file while it is still there."""
    if job.header:
        return list(job.header)
    try:
        return open_table(Path(job.path), filename=job.filename).header
    except (OSError, FileProblem):
        return []


class _CellCount(Func):
    """How many cells a stored row has: the length of a JSON array."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)


def write_error_rows(job: ImportJob, handle) -> int:
    """The rejected rows as a file to fix and import again: the file's own columns, then the
    row number and the reasons (columns no mapping uses, so they are ignored on re-import).
    Every cell of a row is kept, those beyond the header too (which is why such a row was
    rejected): they get columns named by their position. Returns how many rows were written."""
    header = _job_header(job)
    errors = ImportRowError.objects.filter(job=job).order_by("row_number", "id")
    # The widest row, so that every line of the file has the same columns: counted by the
    # database, so the rows (all of a file's, when every one was rejected) are read once.
    widest = errors.aggregate(widest=Max(_CellCount("cells")))["widest"] or 0
    width = max(len(header), widest)
    header += [f"column_{number}" for number in range(len(header) + 1, width + 1)]
    writer = csv.writer(handle)
    # The cells are the uploaded ones and the reasons quote them, so a cell holding a formula
    # would be evaluated by the spreadsheet the file is opened in; the importers strip the
    # quote again when the fixed file comes back.
    writer.writerow([neutralise_formula(cell) for cell in [*header, *ERROR_COLUMNS]])
    count = 0
    for error in errors.iterator():
        cells = list(error.cells) + [""] * (width - len(error.cells))
        cells = [neutralise_formula(cell) for cell in cells]
        writer.writerow([*cells, error.row_number, neutralise_formula(error.reason_text)])
        count += 1
    return count


def write_error_file(job: ImportJob, destination: Path) -> int:
    """:func:`write_error_rows` into a file, UTF-8 with a byte order mark (so spreadsheet
    programs read Chinese correctly)."""
    with replaced_on_success(Path(destination), encoding="utf-8-sig") as handle:
        return write_error_rows(job, handle)
