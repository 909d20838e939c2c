"""Booking, changing, refunding and billing orders: the permission check, the audit row in the
same transaction, stale versions, and the derived gross margin."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.orders.models import Invoice, Order, OrderLine, Payment
from guanxi.orders.services import (
    StaleOrderError,
    invoice_create,
    order_create,
    order_set_status,
    order_update,
    payment_record,
)

DAY = dt.date(2026, 3, 2)


def _order(company, customer=None, **data):
    return order_create(
        actor=company.rep,
        customer_id=(customer or company.rep_customer).pk,
        data={"ordered_on": DAY, "amount": Decimal("100.00"), **data},
    )


def test_an_order_is_booked_with_its_audit_row_and_derived_margin(company):
    order = _order(company, cost=Decimal("60.50"), channel="store")
    assert order.gross_margin == Decimal("39.50")
    assert (order.currency, order.status, order.version) == ("CNY", "placed", 1)
    event = AuditEvent.objects.get(object_type="order", object_id=order.pk)
    assert event.customer_id == company.rep_customer.pk
    assert event.action == "create" and event.actor == company.rep
    assert event.changes["amount"] == {"before": None, "after": "100.00"}


def test_a_stated_margin_is_kept_and_lines_give_the_amount(company):
    order = order_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"ordered_on": DAY, "cost": Decimal("10"), "gross_margin": Decimal("5")},
        lines=[
            {"product": "茶叶", "quantity": Decimal("2"), "unit_price": Decimal("30.25")},
            {"product": "茶具", "unit_price": Decimal("9.50")},
        ],
    )
    assert order.amount == Decimal("70.00")
    assert order.gross_margin == Decimal("5")
    assert OrderLine.objects.filter(order=order).count() == 2


def test_who_may_book_follows_the_change_level(company):
    # Visible but not changeable: the analyst sees everyone, the teammate's customer is shared
    # for viewing only, a service agent changes only the customers they own.
    for actor, customer in (
        (company.analyst, company.rep_customer),
        (company.rep, company.teammate_customer),
        (company.agent, company.rep_customer),
    ):
        with pytest.raises(PermissionDenied):
            order_create(
                actor=actor, customer_id=customer.pk, data={"ordered_on": DAY, "amount": 1}
            )
    with pytest.raises(Customer.DoesNotExist):  # out of sight
        order_create(
            actor=company.rep,
            customer_id=company.west_customer.pk,
            data={"ordered_on": DAY, "amount": 1},
        )
    assert not Order.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ordered_on": DAY, "amount": Decimal("-1")}, "amount"),
        ({"ordered_on": DAY, "amount": "lots"}, "amount"),
        ({"ordered_on": DAY, "amount": Decimal("1.234")}, "amount"),
        ({"ordered_on": DAY, "amount": 1, "cost": Decimal("-2")}, "cost"),
        ({"ordered_on": "2026-02-30", "amount": 1}, "ordered_on"),
        ({"ordered_on": dt.date(2099, 1, 1), "amount": 1}, "ordered_on"),
        ({"amount": 1}, "ordered_on"),
        ({"ordered_on": DAY, "amount": 1, "status": "lost"}, "status"),
        ({"ordered_on": DAY, "amount": 1, "channel": "pigeon"}, "channel"),
        ({"ordered_on": DAY, "amount": 1, "currency": "RMB1"}, "currency"),
        ({"ordered_on": DAY, "amount": 1, "colour": "red"}, "colour"),
    ],
)
def test_bad_orders_are_refused_naming_the_field(company, data, field):
    with pytest.raises(ValidationError) as caught:
        order_create(actor=company.rep, customer_id=company.rep_customer.pk, data=data)
    assert field in caught.value.message_dict
    assert not Order.objects.exists() and not AuditEvent.objects.exists()


def test_a_bad_line_is_named_by_its_position(company):
    with pytest.raises(ValidationError) as caught:
        order_create(
            actor=company.rep,
            customer_id=company.rep_customer.pk,
            data={"ordered_on": DAY},
            lines=[{"product": "ok", "unit_price": 1}, {"product": "", "unit_price": 1}],
        )
    assert "lines[1].product" in caught.value.message_dict


def test_external_ids_are_unique(company):
    _order(company, external_id="A-1")
    with pytest.raises(ValidationError) as caught:
        _order(company, external_id="A-1")
    assert "external_id" in caught.value.message_dict


def test_update_with_a_stale_version_changes_nothing(company):
    order = _order(company, cost=Decimal("40"))
    updated = order_update(
        actor=company.rep,
        order_id=order.pk,
        expected_version=1,
        data={"amount": Decimal("120.00"), "notes": "price corrected"},
    )
    assert (updated.version, updated.amount, updated.gross_margin) == (
        2,
        Decimal("120.00"),
        Decimal("80.00"),
    )
    with pytest.raises(StaleOrderError) as caught:
        order_update(actor=company.rep, order_id=order.pk, expected_version=1, data={"amount": 1})
    assert caught.value.current_version == 2
    order.refresh_from_db()
    assert order.amount == Decimal("120.00")
    update = AuditEvent.objects.get(object_type="order", action="update")
    assert update.changes["amount"] == {"before": "100.00", "after": "120.00"}
    assert AuditEvent.objects.filter(object_type="order").count() == 2


def test_only_whoever_may_change_the_customer_may_change_the_order(company):
    order = _order(company)
    with pytest.raises(PermissionDenied):
        order_update(
            actor=company.teammate, order_id=order.pk, expected_version=1, data={"amount": 5}
        )
    with pytest.raises(Order.DoesNotExist):
        order_set_status(actor=company.rep_west, order_id=order.pk, status="refunded")
    order.refresh_from_db()
    assert (order.amount, order.status, order.version) == (Decimal("100.00"), "placed", 1)


def test_refunded_and_cancelled_are_final(company):
    order = _order(company)
    refunded = order_set_status(
        actor=company.rep, order_id=order.pk, status="refunded", expected_version=1
    )
    assert (refunded.status, refunded.version) == ("refunded", 2)
    assert not refunded.counts_as_purchase
    for status in ("paid", "cancelled", "refunded"):
        with pytest.raises(ValidationError) as caught:
            order_set_status(actor=company.rep, order_id=order.pk, status=status)
        assert "status" in caught.value.message_dict
    with pytest.raises(ValidationError):
        order_update(
            actor=company.rep, order_id=order.pk, expected_version=2, data={"status": "paid"}
        )
    with pytest.raises(StaleOrderError):
        order_set_status(
            actor=company.rep,
            order_id=_order(company).pk,
            status="cancelled",
            expected_version=7,
        )
    event = AuditEvent.objects.get(object_type="order", action="update")
    assert event.changes["status"] == {"before": "placed", "after": "refunded"}


def test_invoices_and_payments(company):
    order = _order(company)
    invoice = invoice_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={
            "order_id": order.pk,
            "number": "INV-1",
            "issued_on": DAY,
            "due_on": DAY + dt.timedelta(days=30),
            "amount": Decimal("100.00"),
        },
    )
    payment_record(
        actor=company.rep,
        invoice_id=invoice.pk,
        data={"paid_on": DAY, "amount": Decimal("40"), "method": "alipay"},
    )
    with pytest.raises(ValidationError) as caught:
        payment_record(
            actor=company.rep, invoice_id=invoice.pk, data={"paid_on": DAY, "amount": 61}
        )
    assert "amount" in caught.value.message_dict
    payment_record(actor=company.rep, invoice_id=invoice.pk, data={"paid_on": DAY, "amount": 60})
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    with pytest.raises(ValidationError) as caught:
        payment_record(actor=company.rep, invoice_id=invoice.pk, data={"paid_on": DAY, "amount": 1})
    assert "invoice" in caught.value.message_dict
    assert Payment.objects.count() == 2
    kinds = AuditEvent.objects.filter(customer_id=company.rep_customer.pk).values_list(
        "object_type", flat=True
    )
    assert sorted(kinds) == ["invoice", "order", "payment", "payment"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"number": "N", "issued_on": DAY, "due_on": DAY - dt.timedelta(days=1)}, "due_on"),
        ({"number": "", "issued_on": DAY, "due_on": DAY}, "number"),
        ({"number": "N", "issued_on": DAY, "due_on": DAY, "order_id": 999999}, "order_id"),
    ],
)
def test_bad_invoices_are_refused_naming_the_field(company, data, field):
    with pytest.raises(ValidationError) as caught:
        invoice_create(
            actor=company.rep, customer_id=company.rep_customer.pk, data={"amount": 5, **data}
        )
    assert field in caught.value.message_dict
    assert not Invoice.objects.exists()


def test_an_invoice_may_not_name_another_customers_order(company):
    other = _order(company, customer=company.rep_customer)
    with pytest.raises(ValidationError) as caught:
        invoice_create(
            actor=company.admin,
            customer_id=company.west_customer.pk,
            data={
                "number": "N",
                "issued_on": DAY,
                "due_on": DAY,
                "amount": 5,
                "order_id": other.pk,
            },
        )
    assert "order_id" in caught.value.message_dict
