"""Writes to orders, invoices and payments.

Each service takes the acting user, reaches the customer through the visibility rule at the
CHANGE level (orders are commercial records: whoever may change the customer may book, correct,
refund or bill their orders), validates, writes and records the audit row with the customer's
id, all in one transaction, so a refused or failed write leaves nothing behind and every change
shows in the customer's history.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.roles import REASSIGNING_ROLES
from guanxi.analytics.models import Blacklist, CustomerValue
from guanxi.analytics.value.credit import needs_approval
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record, audit_value, diff_values
from guanxi.core.unique import save_unless_taken
from guanxi.customers.selectors import access_customer
from guanxi.customers.validation import DATE_YEARS
from guanxi.customers.visibility import CHANGE
from guanxi.interactions.services import EARLIEST_YEAR

from .models import Invoice, Order, OrderLine, Payment
from .selectors import invoice_get_for_user, order_get_for_user

ORDER_FIELDS = (
    "external_id",
    "ordered_on",
    "amount",
    "cost",
    "gross_margin",
    "currency",
    "channel",
    "status",
    "notes",
)
LINE_FIELDS = ("product", "sku", "quantity", "unit_price")
INVOICE_FIELDS = ("order_id", "number", "issued_on", "due_on", "amount", "currency")
PAYMENT_FIELDS = ("paid_on", "amount", "method")
CENT = Decimal("0.01")


class StaleOrderError(Exception):
    """The order changed since the caller read it; their update would overwrite that change."""

    def __init__(self, current_version: int):
        super().__init__(f"The order is at version {current_version}.")
        self.current_version = current_version


APPROVAL_FIELDS = ("approval", "approval_reason", "approved_by_id")


def order_snapshot(order: Order) -> dict[str, Any]:
    """The audited fields of an order as JSON-safe values."""
    return {name: audit_value(getattr(order, name)) for name in (*ORDER_FIELDS, *APPROVAL_FIELDS)}


def approval_reason_for(customer_id: int) -> str:
    """Why a new order for this customer needs a manager's approval, or "" when it does not:
    the customer is on the blacklist, or the latest analytics refresh rated their payments D
    (``analytics.value.credit`` holds the rule). A customer no refresh has rated yet is
    unrated, which needs no approval."""
    return approval_reasons_for([customer_id])[customer_id]


def approval_reasons_for(customer_ids: Iterable[int]) -> dict[int, str]:
    """:func:`approval_reason_for` of many customers in two queries (for imports)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    blacklisted = dict(
        Blacklist.objects.filter(customer_id__in=ids).values_list("customer_id", "reason")
    )
    ratings = dict(
        CustomerValue.objects.filter(run__is_current=True, customer_id__in=ids).values_list(
            "customer_id", "credit_rating"
        )
    )
    rating = np.array([ratings.get(i) or "unrated" for i in ids])
    held = needs_approval(rating, np.array([i in blacklisted for i in ids], dtype=bool))
    reasons = {}
    for customer_id, customer_rating, hold in zip(ids, rating, held, strict=True):
        parts = []
        if hold and customer_id in blacklisted:
            parts.append(_("On the blacklist: %(reason)s") % {"reason": blacklisted[customer_id]})
        if hold and customer_rating == "D":
            parts.append(_("Credit rating D"))
        reasons[customer_id] = "; ".join(parts)[:300]
    return reasons


def _decimal(value: Any) -> Any:
    """Numbers from forms and files as Decimal; anything else is left for full_clean to refuse."""
    if isinstance(value, Decimal) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return value
    return value


def _refuse_unknown(data: Mapping[str, Any], allowed: Sequence[str], prefix: str = "") -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({f"{prefix}{name}": [_("Unknown field.")] for name in unknown})


def _not_negative(errors: dict, name: str, value: Any) -> None:
    if isinstance(value, Decimal) and value.is_finite() and value < 0:
        errors.setdefault(name, []).append(_("Must not be negative."))


