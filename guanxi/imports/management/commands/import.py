"""``guanxi import customers|interactions|orders FILE``: import a CSV or XLSX file.

    guanxi import customers FILE [--mapping MAPPING.json] [--dedup auto|review|off] [--dry-run]
                                 [--user USERNAME] [--errors ERRORS.csv] [--resume]
    guanxi import interactions FILE [--mapping MAPPING.json] [--user USERNAME] …
    guanxi import orders FILE [--mapping MAPPING.json] [--user USERNAME] …

Without a mapping, headers equal to field names are used (``name``, ``phone``, ``email`` …; see
``guanxi.imports.mapping``). Every row is created, updated, merged or rejected; the counts printed
at the end add up to the rows read, and rejected rows go to the error file (by default next to
the input, ``FILE.errors.csv``) with the reasons, ready to fix and import again. The import runs
as ``--user`` and in the language that user chose in the top bar, as a web import runs in the
language of their pages: the error file's reasons read in it, whatever language the command runs
in.

Rows are written in batches, each in one transaction. If the import stops (Ctrl-C, a crash), the
database holds exactly the batches finished; ``--resume`` carries on with the same file (found
by its contents, wherever it is now) after the last row written, with the mapping, ``--dedup``
and ``--dry-run`` it was started with (giving any of them again is refused). Without it,
importing the file again is safe too: rows with an external id update what is there, and with
``--dedup auto`` rows without one merge into what they created.

Exit status: 0 when the file was imported (rejected rows included), 1 when it stopped, 2 when the
file or the options are unusable, or the import to resume is still being run by another process
(nothing imported).
"""

import sys
from pathlib import Path

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from guanxi.accounts.models import User
from guanxi.audit.context import current_origin
from guanxi.core.files import check_output_path
from guanxi.core.languages import in_language, language_of
from guanxi.imports.mapping import MappingError, build_mapping, read_mapping_file
from guanxi.imports.models import ImportJob
from guanxi.imports.reasons import several
from guanxi.imports.services import (
    ImportJobUnavailable,
    custom_field_keys,
    ended_job,
    file_sha256,
    import_job_abandoned,
    import_job_create,
    import_job_run,
    resumable_job,
    write_error_file,
)

BAD_INPUT = 2
STOPPED = 1


