"""Import pages: upload a file, map its columns (with a preview and a quick check), start the
import as a background job, watch its progress, stop it, carry on with one that stopped or
discard it, download the rejected rows; a dry run started from the mapping page, and a finished
one imported for real.

Views only translate HTTP to one selector or service call and back; the import itself runs as
the user who started it, through the same services and visibility rule as the command line.
"""

import io
import tempfile
from itertools import islice
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guanxi.core.uploads import (
    LENGTH_REQUIRED,
    UploadRefused,
    refuses_files_over,
    sent_without_length_message,
)
from guanxi.customers.visibility import can_create_customers

from .customer_rows import CustomerRow, RowContext, clean_customer_row
from .interaction_import import InteractionImporter
from .mapping import (
    FIELDS_BY_KIND,
    MappingError,
    build_mapping,
    repeated_headers,
    repeated_headers_message,
    suggest_mapping,
)
from .models import ImportJob
from .order_import import OrderImporter
from .owner_check import kept_owner_reasons_ahead
from .readers import FileProblem, open_table
from .reasons import reasons_text, rendered
from .selectors import access_import_job, import_errors, import_jobs_for_user
from .services import (
    CancelOutcome,
    custom_field_keys,
    dry_run_done_for,
    import_job_abandoned,
    import_job_cancel,
    import_job_cancellable,
    import_job_create,
    import_job_discard,
    import_job_discardable,
    import_job_for_real,
    import_job_map,
    import_job_may_stop,
    import_job_queue_again,
    import_job_resumable,
    import_job_start,
    import_made_from_dry_run,
    upload_lost_message,
    upload_removed,
    write_error_rows,
)
from .tasks import run_import_job

PREVIEW_ROWS = 10
CHECK_ROWS = 500
# What the mapping page posts besides a field per column (the token, dedup, the button), with
# room to spare.
OTHER_MAPPING_FIELDS = 10


