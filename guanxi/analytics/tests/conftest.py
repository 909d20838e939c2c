"""A small book of orders, contacts and invoices over the named users' customers, with the
figures a refresh as of AS_OF must find worked out by hand in the tests."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.core.testing.admin_forms import signed_in_administrators
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Invoice, Order, Payment

AS_OF = dt.date(2026, 3, 1)


def book(customer, day, amount, *, margin=None, status="completed", currency="CNY"):
    return Order.objects.create(
        customer=customer,
        ordered_on=day,
        amount=Decimal(amount),
        gross_margin=None if margin is None else Decimal(margin),
        status=status,
        currency=currency,
    )


def contact(customer, channel, day):
    return Interaction.objects.create(
        customer=customer,
        channel=channel,
        subject="contact",
        occurred_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10))),
    )


def invoice(customer, number, amount, due_on, *, paid_on=None, paid=None):
    bill = Invoice.objects.create(
        customer=customer,
        number=number,
        issued_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
    )
    if paid_on is not None:
        Payment.objects.create(invoice=bill, paid_on=paid_on, amount=Decimal(paid or amount))
    return bill


def page_as(client, user, path, chinese=False) -> str:
    """A page as ``user`` reads it, in English or, with ``chinese``, in Simplified Chinese
    (their own language and the browser's)."""
    if chinese:
        user.language = "zh-hans"
        user.save(update_fields=["language"])
    client.force_login(user)
    language = "zh-hans" if chinese else "en"
    return client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.fixture
def book_of_orders(company):
    """rep_customer: two purchase days (two orders on the first), a refund and a cancellation,
    a visit and two calls, one invoice paid early and one 90 days overdue.
    teammate_customer: one purchase a week before AS_OF, no invoices.
    rep_b_customer: two recent purchase days and an invoice paid on time.
    west_customer: a cancelled order only, and a call. The others: nothing at all."""
    rep = company.rep_customer
    book(rep, dt.date(2025, 1, 10), "100.00", margin="30")
    book(rep, dt.date(2025, 1, 10), "50.00", margin="10")
    book(rep, dt.date(2025, 6, 1), "200.00", margin="60")
    book(rep, dt.date(2025, 7, 1), "999.00", margin="300", status=Order.Status.REFUNDED)
    book(rep, dt.date(2025, 8, 1), "999.00", margin="300", status=Order.Status.CANCELLED)
    book(rep, dt.date(2026, 3, 2), "999.00", margin="300")  # after AS_OF: not yet
    contact(rep, Interaction.Channel.VISIT, dt.date(2025, 5, 1))
    contact(rep, Interaction.Channel.PHONE, dt.date(2025, 5, 2))
    contact(rep, Interaction.Channel.PHONE, dt.date(2025, 5, 3))
    invoice(rep, "INV-1", "1000", dt.date(2025, 2, 1), paid_on=dt.date(2025, 1, 25))
    invoice(rep, "INV-2", "500", dt.date(2025, 12, 1))

    book(company.teammate_customer, dt.date(2026, 2, 22), "80.00", margin="20")

    rep_b = company.rep_b_customer
    book(rep_b, dt.date(2026, 1, 5), "300.00", margin="90")
    book(rep_b, dt.date(2026, 2, 10), "400.00", margin="120")
    invoice(rep_b, "INV-3", "300", dt.date(2026, 2, 5), paid_on=dt.date(2026, 2, 5))

    book(company.west_customer, dt.date(2025, 9, 1), "70.00", status=Order.Status.CANCELLED)
    contact(company.west_customer, Interaction.Channel.PHONE, dt.date(2025, 9, 2))
    return company


@pytest.fixture
def superuser_client():
    """A client signed in to the admin site as an administrator."""
    (client,) = signed_in_administrators("root")
    return client
