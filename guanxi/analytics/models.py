"""Customer value results: the settings they are computed with, the runs that compute them, the
per-customer figures of each run, and what follows from them (tier movements, churn follow-ups,
the blacklist).

A refresh (``refresh.py``) writes a whole new :class:`AnalyticsRun` with one
:class:`CustomerValue` row per customer, and only then makes it the current run, in one
transaction. Everything that reads results reads the current run, so nobody ever sees a
half-written refresh, and a failed refresh leaves the previous results in place.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.interactions.models import Interaction

# The activity of handling one order (picking, invoicing, collecting), besides the contacts.
ORDER_HANDLED = "order_handled"
# The activity of handling one service desk ticket (reading, answering, chasing, closing it):
# the desk's work writes no contacts, so without it a customer who files complaint after
# complaint would cost nothing to serve.
TICKET_HANDLED = "ticket_handled"


def default_unit_costs() -> dict[str, float]:
    """Cost in CNY of one unit of each activity: one interaction per channel, one order
    handled, one service desk ticket handled.

    Rough figures for a Chinese sales organisation: a field visit takes half a day of a rep's
    time plus travel; a call or chat a few minutes; a fax or an email less; an SMS costs almost
    nothing. A ticket takes an agent's reading, an answer or two and closing it, about twenty
    minutes all told: more than a call, less than a visit. Every business should set its own.
    """
    return {
        Interaction.Channel.VISIT.value: 300.0,
        Interaction.Channel.PHONE.value: 15.0,
        Interaction.Channel.CHAT.value: 8.0,
        Interaction.Channel.EMAIL.value: 5.0,
        Interaction.Channel.FAX.value: 5.0,
        Interaction.Channel.WEB_FORM.value: 3.0,
        Interaction.Channel.SMS.value: 0.5,
        Interaction.Channel.OTHER.value: 10.0,
        ORDER_HANDLED: 20.0,
        TICKET_HANDLED: 25.0,
    }


def _share_field(label, default):
    return models.FloatField(
        label, default=default, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )


class ValueSettings(models.Model):
    """The knobs of customer value analytics, in a single row (:meth:`load` creates it with the
    defaults when it is missing). Edited in the admin; a refresh reads them once at its start
    and records them in the run's figures."""

    unit_costs = models.JSONField(
        _("unit costs"),
        default=default_unit_costs,
        help_text=_(
            "Cost of one unit of each activity: one interaction per channel (visit, phone, …), "
            "one order handled (order_handled) and one service desk ticket handled "
            "(ticket_handled)"
        ),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="CNY",
        help_text=_("Only orders and invoices in this currency enter the money figures"),
    )
    gold_share = _share_field(_("gold share"), 0.2)
    lead_share = _share_field(_("lead share"), 0.3)
    clv_horizon_months = models.PositiveSmallIntegerField(
        _("lifetime value horizon (months)"), default=12, validators=[MinValueValidator(1)]
    )
    monthly_discount_rate = models.FloatField(
        _("monthly discount rate"),
        default=0.01,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.99)],
    )
    churn_p_alive_threshold = _share_field(_("churn threshold of the probability alive"), 0.5)
    churn_overdue_margin = models.FloatField(
        _("churn overdue margin"),
        default=1.5,
        validators=[MinValueValidator(0.01)],
        help_text=_("A purchase is overdue after this many times the customer's usual gap"),
    )
    # Customers with a single purchase have no gap of their own: they are measured against the
    # base's, the days the customers who did buy again took to do it (``value.churn``).
    churn_no_repeat_percentile = models.FloatField(
        _("churn percentile of the wait for a second purchase"),
        default=90.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(100.0)],
        help_text=_(
            "Of the customers who bought again, this percentage did so within the wait that, "
            "times the margin below, flags a customer with one purchase only"
        ),
    )
    churn_no_repeat_margin = models.FloatField(
        _("churn margin on the wait for a second purchase"),
        default=1.5,
        validators=[MinValueValidator(0.01)],
        help_text=_(
            "A customer with one purchase only is flagged after this many times that wait "
            "without a second"
        ),
    )
    lifecycle_cycle_days = models.PositiveIntegerField(
        _("purchase cycle length (days)"), default=365, validators=[MinValueValidator(1)]
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("value analytics settings")
        verbose_name_plural = _("value analytics settings")

    def __str__(self) -> str:
        return str(_("Value analytics settings"))

    @classmethod
    def load(cls) -> "ValueSettings":
        settings_row, _created = cls.objects.get_or_create(pk=1)
        return settings_row

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.unit_costs, dict):
            raise ValidationError({"unit_costs": _("Give an object of activity: cost.")})
        for name, cost in self.unit_costs.items():
            if isinstance(cost, bool) or not isinstance(cost, int | float) or not cost >= 0:
                raise ValidationError(
                    {
                        "unit_costs": _("The cost of %(name)s must be a number, 0 or more.")
                        % {"name": name}
                    }
                )
        if self.gold_share + self.lead_share > 1:
            raise ValidationError(_("The gold and lead shares together cannot exceed 1."))


