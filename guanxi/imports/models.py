from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One import of a file, from the command line or the web, and where it has got to.

    The counters and ``last_row`` are written in the same transaction as each batch of rows, so
    after a crash they say exactly which rows are in the database: a resumed import carries on
    after ``last_row`` and the counts still add up to the rows read."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        INTERACTIONS = "interactions", _("Interactions")
        ORDERS = "orders", _("Orders")

    class Dedup(models.TextChoices):
        AUTO = "auto", _("Merge sure duplicates, queue likely ones for review")
        REVIEW = "review", _("Create every row, queue likely duplicates for review")
        OFF = "off", _("Do not look for duplicates")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Uploaded, not started")
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        INTERRUPTED = "interrupted", _("Interrupted")
        FAILED = "failed", _("Failed")
        # Stopped between two batches at a user's request (or, queued, before it ran).
        CANCELLED = "cancelled", _("Cancelled")
        # Stopped earlier (interrupted, failed, abandoned) and set aside: not to be carried on.
        DISCARDED = "discarded", _("Discarded")

    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    filename = models.CharField(_("file"), max_length=255)
    path = models.CharField(max_length=500, help_text="Where the uploaded file is kept")
    # A copy of a web upload, kept by the application and deleted by it once nothing needs it.
    # Not the file of a command-line import, wherever it lies (the uploads folder included):
    # that is the user's own, and never deleted.
    uploaded = models.BooleanField(default=False)
    file_sha256 = models.CharField(max_length=64)
    # The file's header as read when the job was made: the error file is written from it, so
    # the rejected rows (stored with their cells) can be downloaded after a command-line
    # import's file has been moved or deleted.
    header = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    dedup = models.CharField(
        _("duplicates"), max_length=10, choices=Dedup.choices, default=Dedup.AUTO
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    language = models.CharField(max_length=10, default="en")
    via = models.CharField(max_length=10, default="cli")
    # The address of the web request that started the job (or last queued it again), named by
    # the audit rows its background run writes as every web change's rows name theirs.
    client_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    last_row = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    # Updated or merged rows that found everything already there.
    unchanged = models.PositiveIntegerField(_("changed nothing"), default=0)
    merged = models.PositiveIntegerField(_("merged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    queued_for_review = models.PositiveIntegerField(_("queued for review"), default=0)
    # The rows a second the run now reading the file reads, measured by it over its own rows and
    # time (see ``progress``): shown while it runs.
    rows_per_second = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    # Set when someone asks a job being run to stop; its runner reads it before each batch and
    # stops there, so the batch in hand is written whole or not at all.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Who cancelled or discarded the job: the import's starter, or an administrator.
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The finished web dry run this import was made from ("Import this file for real"): a second
    # click on that button goes to this import, whatever has become of it, rather than making
    # another import of the same file (rows without an external id would be imported twice).
    made_from_dry_run = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        related_name="imports_for_real",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        # The jobs reading an uploaded file are looked up by its path: each deletion, and the
        # hourly clean-up for every file it deletes.
        indexes = [models.Index(fields=["path"], name="imports_job_path_idx")]

    def __str__(self) -> str:
        return f"{self.kind} import of {self.filename}"

    @property
    def accounted(self) -> int:
        """Rows with an outcome; always equals ``rows_read``."""
        return self.created + self.updated + self.merged + self.rejected

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.FINISHED else 0
        return min(100, round(100 * self.rows_read / self.total_rows))


class ImportRowError(models.Model):
    """A row that was not imported, with its cells and why, for the error file."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    row_number = models.PositiveIntegerField()
    cells = models.JSONField(default=list)
    # The reasons in the importer's language, as they were written; what rows kept before
    # ``reasons`` existed have alone.
    reason = models.TextField()
    # The same reasons untranslated (see ``guanxi.imports.reasons``), for whoever reads the job
    # to read them in their own language.
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["row_number", "id"]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason[:60]}"

    @property
    def reason_text(self) -> str:
        """The reasons in the active language (as written, for a row kept without them)."""
        # Here, not above: the reasons read the mapping, which reads the customers' models.
        from .reasons import render_stored_reasons

        return render_stored_reasons(self.reasons, fallback=self.reason)


class ImportRememberedId(models.Model):
    """An external id of rows of a customer import's file that left no customer with it, which
    the later rows with that id must know of wherever the batches end (see
    ``CustomerImporter._reasons_if_new``): rejected, or merged into a customer (who may keep
    another id), whom the later rows then go into. Written with each batch, in its transaction,
    so that a resumed import knows what an uninterrupted one would; deleted in the transaction
    that ends the import (finished, cancelled or discarded), and with its job. An interrupted
    import nobody resumes or discards keeps them until then."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="remembered_ids")
    # Text: a rejected row's id may be longer than a customer's may be.
    external_id = models.TextField()
    # Where the first row with the id was rejected once matched, the reason the later rows with
    # it, which follow that row, are rejected with (a message and its parameters, or a text);
    # null where they do not follow it (rejected for its cells, or merged).
    # A later batch may find a row it follows after one that it does not: the id is then
    # written again, with the reason (or with the customer below).
    reason = models.JSONField(null=True, blank=True)
    # Where the first row with the id to be matched was merged into a customer, that customer:
    # the later rows with the id follow the row into it as updates, as in its batch; null where
    # it was not.
    # The id alone, not a foreign key: what the import remembers is where that row went, which
    # must not change with the customer. A later batch looks the customer up as it does every
    # customer it writes into: merged away since, it stands for the one it was merged into (an
    # undone merge, for itself again); deleted, or no longer the importer's to change, the rows
    # are rejected saying so, as in the merged row's batch. A foreign key would do worse: on
    # the customer's deletion, CASCADE would forget the id and SET_NULL where it went (the
    # later rows would then be matched on their own), and PROTECT would let an interrupted
    # import keep a customer from being deleted.
    customer_id = models.BigIntegerField(null=True, blank=True)
    # Whether the first row with the id to be matched made an organisation (its party type):
    # people of the later rows naming the id are then rejected as in that row's batch, leading
    # the rows with their own external ids into the error file (see
    # ``customer_import._Organisations.earlier``), rather than as naming an unknown one.
    organisation = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.external_id} (job {self.job_id})"