def _check_date_not_future(errors: dict, name: str, value: Any) -> None:
    # One day of slack: a date entered in a time zone ahead of the server's, which on the last
    # day of a year is in the next.
    latest = timezone.localdate() + dt.timedelta(days=1)
    if isinstance(value, dt.date) and value > latest:
        errors.setdefault(name, []).append(_("This date is in the future."))
    else:
        _check_date_not_too_early(errors, name, value, last=latest.year)


def _check_date_not_too_early(
    errors: dict, name: str, value: Any, *, last: int = DATE_YEARS[1]
) -> None:
    """Dates before ``EARLIEST_YEAR`` (0001-01-01 for a date left out by another program,
    1024 for 2024) are slips, refused as a contact's are (``interactions.services``); an
    invoice's due date may lie ahead, up to ``last``, by default the last year the API takes
    in a date or time (``validation.DATE_YEARS``)."""
    if isinstance(value, dt.date) and not EARLIEST_YEAR <= value.year <= last:
        errors.setdefault(name, []).append(
            _("Give a date between the years %(first)d and %(last)d.")
            % {"first": EARLIEST_YEAR, "last": last}
        )


def _clean_order(order: Order, errors: dict) -> None:
    """Field checks shared by creating and updating an order; adds to ``errors``."""
    for name in ("amount", "cost", "gross_margin"):
        setattr(order, name, _decimal(getattr(order, name)))
    order.currency = (order.currency or "").strip().upper()
    order.external_id = (order.external_id or "").strip() or None
    try:
        order.full_clean(exclude=["customer", "created_by"], validate_unique=False)
    except ValidationError as exc:
        for name, texts in exc.message_dict.items():
            errors.setdefault(name, []).extend(texts)
    _not_negative(errors, "amount", order.amount)
    _not_negative(errors, "cost", order.cost)
    _check_date_not_future(errors, "ordered_on", order.ordered_on)
    if "currency" not in errors and not (len(order.currency) == 3 and order.currency.isalpha()):
        errors.setdefault("currency", []).append(_("A three-letter currency code such as CNY."))
    if (
        order.external_id
        and "external_id" not in errors
        and Order.objects.filter(external_id=order.external_id).exclude(pk=order.pk).exists()
    ):
        errors.setdefault("external_id", []).append(_external_id_taken())


def _external_id_taken() -> str:
    """Why an external id another order holds is refused: the same whoever holds it, a
    customer's order the user sees or one out of their sight, naming no one."""
    return _("Another order already has this external id.")


def _derive_margin(order: Order, data: Mapping[str, Any], errors: dict) -> None:
    """With a known cost, the gross margin is amount less cost unless the same write states
    the margin (some sources know the margin but not the cost, or book costs that are not
    simply subtracted). Changing the amount or cost later derives it again."""
    if data.get("gross_margin") is not None or not ({"amount", "cost"} & set(data)):
        return
    if {"amount", "cost", "gross_margin"} & set(errors):
        return
    if isinstance(order.amount, Decimal) and isinstance(order.cost, Decimal):
        order.gross_margin = (order.amount - order.cost).quantize(CENT)


def _clean_lines(lines: Sequence[Mapping[str, Any]], errors: dict) -> list[OrderLine]:
    result = []
    for index, data in enumerate(lines):
        prefix = f"lines[{index}]."
        if not isinstance(data, Mapping):
            errors.setdefault(f"lines[{index}]", []).append(_("Must be an object."))
            continue
        try:
            _refuse_unknown(data, LINE_FIELDS, prefix)
        except ValidationError as exc:
            for name, texts in exc.message_dict.items():
                errors.setdefault(name, []).extend(texts)
            continue
        line = OrderLine(
            product=(data.get("product") or "").strip(),
            sku=(data.get("sku") or "").strip(),
            quantity=_decimal(data.get("quantity", Decimal(1))),
            unit_price=_decimal(data.get("unit_price")),
        )
        try:
            line.full_clean(exclude=["order"])
        except ValidationError as exc:
            for name, texts in exc.message_dict.items():
                errors.setdefault(prefix + name, []).extend(texts)
        if isinstance(line.quantity, Decimal) and line.quantity.is_finite() and line.quantity <= 0:
            errors.setdefault(prefix + "quantity", []).append(_("Must be more than zero."))
        _not_negative(errors, prefix + "unit_price", line.unit_price)
        result.append(line)
    return result


