"""Values no one meant, sent to the API: dates in year 1 (another program's empty date) for an
order, an invoice, a payment or a custom date field are refused naming the field; full-width
digits (typed with a Chinese input method) in an ID number, a phone or an amount are read as the
numbers they are."""

import datetime as dt

import pytest

from guanxi.core.crypto import lookup_hash
from guanxi.core.masking import mask_id_number
from guanxi.core.testing.clock import frozen_clock
from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.orders.models import Invoice, Order, Payment

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in ID_NUMBER)  # １１０１…Ｘ


def _fields(response) -> set[str]:
    assert response.status_code == 422, response.content
    return {error["field"] for error in response.json()["errors"]}


def test_an_order_in_year_1_is_refused_naming_its_date(api_as, company):
    rep = api_as("rep")
    order = {"customer_id": company.rep_customer.pk, "amount": "10"}
    assert _fields(rep.post("/orders", {**order, "ordered_on": "0001-01-01"})) == {"ordered_on"}
    assert _fields(rep.post("/orders", {**order, "ordered_on": "1899-12-31"})) == {"ordered_on"}
    assert not Order.objects.exists()
    booked = rep.post("/orders", {**order, "ordered_on": "1900-01-01"})
    assert booked.status_code == 201, booked.content
    changed = rep.patch(
        f"/orders/{booked.json()['id']}", {"ordered_on": "0001-01-01", "version": 1}
    )
    assert _fields(changed) == {"ordered_on"}
    assert Order.objects.get().ordered_on.year == 1900


def test_an_invoice_or_payment_in_year_1_is_refused_naming_its_date(api_as, company):
    rep = api_as("rep")
    invoice = {
        "customer_id": company.rep_customer.pk,
        "number": "FP-1",
        "issued_on": "2026-01-05",
        "due_on": "2026-02-05",
        "amount": "100",
    }
    early = rep.post("/invoices", {**invoice, "issued_on": "0001-01-01", "due_on": "0001-02-01"})
    assert _fields(early) == {"issued_on", "due_on"}
    assert _fields(rep.post("/invoices", {**invoice, "due_on": "3000-01-01"})) == {"due_on"}
    assert not Invoice.objects.exists()
    made = rep.post("/invoices", invoice)
    assert made.status_code == 201, made.content
    paid = rep.post(
        f"/invoices/{made.json()['id']}/payments", {"paid_on": "0001-01-01", "amount": "5"}
    )
    assert _fields(paid) == {"paid_on"}
    assert not Payment.objects.exists()


def test_a_custom_date_in_year_1_is_refused_naming_the_field(api_as, company):
    CustomFieldDefinition.objects.create(key="signed_on", label="Signed on", field_type="date")
    rep = api_as("rep")
    refused = rep.post("/customers", {"name": "王芳", "custom_fields": {"signed_on": "0001-01-01"}})
    assert _fields(refused) == {"custom_fields.signed_on"}
    made = rep.post("/customers", {"name": "王芳", "custom_fields": {"signed_on": "1998-07-01"}})
    assert made.status_code == 201 and made.json()["custom_fields"] == {"signed_on": "1998-07-01"}


def test_a_birth_date_in_year_1_is_refused_naming_it(api_as, company):
    refused = api_as("rep").post("/customers", {"name": "王芳", "birth_date": "0001-01-01"})
    assert _fields(refused) == {"birth_date"}


def test_full_width_digits_are_read_as_the_numbers_they_are(api_as, company):
    rep = api_as("manager")  # may see ID numbers in full
    made = rep.post(
        "/customers",
        {"name": "刘洋", "id_number": FULL_WIDTH, "phones": ["１３９－１２３４－５６７８"]},
    )
    assert made.status_code == 201, made.content
    customer = Customer.objects.get(pk=made.json()["id"])
    assert customer.id_number_hash == lookup_hash(ID_NUMBER)
    assert customer.id_number_masked == mask_id_number(ID_NUMBER)
    assert list(customer.phones.values_list("number", flat=True)) == ["+8613912345678"]
    order = rep.post(
        "/orders",
        {
            "customer_id": customer.pk,
            "ordered_on": "2026-01-02",
            "amount": "１２３.５",
            "cost": "２０",
        },
    )
    assert order.status_code == 201, order.content
    assert (order.json()["amount"], order.json()["gross_margin"]) == ("123.50", "103.50")
    # A whole number that stands for a record is refused, naming the field, rather than guessed.
    assert _fields(
        rep.post("/orders", {"customer_id": "１", "ordered_on": "2026-01-02", "amount": "1"})
    ) == {"customer_id"}


def test_the_day_of_slack_is_taken_on_the_last_day_of_a_year(api_as, company, monkeypatch):
    # A day ahead is taken (a client in a time zone ahead of the server's), also when it is the
    # first of the next year; the day after it is still in the future.
    frozen_clock(monkeypatch, dt.datetime(2026, 12, 31, 6, tzinfo=dt.UTC))  # 14:00 in Shanghai
    rep = api_as("rep")
    order = {"customer_id": company.rep_customer.pk, "amount": "10"}
    booked = rep.post("/orders", {**order, "ordered_on": "2027-01-01"})
    assert booked.status_code == 201, booked.content
    assert _fields(rep.post("/orders", {**order, "ordered_on": "2027-01-02"})) == {"ordered_on"}
    invoice = {"number": "FP-9", "issued_on": "2026-12-31", "due_on": "2027-01-31", "amount": "9"}
    made = rep.post("/invoices", {"customer_id": company.rep_customer.pk, **invoice})
    assert made.status_code == 201, made.content
    paid = rep.post(
        f"/invoices/{made.json()['id']}/payments", {"paid_on": "2027-01-01", "amount": "9"}
    )
    assert paid.status_code == 201, paid.content
