"""Reading orders through the visibility rule, purchase summaries and invoice balances."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.orders.models import Invoice, Order, Payment
from guanxi.orders.selectors import (
    days_overdue,
    order_get_for_user,
    orders_for_user,
    purchase_summary,
    purchase_summary_for_user,
    with_balances,
)


def _book(customer, day, amount, status="completed", margin=None, currency="CNY"):
    return Order.objects.create(
        customer=customer,
        ordered_on=day,
        amount=Decimal(amount),
        gross_margin=None if margin is None else Decimal(margin),
        status=status,
        currency=currency,
    )


def test_orders_are_read_through_the_customers_visibility(company):
    mine = _book(company.rep_customer, dt.date(2026, 1, 1), "10")
    teammates = _book(company.teammate_customer, dt.date(2026, 1, 2), "20")
    west = _book(company.west_customer, dt.date(2026, 1, 3), "30")
    assert set(orders_for_user(company.rep)) == {mine, teammates}
    assert set(orders_for_user(company.rep_west)) == {west}
    assert set(orders_for_user(company.analyst)) == {mine, teammates, west}
    assert order_get_for_user(company.rep, teammates.pk) == teammates
    with pytest.raises(Order.DoesNotExist):
        order_get_for_user(company.rep, west.pk)
    with pytest.raises(Order.DoesNotExist):
        order_get_for_user(company.rep, "x")
    company.rep_customer.deleted_at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    company.rep_customer.save()
    assert set(orders_for_user(company.rep)) == {teammates}


def test_order_filters(company):
    customer = company.rep_customer
    first = _book(customer, dt.date(2026, 1, 1), "10", status="paid")
    second = _book(customer, dt.date(2026, 1, 31), "20")
    assert set(orders_for_user(company.rep, status="paid")) == {first}
    assert set(orders_for_user(company.rep, ordered_to=dt.date(2026, 1, 31))) == {first, second}
    assert set(orders_for_user(company.rep, ordered_from=dt.date(2026, 1, 2))) == {second}
    assert set(orders_for_user(company.rep, customer_id=company.teammate_customer.pk)) == set()


def test_purchase_summary_leaves_out_refunds_and_cancellations(company):
    customer = company.rep_customer
    _book(customer, dt.date(2026, 1, 5), "100.00", margin="30")
    _book(customer, dt.date(2026, 1, 5), "50.00", margin="10")  # same day: one purchase
    _book(customer, dt.date(2026, 2, 1), "90.00")  # margin unknown
    _book(customer, dt.date(2026, 3, 1), "1000.00", status="refunded", margin="500")
    _book(customer, dt.date(2025, 12, 1), "700.00", status="cancelled")
    _book(customer, dt.date(2026, 2, 10), "80.00", currency="USD")
    only_refunded = company.teammate_customer
    _book(only_refunded, dt.date(2026, 1, 1), "5", status="refunded")

    summary = purchase_summary([customer.pk, only_refunded.pk])
    assert set(summary) == {customer.pk}
    row = summary[customer.pk]
    assert row.purchase_count == 2
    assert (row.first_purchase_on, row.last_purchase_on) == (
        dt.date(2026, 1, 5),
        dt.date(2026, 2, 1),
    )
    assert row.total_amount == Decimal("240.00")
    assert row.mean_amount == Decimal("120.00")
    assert row.total_gross_margin == Decimal("40.00")

    cut = purchase_summary([customer.pk], until=dt.date(2026, 1, 31))[customer.pk]
    assert (cut.purchase_count, cut.total_amount) == (1, Decimal("150.00"))
    dollars = purchase_summary([customer.pk], currency="USD")[customer.pk]
    assert (dollars.purchase_count, dollars.total_amount) == (1, Decimal("80.00"))


def test_purchase_summary_for_a_user_skips_customers_out_of_sight(company):
    _book(company.rep_customer, dt.date(2026, 1, 5), "1")
    _book(company.west_customer, dt.date(2026, 1, 5), "1")
    ids = [company.rep_customer.pk, company.west_customer.pk]
    assert set(purchase_summary_for_user(company.rep, ids)) == {company.rep_customer.pk}


def test_outstanding_amounts_and_days_overdue(company):
    invoice = Invoice.objects.create(
        customer=company.rep_customer,
        number="INV-7",
        issued_on=dt.date(2026, 1, 1),
        due_on=dt.date(2026, 1, 31),
        amount=Decimal("100.00"),
    )
    void = Invoice.objects.create(
        customer=company.rep_customer,
        number="INV-8",
        issued_on=dt.date(2026, 1, 1),
        due_on=dt.date(2026, 1, 31),
        amount=Decimal("100.00"),
        status="void",
    )
    Payment.objects.create(invoice=invoice, paid_on=dt.date(2026, 1, 10), amount=Decimal("30"))
    Payment.objects.create(invoice=invoice, paid_on=dt.date(2026, 2, 15), amount=Decimal("70"))

    def balance(pk, as_of):
        row = with_balances(Invoice.objects.filter(pk=pk), as_of=as_of).get()
        return row.outstanding, days_overdue(row, as_of=as_of)

    assert balance(invoice.pk, dt.date(2026, 1, 20)) == (Decimal("70.00"), 0)
    assert balance(invoice.pk, dt.date(2026, 2, 10)) == (Decimal("70.00"), 10)
    assert balance(invoice.pk, dt.date(2026, 2, 15)) == (Decimal("0.00"), 0)
    assert balance(void.pk, dt.date(2026, 6, 1)) == (Decimal("0"), 0)
