"""What customers bought and what they owe: orders (with optional lines), invoices and the
payments made against them.

These rows feed customer value analytics (purchase frequency, recency, monetary value), so an
order records its date and amounts as the customer experienced them; refunds and cancellations
stay in the table with their status rather than being deleted, and are left out of every
"purchase" figure by :meth:`OrderQuerySet.purchases`.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class OrderQuerySet(models.QuerySet):
    def purchases(self) -> "OrderQuerySet":
        """Orders that count as a purchase: everything except refunded and cancelled ones."""
        return self.exclude(status__in=Order.NOT_PURCHASES)


class Order(models.Model):
    """One order a customer placed, through whichever channel, with its amount, cost and gross
    margin in its own currency. ``version`` grows with every change so that two people editing
    the same order cannot silently overwrite each other."""

    class Channel(models.TextChoices):
        WEB = "web", _("Web shop")
        STORE = "store", _("Store")
        PHONE = "phone", _("Phone")
        SALES_VISIT = "sales_visit", _("Sales visit")
        MARKETPLACE = "marketplace", _("Marketplace")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Completed")
        REFUNDED = "refunded", _("Refunded")
        CANCELLED = "cancelled", _("Cancelled")

    class Approval(models.TextChoices):
        NOT_NEEDED = "", _("Not needed")
        PENDING = "pending", _("Waiting for a manager")
        APPROVED = "approved", _("Approved")

    NOT_PURCHASES = (Status.REFUNDED, Status.CANCELLED)

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="orders",
        verbose_name=_("customer"),
    )
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The order's key in another system (for imports)"),
    )
    ordered_on = models.DateField(_("order date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    cost = models.DecimalField(_("cost"), **MONEY, null=True, blank=True)
    gross_margin = models.DecimalField(_("gross margin"), **MONEY, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.OTHER
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLACED
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # An order for a blacklisted customer, or one rated D for credit, waits for a manager.
    approval = models.CharField(
        _("approval"), max_length=10, choices=Approval.choices, blank=True, default=""
    )
    approval_reason = models.CharField(_("why approval is needed"), max_length=300, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-ordered_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "ordered_on"], name="order_customer_date"),
            models.Index(fields=["status"], name="order_status"),
            # The order list's order, latest first, under any filter (migration 0003).
            models.Index(fields=["ordered_on", "id"], name="order_date_id"),
        ]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return f"#{self.pk} {self.ordered_on} {self.amount} {self.currency}"

    @property
    def counts_as_purchase(self) -> bool:
        return self.status not in self.NOT_PURCHASES


class OrderLine(models.Model):
    """One product on an order. Lines are optional: many sources only know the order total."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order")
    )
    product = models.CharField(_("product"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=100, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"


class Invoice(models.Model):
    """A bill sent to a customer, usually for one order. What is still owed is the amount less
    the payments recorded against it (see ``selectors.invoice_balances``)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="invoices",
        verbose_name=_("customer"),
    )
    order = models.ForeignKey(
        Order,
        # An order with an invoice is not deleted on its own; both go when the customer does.
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("order"),
    )
    number = models.CharField(_("invoice number"), max_length=50, unique=True)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-issued_on", "-id"]
        indexes = [models.Index(fields=["customer", "due_on"], name="invoice_customer_due")]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    """Money received against an invoice."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CASH = "cash", _("Cash")
        CARD = "card", _("Card")
        ALIPAY = "alipay", _("Alipay")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="payments", verbose_name=_("invoice")
    )
    paid_on = models.DateField(_("paid on"))
    amount = models.DecimalField(_("amount"), **MONEY)
    method = models.CharField(
        _("method"), max_length=20, choices=Method.choices, default=Method.BANK_TRANSFER
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["paid_on", "id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.paid_on} {self.amount}"