def _lines_total(lines: list[OrderLine]) -> Decimal | None:
    try:
        return sum((line.quantity * line.unit_price for line in lines), Decimal(0)).quantize(CENT)
    except (TypeError, InvalidOperation):
        return None


@transaction.atomic
def order_create(
    *,
    actor,
    customer_id: int,
    data: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Order:
    """Book an order for a customer the actor may change.

    Without an ``amount``, an order with lines is worth the sum of its lines. Without a
    ``gross_margin``, an order with a ``cost`` has the margin amount less cost."""
    # Locked, so that a merge of this customer under way finishes first: the order is then
    # refused as for a customer gone, instead of being written after the merge moved the
    # customer's orders to the kept one and left behind in the recycle bin.
    customer = access_customer(actor, customer_id, CHANGE, for_update=True)
    _refuse_unknown(data, ORDER_FIELDS)
    errors: dict[str, list[str]] = {}
    clean_lines = _clean_lines(lines or [], errors)
    values = {name: value for name, value in data.items() if value is not None}
    if "amount" not in values and clean_lines and not errors:
        values["amount"] = _lines_total(clean_lines)
    order = Order(customer=customer, created_by=actor, **values)
    order.status = order.status or Order.Status.PLACED
    order.approval_reason = approval_reason_for(customer.pk)
    if order.approval_reason:
        order.approval = Order.Approval.PENDING
    _clean_order(order, errors)
    _derive_margin(order, values, errors)
    if errors:
        raise ValidationError(errors)
    save_unless_taken(order, "external_id", _external_id_taken())
    for line in clean_lines:
        line.order = order
    OrderLine.objects.bulk_create(clean_lines)
    changes = {
        name: {"before": None, "after": value}
        for name, value in order_snapshot(order).items()
        if value not in (None, "")
    }
    if clean_lines:
        changes["lines"] = {"before": None, "after": len(clean_lines)}
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="order",
        object_id=order.pk,
        customer_id=customer.pk,
        summary=_order_summary(order),
        changes=changes,
    )
    return order


def _order_summary(order: Order) -> str:
    return f"{order.ordered_on.isoformat()} {order.amount} {order.currency} ({order.status})"


def _lock_order_for_change(actor, order_id: int) -> Order:
    """The order through the actor's view of its customer (``Order.DoesNotExist`` when they
    may not see it), then ``PermissionDenied`` unless they may change that customer; the row is
    locked for the rest of the transaction."""
    order = order_get_for_user(actor, order_id)
    access_customer(actor, order.customer_id, CHANGE)
    return Order.objects.select_for_update().get(pk=order.pk)


def _check_status_change(order: Order, new_status: str, errors: dict) -> None:
    if new_status == order.status:
        return
    if order.status in Order.NOT_PURCHASES:
        errors.setdefault("status", []).append(
            _("A %(status)s order cannot change its status any more.")
            % {"status": order.get_status_display().lower()}
        )


def _save_change(actor, order: Order, before: dict[str, Any]) -> Order:
    order.version = F("version") + 1
    order.updated_at = timezone.now()
    save_unless_taken(order, "external_id", _external_id_taken())
    order.refresh_from_db()
    changes = diff_values(before, order_snapshot(order))
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="order",
        object_id=order.pk,
        customer_id=order.customer_id,
        summary=_order_summary(order),
        changes=changes,
    )
    return order


