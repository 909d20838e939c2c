"""An order's external id is unique among all orders, those of customers the user may not see
included. One saved by someone else between the check and the save is refused as any taken id
is, with the same field error, never a server error that would tell the race apart."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from guanxi.core.testing.threads import Hold, second_waits_for_first
from guanxi.orders import services
from guanxi.orders.models import Order
from guanxi.orders.services import order_create, order_update

pytestmark = pytest.mark.django_db

TAKEN = "Another order already has this external id."
DAY = dt.date(2026, 3, 2)


def _data(**extra):
    return {"ordered_on": DAY, "amount": Decimal("100.00"), **extra}


def _taken_meanwhile(monkeypatch, company, external_id):
    """Someone out of the rep's sight books an order with ``external_id`` after the rep's save
    checked it was free, before it writes."""
    real = services._clean_order

    def then_taken(order, errors):
        real(order, errors)
        Order.objects.create(
            customer=company.rep_b_customer,
            created_by=company.rep_b,
            external_id=external_id,
            **_data(),
        )

    monkeypatch.setattr(services, "_clean_order", then_taken)


def test_an_id_taken_meanwhile_on_booking_is_refused_as_any_taken_id(company, monkeypatch):
    _taken_meanwhile(monkeypatch, company, "ERP-9")
    with pytest.raises(ValidationError) as refused:
        order_create(
            actor=company.rep,
            customer_id=company.rep_customer.pk,
            data=_data(external_id="ERP-9", notes="mine"),
        )
    assert refused.value.message_dict == {"external_id": [TAKEN]}
    assert not Order.objects.filter(notes="mine").exists()


def test_an_id_taken_meanwhile_on_change_is_refused_as_any_taken_id(company, monkeypatch):
    mine = order_create(actor=company.rep, customer_id=company.rep_customer.pk, data=_data())
    _taken_meanwhile(monkeypatch, company, "ERP-8")
    with pytest.raises(ValidationError) as refused:
        order_update(
            actor=company.rep,
            order_id=mine.pk,
            expected_version=mine.version,
            data={"external_id": "ERP-8"},
        )
    assert refused.value.message_dict == {"external_id": [TAKEN]}
    mine.refresh_from_db()
    assert mine.external_id is None


def test_an_id_taken_meanwhile_through_the_api_is_a_field_error(api_as, company, monkeypatch):
    _taken_meanwhile(monkeypatch, company, "ERP-7")
    response = api_as("rep").post(
        "/orders",
        {
            "customer_id": company.rep_customer.pk,
            "ordered_on": "2026-03-02",
            "amount": "100.00",
            "external_id": "ERP-7",
        },
    )
    assert response.status_code in (400, 422), response.content
    assert {"field": "external_id", "message": TAKEN} in response.json()["errors"]
    assert "Team B Customer" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_booking_one_id_at_once_the_second_is_refused_as_any_taken_id(company):
    """The second's check finds the id free (the first has not committed), its insert waits
    for the first, and it is then refused like any taken id."""
    hold = Hold()

    def first():
        with transaction.atomic():
            order = order_create(
                actor=company.rep_b,
                customer_id=company.rep_b_customer.pk,
                data=_data(external_id="ERP-5"),
            )
            hold.here()
        return order.pk

    def second():
        return order_create(
            actor=company.rep, customer_id=company.rep_customer.pk, data=_data(external_id="ERP-5")
        )

    results = second_waits_for_first(first, second, hold)
    assert results["first"][0] == "ok", results["first"]
    outcome, error, *_ = results["second"]
    assert outcome == "error" and isinstance(error, ValidationError), results["second"]
    assert error.message_dict == {"external_id": [TAKEN]}
    assert Order.objects.filter(external_id="ERP-5").get().customer_id == (
        company.rep_b_customer.pk
    )
