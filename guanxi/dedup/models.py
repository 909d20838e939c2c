from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .matching.model import score_without


class MatchKey(models.Model):
    """One blocking key of a customer, as a 64-bit hash (see ``matching.blocking``).

    Maintained by every service that changes what duplicate detection looks at, so the
    new-customer form and the importer find candidate duplicates with one indexed lookup.
    ``rule`` is the position of the key's rule in ``blocking.RULE_CODES``."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key_hash = models.BigIntegerField()
    rule = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "key_hash"], name="matchkey_unique")
        ]
        # Key first, then customer: finding who shares a key reads the index alone.
        indexes = [models.Index(fields=["key_hash", "customer"], name="matchkey_hash_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.key_hash}"


class MatchProfile(models.Model):
    """A customer's normal forms for duplicate detection (``matching.records.record_profile``),
    kept with its blocking keys, so candidates are compared without normalising them again."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    profile = models.TextField()

    def __str__(self) -> str:
        return f"profile of {self.customer_id}"


class DuplicatePair(models.Model):
    """Two customers that may be one: found by a scan, an import or the form, waiting for a
    person to merge them or to say they are different. A rejected pair is remembered, so it is
    never proposed again."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for review")
        MERGED = "merged", _("Merged")
        REJECTED = "rejected", _("Not duplicates")

    class Source(models.TextChoices):
        SCAN = "scan", _("Duplicate scan")
        IMPORT = "import", _("Import")
        INTAKE = "intake", _("Service desk request")
        RESTORE = "restore", _("Restored from the recycle bin")

    left = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("left")
    )
    right = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("right"),
    )
    score = models.FloatField(_("score"))
    # The score without the ID numbers' evidence, which is what whoever may not see ID numbers
    # in full is shown, sorted and filtered by: the score itself would tell them whether two
    # customers' numbers agree (100 % for two different names with one number).
    score_without_id_number = models.FloatField(_("score without the ID number"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    source = models.CharField(_("found by"), max_length=10, choices=Source.choices)
    # What each field contributed: [{"field": …, "level": …, "weight": …}], and "inferred"
    # when the pair follows from two others rather than from its own fields.
    details = models.JSONField(_("details"), default=dict, blank=True)
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="duplicatepair_unique"),
            models.CheckConstraint(
                condition=models.Q(left__lt=models.F("right")), name="duplicatepair_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "id"], name="duplicatepair_queue"),
            models.Index(
                fields=["status", "-score_without_id_number", "id"],
                name="duplicatepair_queue_blind",
            ),
            models.Index(fields=["right"], name="duplicatepair_right"),
        ]

    def __str__(self) -> str:
        return f"{self.left_id}~{self.right_id} ({self.score:.2f}, {self.status})"

    def save(self, *args, **kwargs) -> None:
        # A copy of the score, derived from the score and details it is saved with, so that no
        # pair can be written without it. Writers that insert many pairs at once (which skips
        # this) set it themselves, and the column refuses a pair without it.
        if self.score_without_id_number is None:
            self.score_without_id_number = score_without(self.score, self.details.get("fields"))
        super().save(*args, **kwargs)


class CustomerMerge(models.Model):
    """One merge of two customers, with everything needed to undo it.

    ``details`` records which rows moved from the merged customer to the survivor (by model
    and id), which empty fields of the survivor were filled and with what, which consents and
    tags changed: undoing moves exactly those back."""

    survivor = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="merges_received",
        verbose_name=_("kept customer"),
    )
    merged = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="merges_given",
        verbose_name=_("merged customer"),
    )
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    details = models.JSONField(default=dict)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.survivor_id}"


class MatchModelFit(models.Model):
    """The duplicate-detection model fitted by a scan (``matching.model.MatchModel`` as JSON).
    The newest one scores the importer's and the form's candidates."""

    fitted_at = models.DateTimeField(default=timezone.now)
    parameters = models.JSONField()
    customers = models.PositiveIntegerField()
    candidate_pairs = models.PositiveBigIntegerField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["-fitted_at", "-id"]

    def __str__(self) -> str:
        return f"model of {self.fitted_at:%Y-%m-%d %H:%M}"
