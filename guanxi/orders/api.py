"""Orders, invoices and payments in the REST API.

Every read goes through the caller's view of the customer (an order of a customer out of sight
answers 404, like one that does not exist); every write needs the right to change that customer
(403 when it can be seen but not changed). Money is sent and returned as decimal strings or
numbers with at most two decimal places, never as binary floats in the answer.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import BaseModel, Field, StringConstraints

from guanxi.api.errors import ApiError, ErrorOut, StaleVersionOut, error_responses, refers_to
from guanxi.api.idempotency import idempotent
from guanxi.api.pagination import keyset_answer
from guanxi.api.schemas import (
    MAX_ORDER_LINES,
    BodyId,
    Cursor,
    InputSchema,
    Limit,
    Omittable,
    ParamId,
    RefOut,
    Version,
    column_text,
)
from guanxi.customers.models import Customer

from . import services
from .models import Invoice, Order, OrderLine, Payment
from .selectors import (
    days_overdue,
    invoices_for_user,
    order_get_for_user,
    orders_for_user,
    with_balances,
)

router = Router(tags=["orders"])

Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
Quantity = Annotated[Decimal, Field(max_digits=14, decimal_places=3)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
ChannelValue = Literal[tuple(Order.Channel.values)]
StatusValue = Literal[tuple(Order.Status.values)]
InvoiceStatusValue = Literal[tuple(Invoice.Status.values)]
MethodValue = Literal[tuple(Payment.Method.values)]
# Lists are read newest recorded first: ids only grow, so the keyset is one plain column.
ORDERINGS = {"-id": "id"}
# Orders: latest order date first, then the latest recorded (an index on (ordered_on, id)
# answers that at any depth and under any date filter, see migration 0003).
ORDER_ORDERINGS = {"-ordered_on": "ordered_on"}
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Orders


class OrderLineIn(InputSchema):
    product: column_text(OrderLine, "product", min_length=1)
    sku: column_text(OrderLine, "sku") | None = None
    quantity: Quantity = Decimal(1)
    unit_price: Money


class OrderFieldsIn(InputSchema):
    external_id: column_text(Order, "external_id") | None = Field(
        None, description="The order's key in another system."
    )
    ordered_on: dt.date | None = None
    amount: Money | None = Field(None, description="Defaults to the sum of the lines.")
    cost: Money | None = None
    gross_margin: Money | None = Field(
        None, description="Defaults to amount less cost when the cost is given."
    )
    currency: Currency | None = Field(None, description="ISO code; defaults to CNY.")
    channel: ChannelValue | None = None
    status: StatusValue | None = None
    notes: str | None = None


class OrderCreateIn(OrderFieldsIn):
    customer_id: BodyId
    ordered_on: dt.date
    lines: list[OrderLineIn] | None = Field(None, max_length=MAX_ORDER_LINES)


class OrderPatchIn(OrderFieldsIn):
    """An order always has a date, an amount, a currency, a channel and a status: a change may
    leave them out but not send them as null (a new order, whose date is required, takes null
    for the others as their defaults)."""

    version: Version = Field(description="The version you read.")
    ordered_on: Omittable[dt.date] = None
    amount: Omittable[Money] = None
    currency: Omittable[Currency] = Field(None, description="ISO code.")
    channel: Omittable[ChannelValue] = None
    status: Omittable[StatusValue] = None


class VersionIn(InputSchema):
    version: Version = Field(description="The version you read.")


class OrderLineOut(Schema):
    id: int
    product: str
    sku: str
    quantity: Decimal
    unit_price: Decimal


class OrderOut(Schema):
    id: int
    customer: RefOut
    external_id: str | None
    ordered_on: dt.date
    amount: Decimal
    cost: Decimal | None
    gross_margin: Decimal | None
    currency: str
    channel: str
    status: str
    counts_as_purchase: bool
    notes: str
    approval: str = Field(
        description="`pending` while a blacklisted or D-rated customer's order waits for a "
        "manager, `approved` once one let it go ahead, empty when no approval is needed."
    )
    approval_reason: str
    approved_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]


class OrderPageOut(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class OrderListQuery(BaseModel):
    cursor: Cursor | None = None
    limit: Limit = 50
    customer_id: ParamId | None = None
    status: StatusValue | None = None
    ordered_from: dt.date | None = Field(None, description="Ordered on or after this day.")
    ordered_to: dt.date | None = Field(None, description="Ordered on or before this day.")


def _order_detail(order: Order) -> OrderDetailOut:
    order = Order.objects.select_related("customer").prefetch_related("lines").get(pk=order.pk)
    return OrderDetailOut.from_orm(order)


def _stale(exc: services.StaleOrderError) -> ApiError:
    message = _(
        "Someone changed this order since you read it (it is now at version %(v)d). "
        "Read it again and repeat your change."
    ) % {"v": exc.current_version}
    return ApiError(409, message, {"version": message}, current_version=exc.current_version)


@router.get(
    "/orders",
    response={200: OrderPageOut, **error_responses()},
    url_name="order_list",
    summary="List orders",
)
def order_list(request: HttpRequest, query: Query[OrderListQuery]):
    """Orders of every customer you may see, latest order date first (the latest recorded
    first within a day), narrowed by the filters."""
    queryset = orders_for_user(
        request.auth,
        customer_id=query.customer_id,
        status=query.status,
        ordered_from=query.ordered_from,
        ordered_to=query.ordered_to,
    )
    page = keyset_answer(
        queryset,
        ordering="-ordered_on",
        cursor=query.cursor,
        limit=query.limit,
        orderings=ORDER_ORDERINGS,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/orders/{order_id}",
    response={200: OrderDetailOut, **error_responses(404)},
    url_name="order_detail",
    summary="Read an order",
)
def order_detail(request: HttpRequest, order_id: ParamId):
    """One order with its lines."""
    return OrderDetailOut.from_orm(order_get_for_user(request.auth, order_id))


@router.post(
    "/orders",
    response={201: OrderDetailOut, **error_responses(403, 404, 409)},
    url_name="order_create",
    summary="Book an order",
)
@idempotent
def order_create(request: HttpRequest, payload: OrderCreateIn):
    """Book an order, optionally with its lines, for a customer you may change."""
    data = payload.model_dump(exclude_unset=True, exclude={"customer_id", "lines"})
    lines = [line.model_dump(exclude_none=True) for line in payload.lines or []]
    with refers_to("customer_id", Customer, _("No such customer.")):
        order = services.order_create(
            actor=request.auth, customer_id=payload.customer_id, data=data, lines=lines
        )
    return Status(201, _order_detail(order))


@router.patch(
    "/orders/{order_id}",
    response={200: OrderDetailOut, 409: StaleVersionOut, **error_responses(403, 404)},
    url_name="order_update",
    summary="Change an order",
)
def order_update(request: HttpRequest, order_id: ParamId, payload: OrderPatchIn):
    """Change the fields you send and nothing else. Send the `version` you read; if someone
    saved in between, the answer is 409 with `current_version` and nothing is written."""
    try:
        order = services.order_update(
            actor=request.auth,
            order_id=order_id,
            expected_version=payload.version,
            data=payload.model_dump(exclude_unset=True, exclude={"version"}),
        )
    except services.StaleOrderError as exc:
        raise _stale(exc) from None
    return _order_detail(order)


def _set_status(request: HttpRequest, order_id: int, payload: VersionIn, status: str):
    try:
        order = services.order_set_status(
            actor=request.auth,
            order_id=order_id,
            status=status,
            expected_version=payload.version,
        )
    except services.StaleOrderError as exc:
        raise _stale(exc) from None
    return _order_detail(order)


@router.post(
    "/orders/{order_id}/refund",
    response={200: OrderDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="order_refund",
    summary="Refund an order",
)
@idempotent
def order_refund(request: HttpRequest, order_id: ParamId, payload: VersionIn):
    """Mark the order refunded: it no longer counts as a purchase. This is final."""
    return _set_status(request, order_id, payload, Order.Status.REFUNDED)


@router.post(
    "/orders/{order_id}/cancel",
    response={200: OrderDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="order_cancel",
    summary="Cancel an order",
)
@idempotent
def order_cancel(request: HttpRequest, order_id: ParamId, payload: VersionIn):
    """Mark the order cancelled: it no longer counts as a purchase. This is final."""
    return _set_status(request, order_id, payload, Order.Status.CANCELLED)


@router.post(
    "/orders/{order_id}/approve",
    response={200: OrderDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="order_approve",
    summary="Approve an order",
)
@idempotent
def order_approve(request: HttpRequest, order_id: ParamId, payload: VersionIn):
    """Let an order that waits for approval (a blacklisted or D-rated customer's) go ahead.
    Managers and administrators only."""
    try:
        order = services.order_approve(
            actor=request.auth, order_id=order_id, expected_version=payload.version
        )
    except services.StaleOrderError as exc:
        raise _stale(exc) from None
    return _order_detail(order)


# ---------------------------------------------------------------------------------------------
# Invoices and payments


class InvoiceIn(InputSchema):
    customer_id: BodyId
    order_id: BodyId | None = None
    number: column_text(Invoice, "number", min_length=1)
    issued_on: dt.date
    due_on: dt.date
    amount: Money
    currency: Currency | None = Field(None, description="ISO code; defaults to CNY.")


class PaymentIn(InputSchema):
    paid_on: dt.date
    amount: Money
    method: MethodValue | None = Field(None, description="Defaults to bank_transfer.")


class PaymentOut(Schema):
    id: int
    paid_on: dt.date
    amount: Decimal
    method: str


class InvoiceOut(Schema):
    id: int
    customer: RefOut
    order_id: int | None
    number: str
    issued_on: dt.date
    due_on: dt.date
    amount: Decimal
    currency: str
    status: str
    paid_to_date: Decimal
    outstanding: Decimal
    days_overdue: int


class InvoicePageOut(Schema):
    items: list[InvoiceOut]
    next_cursor: str | None


class InvoiceListQuery(BaseModel):
    cursor: Cursor | None = None
    limit: Limit = 50
    customer_id: ParamId | None = None
    status: InvoiceStatusValue | None = None
    as_of: dt.date | None = Field(
        None, description="Balances and days overdue as on this day; defaults to today."
    )


def _invoice_out(invoice: Invoice, as_of: dt.date) -> InvoiceOut:
    """An invoice annotated by ``with_balances`` in the answer's shape."""
    # Computed sums come back from SQLite without their scale ("70" for 70.00).
    invoice.paid_to_date = Decimal(invoice.paid_to_date).quantize(CENT)
    invoice.outstanding = Decimal(invoice.outstanding).quantize(CENT)
    invoice.days_overdue = days_overdue(invoice, as_of=as_of)
    return InvoiceOut.from_orm(invoice)


def _invoice_with_balance(invoice_id: int, as_of: dt.date) -> Invoice:
    queryset = Invoice.objects.filter(pk=invoice_id).select_related("customer")
    return with_balances(queryset, as_of=as_of).get()


@router.get(
    "/invoices",
    response={200: InvoicePageOut, **error_responses()},
    url_name="invoice_list",
    summary="List invoices",
)
def invoice_list(request: HttpRequest, query: Query[InvoiceListQuery]):
    """Invoices of every customer you may see, newest first, with what is still owed and for
    how many days it is overdue."""
    as_of = query.as_of or timezone.localdate()
    queryset = with_balances(
        invoices_for_user(request.auth, customer_id=query.customer_id, status=query.status),
        as_of=as_of,
    )
    page = keyset_answer(
        queryset, ordering="-id", cursor=query.cursor, limit=query.limit, orderings=ORDERINGS
    )
    return {
        "items": [_invoice_out(invoice, as_of) for invoice in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post(
    "/invoices",
    response={201: InvoiceOut, **error_responses(403, 404, 409)},
    url_name="invoice_create",
    summary="Issue an invoice",
)
@idempotent
def invoice_create(request: HttpRequest, payload: InvoiceIn):
    """Bill a customer you may change, optionally for one of their orders."""
    with refers_to("customer_id", Customer, _("No such customer.")):
        invoice = services.invoice_create(
            actor=request.auth,
            customer_id=payload.customer_id,
            data=payload.model_dump(exclude_unset=True, exclude={"customer_id"}),
        )
    today = timezone.localdate()
    return Status(201, _invoice_out(_invoice_with_balance(invoice.pk, today), today))


@router.post(
    "/invoices/{invoice_id}/payments",
    response={201: PaymentOut, **error_responses(403, 404, 409)},
    url_name="invoice_payment_create",
    summary="Record a payment",
)
@idempotent
def invoice_payment_create(request: HttpRequest, invoice_id: ParamId, payload: PaymentIn):
    """Record money received against an open invoice; the payment that settles it marks the
    invoice paid. A payment larger than what is owed is refused."""
    payment = services.payment_record(
        actor=request.auth,
        invoice_id=invoice_id,
        data=payload.model_dump(exclude_unset=True),
    )
    return Status(201, PaymentOut.from_orm(payment))