class AnalyticsRun(models.Model):
    """One refresh of the customer value results. At most one run is current: the one every
    page and report reads. ``figures`` keeps what the run found out about the whole base (fit
    parameters and whether they converged, counts, seconds per step, the settings used)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    as_of = models.DateField(_("as of"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    is_current = models.BooleanField(_("current"), default=False)
    error = models.TextField(_("error"), blank=True)
    figures = models.JSONField(_("figures"), default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="one_current_run"
            )
        ]
        verbose_name = _("analytics run")
        verbose_name_plural = _("analytics runs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.as_of} {self.status}"


def bought_only_in_other_currencies(purchase_days: int, last_purchase) -> bool:
    """Whether a customer's figures are those of one who bought, but nothing in the settings
    currency: the purchase dates count completed orders in every currency, the purchase days
    (and every money figure) the settings currency alone. Such a customer is not one who never
    bought, whatever their empty money figures suggest (their RFM segment is
    "other_currencies")."""
    return purchase_days == 0 and last_purchase is not None


class CustomerValue(models.Model):
    """One customer's value figures in one run. Day counts are as of the run's date; money is in
    the settings' currency. Model predictions (``p_alive``, expected purchases and spend,
    ``clv``) are null when the models could not be fitted, and for customers who never bought."""

    # A run writes a row per customer, a million at a time. With database foreign keys every
    # row was checked at commit, one locking lookup per row and key: 11.6 s of a 22 s write at
    # a million customers. The rows are derived from the customers table by the refresh that
    # writes them, deleting a customer or a run still deletes its rows (Django's cascade), and
    # every reader joins the customers it may see, so a row left behind by a customer deleted
    # during a refresh is never shown and goes with its run when runs are pruned.
    run = models.ForeignKey(
        AnalyticsRun,
        on_delete=models.CASCADE,
        related_name="values",
        db_constraint=False,
        db_index=False,  # the unique (run, customer) index serves lookups by run
        verbose_name=_("run"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="values",
        db_constraint=False,
        db_index=True,
        verbose_name=_("customer"),
    )
    purchase_days = models.PositiveIntegerField(_("purchase days"), default=0)
    first_purchase = models.DateField(_("first purchase"), null=True, blank=True)
    last_purchase = models.DateField(_("last purchase"), null=True, blank=True)
    recency_days = models.IntegerField(_("days since last purchase"), null=True, blank=True)
    tenure_days = models.IntegerField(_("days since first purchase"), null=True, blank=True)
    total_amount = models.FloatField(_("total amount"), default=0)
    monetary_value = models.FloatField(
        _("mean repeat purchase"), default=0, help_text=_("Mean spend per repeat purchase day")
    )
    gross_margin = models.FloatField(_("gross margin"), default=0)
    cost_to_serve = models.FloatField(_("cost to serve"), default=0)
    profit = models.FloatField(_("profit"), default=0)
    r_score = models.PositiveSmallIntegerField(_("R score"), default=0)
    f_score = models.PositiveSmallIntegerField(_("F score"), default=0)
    m_score = models.PositiveSmallIntegerField(_("M score"), default=0)
    rfm_segment = models.CharField(_("RFM segment"), max_length=20, blank=True)
    p_alive = models.FloatField(_("probability active"), null=True, blank=True)
    expected_purchases = models.FloatField(_("expected purchases"), null=True, blank=True)
    expected_spend = models.FloatField(_("expected spend per purchase"), null=True, blank=True)
    clv = models.FloatField(_("lifetime value"), null=True, blank=True)
    pareto_tier = models.CharField(_("value tier"), max_length=10, blank=True)
    volume_tier = models.CharField(_("volume tier"), max_length=10, blank=True)
    value_quadrant = models.CharField(_("value quadrant"), max_length=10, blank=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=20, blank=True)
    churn_flag = models.BooleanField(_("churn warning"), default=False)
    churn_reason = models.CharField(_("churn reason"), max_length=25, blank=True)
    # Null when a warned customer bought only in other currencies than the settings': the
    # figures do not convert currencies, so what is at risk is unknown, not nothing.
    value_at_risk = models.FloatField(_("value at risk"), default=0, null=True, blank=True)
    # True when a warned customer bought in other currencies as well: the value at risk counts
    # the settings-currency part alone, so it is at least that much (see ``refresh``).
    value_at_risk_partial = models.BooleanField(_("partial value at risk"), default=False)
    credit_rating = models.CharField(_("credit rating"), max_length=10, blank=True)

    class Meta:
        ordering = ["run", "customer"]
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="one_value_per_run_customer")
        ]
        verbose_name = _("customer value")
        verbose_name_plural = _("customer values")

    def __str__(self) -> str:
        return f"{self.customer_id} @ run {self.run_id}"

    @property
    def bought_only_in_other_currencies(self) -> bool:
        return bought_only_in_other_currencies(self.purchase_days, self.last_purchase)


class TierChange(models.Model):
    """A customer moving between value tiers from one current run to the next; ``from_tier`` is
    blank the first time a customer is tiered. The history outlives the runs it came from."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="tier_changes",
        verbose_name=_("customer"),
    )
    run = models.ForeignKey(
        AnalyticsRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tier_changes",
        verbose_name=_("run"),
    )
    changed_on = models.DateField(_("changed on"))
    from_tier = models.CharField(_("from tier"), max_length=10, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=10)

    class Meta:
        ordering = ["-changed_on", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_on"], name="tier_change_customer")]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier or '-'} → {self.to_tier}"


class Blacklist(models.Model):
    """A customer no order should go out to without a manager's approval, and why."""

    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="blacklist_entry",
        verbose_name=_("customer"),
    )
    reason = models.TextField(_("reason"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.reason[:40]}"


class ChurnFollowUp(models.Model):
    """A task for a customer's owner: the customer looks lost, find out and win them back.
    A customer has at most one open follow-up, however many refreshes flag them."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="churn_follow_ups",
        verbose_name=_("customer"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="churn_follow_ups",
        verbose_name=_("owner"),
    )
    run = models.ForeignKey(
        AnalyticsRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="churn_follow_ups",
        verbose_name=_("run"),
    )
    reason = models.CharField(_("reason"), max_length=25)
    # Null when unknown, and partial ("at least") as on the customer's figures.
    value_at_risk = models.FloatField(_("value at risk"), default=0, null=True, blank=True)
    value_at_risk_partial = models.BooleanField(_("partial value at risk"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(done_at__isnull=True),
                name="one_open_churn_follow_up",
            )
        ]
        indexes = [models.Index(fields=["owner", "done_at"], name="churn_follow_up_owner")]
        verbose_name = _("churn follow-up")
        verbose_name_plural = _("churn follow-ups")

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.owner_id}: {self.reason}"
