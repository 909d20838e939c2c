"""Reads of orders, invoices and payments, always through the customers a user can see."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from guanxi.customers.models import Customer
from guanxi.customers.visibility import VIEW

from .models import MONEY, Invoice, Order, Payment

CENT = Decimal("0.01")


def _visible_customer_ids(user):
    return Customer.objects.visible_to(user, VIEW).values("pk")


def orders_for_user(
    user,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    ordered_from: dt.date | None = None,
    ordered_to: dt.date | None = None,
) -> QuerySet[Order]:
    """Orders of every customer ``user`` may see, narrowed by the filters (``ordered_to`` is
    inclusive: a day is a whole day)."""
    queryset = Order.objects.filter(customer__in=_visible_customer_ids(user)).select_related(
        "customer"
    )
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if status:
        queryset = queryset.filter(status=status)
    if ordered_from:
        queryset = queryset.filter(ordered_on__gte=ordered_from)
    if ordered_to:
        queryset = queryset.filter(ordered_on__lte=ordered_to)
    return queryset


def order_get_for_user(user, order_id) -> Order:
    """One order of a customer ``user`` may see; ``Order.DoesNotExist`` otherwise, whether it
    does not exist or is out of sight (its existence is not revealed)."""
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        raise Order.DoesNotExist from None
    return (
        Order.objects.filter(customer__in=_visible_customer_ids(user))
        .select_related("customer")
        .prefetch_related("lines")
        .get(pk=pk)
    )


def orders_for_customer(*, customer: Customer) -> QuerySet[Order]:
    """Orders of a customer already fetched through the visibility rule, newest first."""
    return Order.objects.filter(customer=customer).order_by("-ordered_on", "-id")


@dataclass(frozen=True)
class PurchaseSummary:
    """One customer's purchase history in the figures customer value models start from."""

    customer_id: int
    purchase_count: int  # distinct days with a purchase
    first_purchase_on: dt.date
    last_purchase_on: dt.date
    total_amount: Decimal
    mean_amount: Decimal  # per purchase day, matching purchase_count
    total_gross_margin: Decimal | None  # over the orders whose margin is known


def purchase_summary(
    customer_ids, *, currency: str = "CNY", until: dt.date | None = None
) -> dict[int, PurchaseSummary]:
    """Purchase figures per customer, computed by the database in one GROUP BY.

    Refunded and cancelled orders do not count. Several orders on one day are one purchase
    (the usual convention for frequency models, which see a day's basket as one transaction),
    so the mean amount is per purchase day. Only orders in ``currency`` are read, since amounts
    in different currencies cannot be added; ``until`` (inclusive) cuts the history at a date,
    for calibration periods. The caller passes ids it read through the visibility rule;
    customers without a purchase are absent from the answer."""
    queryset = Order.objects.purchases().filter(customer_id__in=customer_ids, currency=currency)
    if until is not None:
        queryset = queryset.filter(ordered_on__lte=until)
    rows = (
        queryset.order_by()
        .values("customer_id")
        .annotate(
            purchase_count=Count("ordered_on", distinct=True),
            first_purchase_on=Min("ordered_on"),
            last_purchase_on=Max("ordered_on"),
            total_amount=Sum("amount"),
            total_gross_margin=Sum("gross_margin"),
        )
    )
    result = {}
    for row in rows:
        total = Decimal(row["total_amount"])
        margin = row["total_gross_margin"]
        result[row["customer_id"]] = PurchaseSummary(
            customer_id=row["customer_id"],
            purchase_count=row["purchase_count"],
            first_purchase_on=row["first_purchase_on"],
            last_purchase_on=row["last_purchase_on"],
            total_amount=total.quantize(CENT),
            mean_amount=(total / row["purchase_count"]).quantize(CENT),
            total_gross_margin=None if margin is None else Decimal(margin).quantize(CENT),
        )
    return result


def purchase_summary_for_user(user, customer_ids, **options) -> dict[int, PurchaseSummary]:
    """:func:`purchase_summary` of those of ``customer_ids`` that ``user`` may see."""
    visible = Customer.objects.visible_to(user, VIEW).filter(pk__in=customer_ids)
    return purchase_summary(visible.values("pk"), **options)


def invoices_for_user(
    user, *, customer_id: int | None = None, status: str | None = None
) -> QuerySet[Invoice]:
    """Invoices of every customer ``user`` may see."""
    queryset = Invoice.objects.filter(customer__in=_visible_customer_ids(user)).select_related(
        "customer"
    )
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def invoice_get_for_user(user, invoice_id) -> Invoice:
    """One invoice of a customer ``user`` may see; ``Invoice.DoesNotExist`` otherwise."""
    try:
        pk = int(invoice_id)
    except (TypeError, ValueError):
        raise Invoice.DoesNotExist from None
    return (
        Invoice.objects.filter(customer__in=_visible_customer_ids(user))
        .select_related("customer")
        .get(pk=pk)
    )


def with_balances(invoices: QuerySet[Invoice], *, as_of: dt.date) -> QuerySet[Invoice]:
    """``invoices`` annotated with ``paid_to_date`` (payments made on or before ``as_of``) and
    ``outstanding`` (amount less that; nothing for a void invoice), in SQL."""
    money = DecimalField(**MONEY)
    paid = (
        Payment.objects.filter(invoice=OuterRef("pk"), paid_on__lte=as_of)
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return invoices.annotate(
        paid_to_date=Coalesce(
            Subquery(paid, output_field=money), Value(Decimal(0)), output_field=money
        ),
    ).annotate(
        outstanding=Case(
            When(status=Invoice.Status.VOID, then=Value(Decimal(0))),
            default=F("amount") - F("paid_to_date"),
            output_field=money,
        )
    )


def days_overdue(invoice: Invoice, *, as_of: dt.date) -> int:
    """Days past the due date on ``as_of`` of an invoice (annotated by :func:`with_balances`)
    that still has money owed; 0 when nothing is owed or it is not yet due."""
    if invoice.outstanding <= 0 or invoice.due_on >= as_of:
        return 0
    return (as_of - invoice.due_on).days