def _most_columns_mapped() -> int | None:
    """How many columns the mapping page can post a field for. Django refuses a form of more
    fields than DATA_UPLOAD_MAX_NUMBER_FIELDS as a bad request: a wider file was uploaded but
    could never be mapped, and "Check" or "Start" only said the request was not understood."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return None if limit is None else limit - OTHER_MAPPING_FIELDS


# What the upload takes, by the file's name: CSV, and the tab-separated text Excel saves as
# "Unicode Text" (.txt, UTF-16), read alike; .xls is let through to be told to save it as .xlsx.
UPLOAD_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xls")


def _upload_limit_mb() -> int:
    return settings.GUANXI_IMPORT_MAX_UPLOAD_MB


def _file_too_large_message() -> str:
    return _("The file is larger than %(limit)s MB; split it or use the command line.") % {
        "limit": _upload_limit_mb()
    }


# What a form's other fields and the multipart wrapping add to the file's size, at most.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def _upload_limit_bytes() -> int:
    return _upload_limit_mb() * 1024 * 1024


def _upload_body_limit_bytes() -> int:
    """More than this, and the request carries more than any file the upload takes."""
    return _upload_limit_bytes() + UPLOAD_OVERHEAD_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    kind = forms.ChoiceField(label=gettext_lazy("What it holds"), choices=ImportJob.Kind.choices)
    dedup = forms.ChoiceField(
        label=gettext_lazy("Duplicates"),
        choices=ImportJob.Dedup.choices,
        initial=ImportJob.Dedup.AUTO,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8, GBK or UTF-16) or Excel .xlsx, up to %(limit)s MB"
        ) % {"limit": _upload_limit_mb()}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(UPLOAD_EXTENSIONS):
            raise ValidationError(
                _("Upload a CSV file (.csv, .tsv, .txt) or an Excel workbook (.xlsx).")
            )
        if upload.size > _upload_limit_bytes():
            raise ValidationError(_file_too_large_message())
        return upload


def _job_or_404(user, job_id) -> ImportJob:
    try:
        return access_import_job(user, job_id)
    except ImportJob.DoesNotExist:
        raise Http404 from None


def _require_importer(user) -> None:
    if not can_create_customers(user):
        raise PermissionDenied


@login_required
@require_GET
def import_list(request):
    _require_importer(request.user)
    jobs = list(import_jobs_for_user(request.user).order_by("-created_at", "-id")[:100])
    for job in jobs:
        # Said to be running, but nothing runs it: listed as its page heads it, interrupted.
        job.abandoned = import_job_abandoned(job)
    return render(request, "imports/list.html", {"jobs": jobs})


def _upload_refused(request, refused: UploadRefused):
    """The upload page with why the file was not taken: too large (said before the rest of it
    was read, see ``refuses_files_over``), or sent without its size."""
    _require_importer(request.user)
    form = UploadForm(data=refused.fields, files={})
    form.is_valid()
    form.errors.clear()
    if refused.status == LENGTH_REQUIRED:
        form.add_error("file", sent_without_length_message())
    else:
        form.add_error("file", _file_too_large_message())
    return render(request, "imports/new.html", {"form": form}, status=refused.status)


@login_required
@require_http_methods(["GET", "POST"])
@refuses_files_over(
    file_limit_bytes=_upload_limit_bytes,
    body_limit_bytes=_upload_body_limit_bytes,
    refuse=_upload_refused,
)
def import_new(request):
    """Upload a file; its columns are mapped on the next page."""
    _require_importer(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()[:10]
        with tempfile.NamedTemporaryFile(suffix=suffix) as scratch:
            for chunk in upload.chunks():
                scratch.write(chunk)
            scratch.flush()
            try:
                table = open_table(Path(scratch.name), filename=upload.name)
                most = _most_columns_mapped()
                if most is not None and len(table.header) > most:
                    raise FileProblem(
                        _(
                            "The file has %(count)s columns; this page maps at most %(most)s. "
                            "Leave out the columns you do not import, or import it with "
                            "guanxi import."
                        )
                        % {"count": f"{len(table.header):,}", "most": f"{most:,}"}
                    )
                # A page whose mapping could never be started, or a job with nothing to import:
                # said now, while the file is at hand, rather than left as a draft.
                if repeated := repeated_headers(table.header):
                    raise FileProblem(repeated_headers_message(repeated))
                if next(table.rows(), None) is None:
                    raise FileProblem(
                        _("The file has a header row but no rows under it: nothing to import.")
                    )
                job = import_job_create(
                    actor=request.user,
                    path=Path(scratch.name),
                    filename=upload.name,
                    kind=form.cleaned_data["kind"],
                    mapping=suggest_mapping(
                        table.header,
                        kind=form.cleaned_data["kind"],
                        custom_field_keys=custom_field_keys(),
                    ),
                    dedup=form.cleaned_data["dedup"],
                    via="web",
                    keep_copy=True,
                    check_mapping=False,
                )
            except FileProblem as error:
                form.add_error("file", str(error))
            except ValidationError as error:
                for name, texts in error.message_dict.items():
                    form.add_error("file" if name not in form.fields else name, texts)
            else:
                return redirect("imports:mapping", job_id=job.pk)
    status = 422 if form.errors else 200
    return render(request, "imports/new.html", {"form": form}, status=status)


def _preview(job: ImportJob, table, targets: list[str | None]) -> list[list[str]]:
    rows = []
    for row in table.rows():
        rows.append(row.cells + [""] * (len(table.header) - len(row.cells)))
        if len(rows) >= PREVIEW_ROWS:
            break
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request, job_id: int):
    """Say which column is which field, check a sample, start the import.

    Only the user who uploaded the file maps and starts it: the import runs as the job's
    user (its rows limited to the customers they may change, audited under their name), so
    anyone else starting it would act in their name. An administrator sees the page."""
    _require_importer(request.user)
    job = _job_or_404(request.user, job_id)
    # A command-line import is a draft only until its command begins it: the command runs it.
    if job.status != ImportJob.Status.DRAFT or job.via != "web":
        return redirect("imports:detail", job_id=job.pk)
    uploader = job.started_by_id == request.user.pk
    if request.method == "POST" and not uploader:
        raise PermissionDenied
    try:
        table = open_table(Path(job.path), filename=job.filename)
    except (OSError, FileProblem):
        # Discarded (and its file deleted) since it was read above: in another tab, or by an
        # administrator. Its page says so.
        messages.info(request, _("The import is discarded, running or finished already."))
        return redirect("imports:detail", job_id=job.pk)
    keys = custom_field_keys()
    fields = dict(FIELDS_BY_KIND[job.kind])
    if job.kind == ImportJob.Kind.CUSTOMERS:
        fields.update({key: _("custom field") for key in sorted(keys)})
    mapping = dict(job.mapping)
    report = None
    mapping_error = None
    # The form has a field per column but the mapping is kept by header, so of columns sharing
    # a header only one choice would count: the file has to name them apart first.
    repeated = repeated_headers(table.header)
    if repeated:
        mapping_error = repeated_headers_message(repeated)
    elif request.method == "POST":
        mapping = {
            name: (request.POST.get(f"map_{i}") or None)
            for i, name in enumerate(table.header)
            if f"map_{i}" in request.POST
        }
        # Of the choices posted, only those the page offers are kept; the check below names
        # the others.
        if not import_job_map(
            actor=request.user, job=job, mapping=mapping, dedup=request.POST.get("dedup")
        ):
            return redirect("imports:detail", job_id=job.pk)
        try:
            column_mapping = build_mapping(
                table.header, kind=job.kind, explicit=mapping, custom_field_keys=keys
            )
        except MappingError as error:
            mapping_error = str(error)
        else:
            action = request.POST.get("action")
            if action in ("start", "dry_run"):
                # A dry run is the same job run by the same task, marked to write nothing (the
                # whole file is read and rolled back, see ``dry_run``). Of two clicks that both
                # found the draft, only one queues the job. The status and the queued task
                # commit together.
                dry_run = action == "dry_run"
                try:
                    with transaction.atomic():
                        if import_job_start(actor=request.user, job=job, dry_run=dry_run):
                            run_import_job.enqueue(job.pk)
                            if dry_run:
                                messages.success(request, _("The dry run has started."))
                            else:
                                messages.success(request, _("The import has started."))
                except ValidationError as error:
                    # The columns checked above no longer make an import (a custom field
                    # deactivated meanwhile).
                    mapping_error = " ".join(error.messages)
                else:
                    return redirect("imports:detail", job_id=job.pk)
            else:
                report = _check_sample(job, table, column_mapping, request.user)
    targets = [mapping.get(name) for name in table.header]
    return render(
        request,
        "imports/mapping.html",
        {
            "job": job,
            "columns": list(zip(range(len(table.header)), table.header, targets, strict=True)),
            "fields": fields,
            "preview": _preview(job, table, targets),
            "report": report,
            "mapping_error": mapping_error,
            "dedup_choices": ImportJob.Dedup.choices,
            "can_start": uploader and not repeated,
            # Its starter or an administrator may set an upload aside without importing it.
            "discardable": import_job_may_stop(actor=request.user, job=job),
        },
        status=422 if mapping_error and request.method == "POST" else 200,
    )


def _check_sample(job: ImportJob, table, column_mapping, user) -> dict:
    """How the first rows fare, without writing anything (a quick look before the real run,
    which checks every row again)."""
    if job.kind != ImportJob.Kind.CUSTOMERS:
        importer_class = {
            ImportJob.Kind.INTERACTIONS: InteractionImporter,
            ImportJob.Kind.ORDERS: OrderImporter,
        }[job.kind]
        rows = list(islice(table.rows(), CHECK_ROWS))
        importer = importer_class(job=job, table=table, mapping=column_mapping)
        problems = importer.check_rows(rows)
        return {
            "checked": len(rows),
            "good": len(rows) - len(problems),
            "problems": problems[:20],
            "bad": len(problems),
        }
    context = RowContext(user)
    # Each row read cleanly: its number, and the reasons it is refused for or the row cleaned.
    results: list[tuple[int, list | CustomerRow]] = []
    problems = []
    checked = 0
    for row in islice(table.rows(), CHECK_ROWS):
        checked += 1
        if row.problem:
            problems.append((row.number, rendered(row.problem)))
        else:
            cleaned = clean_customer_row(row.number, column_mapping.apply(row.cells), context)
            results.append((row.number, cleaned))
    # A row naming an owner the user may not give customers to passes the cells' checks; the
    # import refuses it, and so must the check (its customers looked up for all rows at once).
    refusals = kept_owner_reasons_ahead(
        [result for _n, result in results if not isinstance(result, list)], user
    )
    for number, result in results:
        if not isinstance(result, list) and number in refusals:
            result = [refusals[number]]
        if isinstance(result, list):
            problems.append((number, reasons_text(result, column_mapping)))
    problems.sort(key=lambda problem: problem[0])  # in file order
    return {
        "checked": checked,
        "good": checked - len(problems),
        "problems": problems[:20],
        "bad": len(problems),
    }


def _status_label(job: ImportJob | None) -> str:
    """The job's status as its own page heads it: one said to be running with nothing running
    it is interrupted."""
    if job is None:
        return ""
    if import_job_abandoned(job):
        return ImportJob.Status.INTERRUPTED.label
    return job.get_status_display()


@login_required
@require_GET
def import_detail(request, job_id: int):
    """Progress while it runs (the page refreshes itself), the outcome when done; a button to
    carry on with a web import that stopped (its worker told to stop, or killed)."""
    job = _job_or_404(request.user, job_id)
    abandoned = import_job_abandoned(job)
    imported_for_real = import_made_from_dry_run(job) if job.dry_run else None
    stopped = (
        abandoned or job.status in (ImportJob.Status.INTERRUPTED, ImportJob.Status.FAILED)
    ) and job.cancel_requested_at is None
    upload_lost = stopped and upload_removed(job)
    context = {
        "job": job,
        "errors": import_errors(job, limit=20),
        # An abandoned job is not polled: nothing changes until someone carries it on, which
        # from this page loads it again (and from a terminal, whoever did it knows).
        "running": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        and not abandoned,
        "abandoned": abandoned,
        # Stopped short of the end, and going nowhere until someone carries it on: the page
        # says how, since nothing re-queues an import by itself (it runs in its starter's name).
        # Not one someone asked to stop: nobody carries that on.
        "stopped": stopped and not upload_lost,
        # Stopped short, its file gone all the same: it cannot be carried on, and the page
        # says why instead of who could.
        "upload_lost": upload_lost_message(job) if upload_lost else "",
        "resumable": import_job_resumable(actor=request.user, job=job, abandoned=abandoned),
        "cancellable": import_job_cancellable(actor=request.user, job=job, abandoned=abandoned),
        # Asked to stop; its runner has not reached the end of the batch in hand yet.
        "stopping": job.cancel_requested_at is not None
        and job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        and not abandoned,
        "discardable": import_job_discardable(actor=request.user, job=job, abandoned=abandoned),
        "upload_removed": upload_removed(job),
        # A dry run writes its rejected rows as it ends: while it runs there is only their count.
        "rejected_rows_written": not job.dry_run
        or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        # One killed outright never will: the count is what it had written of its progress.
        "rejected_rows_lost": job.dry_run and abandoned,
        # Its starter may import a finished dry run's file for real, while the file is kept,
        # once: the page links to the import made from it instead.
        "for_real": dry_run_done_for(actor=request.user, job=job),
        "imported_for_real": imported_for_real,
        "imported_for_real_status": _status_label(imported_for_real),
        "upload_kept_days": settings.GUANXI_IMPORT_UPLOAD_RETENTION_DAYS,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "imports/_progress_update.html", context)
    return render(request, "imports/detail.html", context)


@login_required
@require_POST
def import_resume(request, job_id: int):
    """Queue a stopped web import again; it carries on after the last row written (a dry run
    starts again from the first). Only the user who started it may (it runs as them), as with
    starting it."""
    _require_importer(request.user)
    job = _job_or_404(request.user, job_id)
    try:
        with transaction.atomic():  # the status and the queued task commit together
            queued = import_job_queue_again(actor=request.user, job=job)
            if queued:
                run_import_job.enqueue(job.pk)
    except ValidationError as error:
        messages.info(request, " ".join(error.messages))
        return redirect("imports:detail", job_id=job.pk)
    if queued and job.dry_run:
        messages.success(request, _("The dry run will start again from the first row."))
    elif queued:
        messages.success(
            request, _("The import will carry on after row %(row)d.") % {"row": job.last_row}
        )
    else:
        messages.info(request, _("The import is queued, running or finished already."))
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def import_for_real(request, job_id: int):
    """Import a finished dry run's file for real: a new draft of the same file, mapping and
    duplicates choice, whose mapping page its starter checks and starts it from; or the import
    made from the dry run already, started or not."""
    _require_importer(request.user)
    job = _job_or_404(request.user, job_id)
    # Only for what to say: the draft an earlier click made is not a new one.
    made_before = import_made_from_dry_run(job) if job.dry_run else None
    try:
        made = import_job_for_real(actor=request.user, job=job)
    except ValidationError as error:
        messages.info(request, " ".join(error.messages))
        return redirect("imports:detail", job_id=job.pk)
    if made_before is not None and made_before.pk == made.pk:
        messages.info(
            request,
            _("An import of this dry run's file was made already: import #%(number)d.")
            % {"number": made.pk},
        )
    else:
        messages.success(
            request,
            _("A new import of the same file is ready: check its columns, then start it."),
        )
    if made.status != ImportJob.Status.DRAFT:
        # Started already (a click on a page left open): its own page says how it went.
        return redirect("imports:detail", job_id=made.pk)
    return redirect("imports:mapping", job_id=made.pk)


@login_required
@require_POST
def import_cancel(request, job_id: int):
    """Stop a queued or running web import: at once if nothing runs it yet, else after the batch
    being written. Its starter may, and an administrator (see ``import_job_may_stop``)."""
    job = _job_or_404(request.user, job_id)
    outcome = import_job_cancel(actor=request.user, job=job)
    if outcome == CancelOutcome.CANCELLED:
        messages.success(request, _("The import is cancelled."))
    elif outcome == CancelOutcome.STOPPING:
        messages.success(request, _("The import stops once the batch being written is done."))
    else:
        messages.info(request, _("The import is stopped, stopping or finished already."))
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def import_discard(request, job_id: int):
    """Set aside an upload whose import was never started, or a stopped web import so that it
    is no longer offered to carry on; what it imported stays."""
    job = _job_or_404(request.user, job_id)
    draft = job.status == ImportJob.Status.DRAFT
    if import_job_discard(actor=request.user, job=job):
        if draft:
            messages.success(request, _("The upload is discarded; nothing was imported from it."))
        elif job.dry_run:
            messages.success(request, _("The dry run is discarded. It wrote nothing."))
        else:
            messages.success(request, _("The import is discarded. The rows it imported stay."))
    else:
        messages.info(request, _("The import is discarded, running or finished already."))
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_GET
def import_error_file(request, job_id: int):
    """The rejected rows, to fix and import again."""
    job = _job_or_404(request.user, job_id)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    write_error_rows(job, buffer)
    response = HttpResponse(
        buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    name = f"{Path(job.filename).stem}-errors.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