class Command(BaseCommand):
    help = "Import customers, interactions or orders from a CSV or XLSX file."

    def add_arguments(self, parser):
        kinds = parser.add_subparsers(
            dest="kind", required=True, metavar="customers|interactions|orders"
        )
        for kind in ImportJob.Kind.values:
            sub = kinds.add_parser(kind, help=f"import {kind} from a CSV or XLSX file")
            sub.add_argument("file", type=Path, metavar="FILE")
            sub.add_argument(
                "--mapping", type=Path, help="JSON file: the file's headers -> field names"
            )
            sub.add_argument(
                "--dedup",
                choices=ImportJob.Dedup.values,
                # None rather than "auto", to tell an explicit --dedup from the default.
                default=None,
                help="auto: merge sure duplicates, queue likely ones (default); "
                "review: create all, queue likely duplicates; off: do not look",
            )
            sub.add_argument(
                "--dry-run",
                action="store_true",
                help="check and count everything, write nothing (but the error file)",
            )
            sub.add_argument(
                "--user",
                help="import as this user (default: the only administrator, if there is one)",
            )
            sub.add_argument("--errors", type=Path, help="where to write the rejected rows")
            sub.add_argument(
                "--resume",
                action="store_true",
                help="carry on with an import that stopped, with its own mapping and options",
            )
            sub.add_argument("--batch-size", type=int, default=2000, help=argparse_hidden())

    def handle(self, *args, kind: str, file: Path, **options):
        actor = self._actor(options["user"])
        _check_input_file(file)
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."), returncode=BAD_INPUT)
        # An explicit error file is checked now: the rejected rows are written only after the
        # whole import, and a typo in the path must not surface then.
        if options["errors"] is not None:
            problem = check_output_path(options["errors"], "--errors")
            if problem:
                raise CommandError(problem, returncode=BAD_INPUT)
        job = None
        digest = None
        if options["resume"]:
            # A resumed job carries on with the mapping, duplicate handling and dry-run setting
            # it was started with (its first rows were written with them); other ones asked for
            # now would be ignored, and a dry run would write.
            given = [
                option
                for option, value in (
                    ("--dry-run", options["dry_run"]),
                    ("--mapping", options["mapping"]),
                    ("--dedup", options["dedup"]),
                )
                if value
            ]
            if given:
                raise CommandError(
                    _(
                        "--resume carries on with the options the import was started with; it "
                        "cannot be combined with %(options)s. Run without --resume to start a "
                        "new import with them."
                    )
                    % {"options": ", ".join(given)},
                    returncode=BAD_INPUT,
                )
            # Read once: the run checks a moved file against the job's digest with it.
            digest = file_sha256(file)
            job = resumable_job(actor=actor, path=file, kind=kind, digest=digest)
            if job is None:
                ended = ended_job(actor=actor, kind=kind, digest=digest)
                if ended is not None:
                    raise self._ended(ended)
                raise CommandError(
                    _("There is no unfinished import of this file to resume."),
                    returncode=BAD_INPUT,
                )
            # Said before anything else; the run itself refuses too, should one start meanwhile.
            if job.status == ImportJob.Status.RUNNING and not import_job_abandoned(job):
                raise self._busy(job)
            self.stdout.write(
                ngettext(
                    "Resuming import #%(number)d after row %(row)d (%(count)s row already "
                    "written).",
                    "Resuming import #%(number)d after row %(row)d (%(count)s rows already "
                    "written).",
                    job.rows_read,
                )
                % {"number": job.pk, "row": job.last_row, "count": f"{job.rows_read:,}"}
            )
        else:
            mapping = None
            if options["mapping"]:
                try:
                    mapping = read_mapping_file(options["mapping"])
                except MappingError as error:
                    raise CommandError(str(error), returncode=BAD_INPUT) from None
            # The job runs in the user's language, as a web import runs in the language they
            # chose in the top bar.
            with in_language(language_of(actor)):
                try:
                    job = import_job_create(
                        actor=actor,
                        path=file,
                        filename=file.name,
                        kind=kind,
                        mapping=mapping,
                        dedup=options["dedup"] or ImportJob.Dedup.AUTO,
                        dry_run=options["dry_run"],
                        via="cli",
                    )
                except ValidationError as error:
                    # Named here, in the language the reasons were given in, so that each
                    # reads as one sentence.
                    raise CommandError(_refusal(error), returncode=BAD_INPUT) from None
                except PermissionDenied as error:
                    raise CommandError(str(error), returncode=BAD_INPUT) from None
            self._say_columns_left_out(job)
        errors_path = options["errors"] or file.with_name(file.name + ".errors.csv")
        bar = tqdm(
            total=job.total_rows,
            initial=job.rows_read,
            unit=" rows",
            unit_scale=True,
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            dynamic_ncols=True,
        )
        timings: dict[str, float] = {}
        try:
            with bar:
                import_job_run(
                    job=job,
                    # On --resume: the file given now, which resumable_job found to have the
                    # same contents, wherever the job's file was when it started.
                    path=file,
                    path_sha256=digest,
                    # Not the address of the web request that started a web import carried
                    # on here: the rows are written from the command line.
                    origin=current_origin(),
                    progress=bar.update,
                    batch_size=options["batch_size"],
                    timings=timings,
                )
        except ImportJobUnavailable as refusal:
            if refusal.busy:
                raise self._busy(job) from None
            raise CommandError(str(refusal), returncode=BAD_INPUT) from None
        except KeyboardInterrupt:
            if job.dry_run:
                # A dry run keeps nothing to carry on from (--resume refuses it).
                self.stderr.write("\n" + _("Stopped. A dry run writes nothing; run it again."))
                sys.exit(STOPPED)
            self.stderr.write(
                "\n"
                + ngettext(
                    "Stopped. Rows up to row %(row)d are imported (%(count)s row); the batch "
                    "being written was rolled back. Run the same command with --resume to "
                    "carry on.",
                    "Stopped. Rows up to row %(row)d are imported (%(count)s rows); the batch "
                    "being written was rolled back. Run the same command with --resume to "
                    "carry on.",
                    job.rows_read,
                )
                % {"row": job.last_row, "count": f"{job.rows_read:,}"}
            )
            sys.exit(STOPPED)
        except Exception as error:
            # The reason is often a sentence of its own, ending with its full stop (in the
            # user's language, "。" in Chinese); ours follows it, with the full stop of the
            # language the command runs in.
            reason = str(error).rstrip(".。")
            # Deactivated meanwhile (the import refuses to write for them), the user may run
            # nothing again: the command refuses them, and --resume carries on only the imports
            # of whoever started them.
            left = (
                isinstance(error, PermissionDenied)
                and not User.objects.filter(pk=actor.pk, is_active=True).exists()
            )
            if job.dry_run:
                if left:
                    text = _("The dry run stopped: %(reason)s. It wrote nothing.")
                else:
                    text = _("The dry run stopped: %(reason)s. It wrote nothing; run it again.")
                raise CommandError(text % {"reason": reason}, returncode=STOPPED) from error
            job.refresh_from_db()
            if left:
                text = _(
                    "The import stopped after row %(row)d: %(reason)s. Rows written so far "
                    "stay. An import is resumed only by whoever started it: someone else may "
                    "import the file again (rows with an external id update what is there)."
                )
            else:
                text = _(
                    "The import stopped after row %(row)d: %(reason)s. Rows written so far "
                    "stay; fix the problem and run the same command with --resume."
                )
            raise CommandError(
                text % {"row": job.last_row, "reason": reason}, returncode=STOPPED
            ) from error
        job.refresh_from_db()
        if job.status == ImportJob.Status.CANCELLED:
            # A web import taken up with --resume can be stopped from its page meanwhile.
            who = (job.stopped_by or job.started_by).username
            if job.rows_read:
                text = ngettext(
                    "Import #%(number)d was stopped by %(user)s after row %(row)d (%(count)s "
                    "row written, which stays); it is not carried on.",
                    "Import #%(number)d was stopped by %(user)s after row %(row)d (%(count)s "
                    "rows written, which stay); it is not carried on.",
                    job.rows_read,
                )
            else:
                text = _(
                    "Import #%(number)d was stopped by %(user)s before it imported any row; it "
                    "is not carried on."
                )
            raise CommandError(
                text
                % {
                    "number": job.pk,
                    "user": who,
                    "row": job.last_row,
                    "count": f"{job.rows_read:,}",
                },
                returncode=STOPPED,
            )
        self._report(job, errors_path, actor)
        if options["verbosity"] >= 2 and timings:
            # The stages are named as the code names them, for whoever tunes it.
            stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
            self.stdout.write(_("Time: %(stages)s") % {"stages": stages})

    def _say_columns_left_out(self, job: ImportJob) -> None:
        """Name the columns no field takes, which are read past without a word otherwise: a
        header spelt differently from the field it was meant for would leave a whole column
        behind unnoticed."""
        mapping = build_mapping(
            job.header, kind=job.kind, explicit=job.mapping, custom_field_keys=custom_field_keys()
        )
        left_out = [
            name for name, target in zip(job.header, mapping.targets, strict=True) if not target
        ]
        if any(name.strip() for name in left_out):
            columns = ", ".join(name.strip() or _("(no header)") for name in left_out)
            self.stdout.write(
                _(
                    "Columns not imported (no field of that name; --mapping can map them): "
                    "%(columns)s."
                )
                % {"columns": columns}
            )

    def _busy(self, job: ImportJob) -> CommandError:
        return CommandError(
            _(
                "Import #%(number)d is being run by another process; wait for it to finish (or "
                "stop it) before resuming."
            )
            % {"number": job.pk},
            returncode=BAD_INPUT,
        )

    def _ended(self, job: ImportJob) -> CommandError:
        """Why the newest import of the file is not resumed: someone stopped it for good.
        Each case is a sentence of its own, for translators to put its words in their order."""
        discarded = job.status == ImportJob.Status.DISCARDED
        if job.stopped_by and discarded:
            text = _(
                "Import #%(number)d of this file was discarded by %(user)s after row %(row)d "
                "and is not carried on; the rows it wrote stay. Run without --resume to import "
                "the file again (rows with an external id update what is there)."
            )
        elif job.stopped_by:
            text = _(
                "Import #%(number)d of this file was cancelled by %(user)s after row %(row)d "
                "and is not carried on; the rows it wrote stay. Run without --resume to import "
                "the file again (rows with an external id update what is there)."
            )
        elif discarded:
            text = _(
                "Import #%(number)d of this file was discarded after row %(row)d and is not "
                "carried on; the rows it wrote stay. Run without --resume to import the file "
                "again (rows with an external id update what is there)."
            )
        else:
            text = _(
                "Import #%(number)d of this file was cancelled after row %(row)d and is not "
                "carried on; the rows it wrote stay. Run without --resume to import the file "
                "again (rows with an external id update what is there)."
            )
        user = job.stopped_by.username if job.stopped_by else ""
        return CommandError(
            text % {"number": job.pk, "user": user, "row": job.last_row},
            returncode=BAD_INPUT,
        )

    def _actor(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(
                    _("No active user %(user)s.") % {"user": repr(username)},
                    returncode=BAD_INPUT,
                )
            return user
        admins = list(User.objects.filter(is_active=True, is_superuser=True)[:2])
        if len(admins) != 1:
            raise CommandError(
                _(
                    "Say whom to import as with --user USERNAME: changes are recorded under a "
                    "user's name and limited to the customers they may change."
                ),
                returncode=BAD_INPUT,
            )
        return admins[0]

    def _report(self, job: ImportJob, errors_path: Path, actor: User) -> None:
        """The counts, each message a whole sentence with its plural forms (English says
        "rows" for one row too, as it always has). Numbers keep their thousands separators."""
        counts = {
            "file": job.filename,
            "rows": f"{job.rows_read:,}",
            "created": f"{job.created:,}",
            "updated": f"{job.updated:,}",
            "merged": f"{job.merged:,}",
            "rejected": f"{job.rejected:,}",
        }
        if job.dry_run:
            summary = ngettext(
                "Would import %(file)s: %(rows)s row read — %(created)s created, %(updated)s "
                "updated, %(merged)s merged, %(rejected)s rejected.",
                "Would import %(file)s: %(rows)s rows read — %(created)s created, %(updated)s "
                "updated, %(merged)s merged, %(rejected)s rejected.",
                job.rows_read,
            )
        else:
            summary = ngettext(
                "Imported %(file)s: %(rows)s row read — %(created)s created, %(updated)s "
                "updated, %(merged)s merged, %(rejected)s rejected.",
                "Imported %(file)s: %(rows)s rows read — %(created)s created, %(updated)s "
                "updated, %(merged)s merged, %(rejected)s rejected.",
                job.rows_read,
            )
        self.stdout.write(summary % counts)
        if job.unchanged:
            self.stdout.write(
                ngettext(
                    "%(count)s of the updated or merged rows changed nothing (already there).",
                    "%(count)s of the updated or merged rows changed nothing (already there).",
                    job.unchanged,
                )
                % {"count": f"{job.unchanged:,}"}
            )
        if job.accounted != job.rows_read:  # cannot happen; said loudly if it ever does
            self.stderr.write(
                _("The outcomes add up to %(accounted)s, not %(rows)s!")
                % {"accounted": f"{job.accounted:,}", "rows": f"{job.rows_read:,}"}
            )
        if job.queued_for_review:
            self.stdout.write(
                ngettext(
                    "%(count)s likely duplicates are waiting for review (the Duplicates page).",
                    "%(count)s likely duplicates are waiting for review (the Duplicates page).",
                    job.queued_for_review,
                )
                % {"count": f"{job.queued_for_review:,}"}
            )
        if job.rejected:
            try:
                # The reasons in the language of the user the import runs as, whichever
                # language the command runs in, as the web gives them to them.
                with in_language(language_of(actor)):
                    count = write_error_file(job, errors_path)
            except OSError as error:
                # The rows are imported; only their error file is missing. Say how to get it.
                raise CommandError(
                    _(
                        "The rejected rows could not be written to %(path)s: %(reason)s. Give "
                        "another place with --errors."
                    )
                    % {"path": errors_path, "reason": error.strerror or error},
                    returncode=STOPPED,
                ) from None
            self.stdout.write(
                ngettext(
                    "%(count)s rejected row written to %(path)s with the reasons.",
                    "%(count)s rejected rows written to %(path)s with the reasons.",
                    count,
                )
                % {"count": f"{count:,}", "path": errors_path}
            )


def _field_label(name: str) -> str:
    """The label of the job's field ``name`` in the active language (``列映射``, not
    ``mapping``): the key is the code's, and means nothing to whoever reads the refusal. The
    file is the job's ``filename``."""
    try:
        field = ImportJob._meta.get_field("filename" if name == "file" else name)
    except FieldDoesNotExist:
        return name
    return str(field.verbose_name)


def _refusal(error: ValidationError) -> str:
    """A refusal of the file, the mapping or the options in the active language, each reason
    after the label of the field it is about (the catalogue gives the colon and the separator:
    full-width ones in Chinese)."""
    return several(
        [
            " ".join(texts)
            if name == NON_FIELD_ERRORS
            else _("%(field)s: %(reason)s")
            % {"field": _field_label(name), "reason": " ".join(texts)}
            for name, texts in error.message_dict.items()
        ]
    )


def _check_input_file(file: Path) -> None:
    """A missing, unreadable file or a directory is refused before any job is made."""
    if not file.exists():
        raise CommandError(_("%(file)s: no such file.") % {"file": file}, returncode=BAD_INPUT)
    if file.is_dir():
        raise CommandError(
            _("%(file)s is a directory, not a file.") % {"file": file}, returncode=BAD_INPUT
        )
    try:
        with file.open("rb"):
            pass
    except OSError as error:
        raise CommandError(
            _("%(file)s: cannot be read (%(reason)s).")
            % {"file": file, "reason": error.strerror or error},
            returncode=BAD_INPUT,
        ) from None


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