@transaction.atomic
def order_update(*, actor, order_id: int, expected_version: int, data: Mapping[str, Any]) -> Order:
    """Change the given fields of an order whose customer the actor may change.

    ``expected_version`` is the version the caller based their edit on; if someone saved in
    between, :class:`StaleOrderError` is raised and nothing is written. A refunded or cancelled
    order keeps that status."""
    order = _lock_order_for_change(actor, order_id)
    if order.version != expected_version:
        raise StaleOrderError(order.version)
    _refuse_unknown(data, ORDER_FIELDS)
    before = order_snapshot(order)
    errors: dict[str, list[str]] = {}
    required = ("ordered_on", "amount", "currency", "channel", "status")
    for name, value in data.items():
        if value is None and name in required:
            errors.setdefault(name, []).append(_("This field cannot be empty."))
        elif name == "status":
            _check_status_change(order, value, errors)
            order.status = value
        else:
            setattr(order, name, "" if value is None and name == "notes" else value)
    _clean_order(order, errors)
    _derive_margin(order, data, errors)
    if errors:
        raise ValidationError(errors)
    return _save_change(actor, order, before)


@transaction.atomic
def order_approve(*, actor, order_id: int, expected_version: int | None = None) -> Order:
    """A manager (or an administrator) lets an order that waits for approval go ahead: one for
    a blacklisted or D-rated customer. The approval, who gave it and when are audited."""
    order = _lock_order_for_change(actor, order_id)
    if not (actor.is_superuser or actor.role in REASSIGNING_ROLES):
        raise PermissionDenied(_("Only a manager may approve orders."))
    if expected_version is not None and order.version != expected_version:
        raise StaleOrderError(order.version)
    if order.approval != Order.Approval.PENDING:
        raise ValidationError({"approval": [_("This order is not waiting for approval.")]})
    before = order_snapshot(order)
    order.approval = Order.Approval.APPROVED
    order.approved_by = actor
    order.approved_at = timezone.now()
    return _save_change(actor, order, before)


@transaction.atomic
def order_set_status(
    *, actor, order_id: int, status: str, expected_version: int | None = None
) -> Order:
    """Move an order to ``status`` — above all to refunded or cancelled, which take it out of
    every purchase figure. Refunded and cancelled are final. With ``expected_version`` the
    change is refused (:class:`StaleOrderError`) if the order changed since it was read."""
    order = _lock_order_for_change(actor, order_id)
    if expected_version is not None and order.version != expected_version:
        raise StaleOrderError(order.version)
    errors: dict[str, list[str]] = {}
    if status not in Order.Status.values:
        errors["status"] = [_("Not a known order status.")]
    elif status == order.status:
        errors["status"] = [
            _("The order is already %(status)s.") % {"status": order.get_status_display().lower()}
        ]
    else:
        _check_status_change(order, status, errors)
    if errors:
        raise ValidationError(errors)
    before = order_snapshot(order)
    order.status = status
    return _save_change(actor, order, before)


@transaction.atomic
def invoice_create(*, actor, customer_id: int, data: Mapping[str, Any]) -> Invoice:
    """Bill a customer the actor may change, optionally for one of that customer's orders."""
    # Locked against a merge under way, as when booking an order (see ``order_create``).
    customer = access_customer(actor, customer_id, CHANGE, for_update=True)
    _refuse_unknown(data, INVOICE_FIELDS)
    errors: dict[str, list[str]] = {}
    values = {name: value for name, value in data.items() if value is not None}
    order_id = values.pop("order_id", None)
    invoice = Invoice(customer=customer, created_by=actor, **values)
    invoice.amount = _decimal(invoice.amount)
    invoice.number = (invoice.number or "").strip()
    invoice.currency = (invoice.currency or "").strip().upper()
    if order_id is not None:
        # Only an order of this same customer; any other is "not found", visible or not.
        order = Order.objects.filter(pk=order_id, customer=customer).first()
        if order is None:
            errors["order_id"] = [_("No such order of this customer.")]
        else:
            invoice.order = order
    try:
        invoice.full_clean(exclude=["customer", "order", "created_by"], validate_unique=False)
    except ValidationError as exc:
        for name, texts in exc.message_dict.items():
            errors.setdefault(name, []).extend(texts)
    _not_negative(errors, "amount", invoice.amount)
    _check_date_not_too_early(errors, "issued_on", invoice.issued_on)
    _check_date_not_too_early(errors, "due_on", invoice.due_on)
    if (
        isinstance(invoice.issued_on, dt.date)
        and isinstance(invoice.due_on, dt.date)
        and invoice.due_on < invoice.issued_on
    ):
        errors.setdefault("due_on", []).append(_("The due date is before the issue date."))
    if "currency" not in errors and not (len(invoice.currency) == 3 and invoice.currency.isalpha()):
        errors.setdefault("currency", []).append(_("A three-letter currency code such as CNY."))
    if (
        invoice.number
        and "number" not in errors
        and Invoice.objects.filter(number=invoice.number).exists()
    ):
        errors.setdefault("number", []).append(_("Another invoice already has this number."))
    if errors:
        raise ValidationError(errors)
    invoice.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="invoice",
        object_id=invoice.pk,
        customer_id=customer.pk,
        summary=f"{invoice.number} {invoice.amount} {invoice.currency}",
        changes={
            "number": {"before": None, "after": invoice.number},
            "order_id": {"before": None, "after": invoice.order_id},
            "issued_on": {"before": None, "after": invoice.issued_on.isoformat()},
            "due_on": {"before": None, "after": invoice.due_on.isoformat()},
            "amount": {"before": None, "after": str(invoice.amount)},
            "currency": {"before": None, "after": invoice.currency},
        },
    )
    return invoice


@transaction.atomic
def payment_record(*, actor, invoice_id: int, data: Mapping[str, Any]) -> Payment:
    """Record money received against an open invoice whose customer the actor may change. A
    payment may not exceed what is still owed; the payment that settles the invoice marks it
    paid."""
    invoice = invoice_get_for_user(actor, invoice_id)
    access_customer(actor, invoice.customer_id, CHANGE)
    # Locked, so two payments recorded at once cannot both fit in the same outstanding amount.
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    _refuse_unknown(data, PAYMENT_FIELDS)
    errors: dict[str, list[str]] = {}
    values = {name: value for name, value in data.items() if value is not None}
    payment = Payment(invoice=invoice, created_by=actor, **values)
    payment.amount = _decimal(payment.amount)
    try:
        payment.full_clean(exclude=["invoice", "created_by"])
    except ValidationError as exc:
        for name, texts in exc.message_dict.items():
            errors.setdefault(name, []).extend(texts)
    _check_date_not_future(errors, "paid_on", payment.paid_on)
    if invoice.status != Invoice.Status.OPEN:
        errors.setdefault("invoice", []).append(
            _("This invoice is %(status)s; payments go on open invoices.")
            % {"status": invoice.get_status_display().lower()}
        )
    paid = invoice.payments.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    outstanding = invoice.amount - paid
    if "amount" not in errors and isinstance(payment.amount, Decimal):
        if payment.amount <= 0:
            errors.setdefault("amount", []).append(_("Must be more than zero."))
        elif payment.amount > outstanding:
            errors.setdefault("amount", []).append(
                _("More than the %(outstanding)s still owed on this invoice.")
                % {"outstanding": outstanding}
            )
    if errors:
        raise ValidationError(errors)
    payment.save()
    status_before = invoice.status
    if payment.amount == outstanding:
        invoice.status = Invoice.Status.PAID
        invoice.save(update_fields=["status"])
    settled = (
        {"invoice_status": {"before": status_before, "after": invoice.status}}
        if invoice.status != status_before
        else {}
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="payment",
        object_id=payment.pk,
        customer_id=invoice.customer_id,
        summary=f"{invoice.number}: {payment.amount} {invoice.currency}",
        changes={
            "invoice_id": {"before": None, "after": invoice.pk},
            "paid_on": {"before": None, "after": payment.paid_on.isoformat()},
            "amount": {"before": None, "after": str(payment.amount)},
            "method": {"before": None, "after": payment.method},
            "outstanding": {"before": str(outstanding), "after": str(outstanding - payment.amount)},
            **settled,
        },
    )
    return payment
