"""The order, invoice and payment endpoints: visibility (404/403), stale versions (409), and
errors that name the field."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.orders.models import Invoice, Order


@pytest.fixture
def rep(api_as):
    return api_as("rep")


def _create(client, customer, **extra):
    return client.post(
        "/orders",
        {"customer_id": customer.pk, "ordered_on": "2026-03-02", "amount": "100.00", **extra},
    )


def test_booking_reading_and_listing_an_order(rep, company):
    response = _create(
        rep,
        company.rep_customer,
        cost=40,
        channel="web",
        lines=[{"product": "茶叶", "quantity": 2, "unit_price": "50.00"}],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount"], body["gross_margin"], body["currency"]) == ("100.00", "60.00", "CNY")
    assert body["customer"]["id"] == company.rep_customer.pk
    assert body["lines"][0]["product"] == "茶叶" and body["counts_as_purchase"] is True
    assert AuditEvent.objects.get(object_type="order").via == "api"
    assert rep.get(f"/orders/{body['id']}").json()["version"] == 1
    listed = rep.get("/orders", {"customer_id": company.rep_customer.pk}).json()
    assert [o["id"] for o in listed["items"]] == [body["id"]]


def test_list_pages_and_filters(rep, company):
    for day in ("2026-01-01", "2026-01-15", "2026-02-01"):
        assert _create(rep, company.rep_customer, ordered_on=day).status_code == 201
    first = rep.get("/orders", {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = rep.get("/orders", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ranged = rep.get("/orders", {"ordered_from": "2026-01-10", "ordered_to": "2026-01-31"})
    assert [o["ordered_on"] for o in ranged.json()["items"]] == ["2026-01-15"]


def test_a_rep_cannot_see_or_change_another_teams_orders(api_as, company):
    rep_west = api_as("rep_west")
    order = Order.objects.create(
        customer=company.rep_customer, ordered_on=dt.date(2026, 1, 1), amount=Decimal("9")
    )
    assert rep_west.get(f"/orders/{order.pk}").status_code == 404
    assert rep_west.get("/orders").json()["items"] == []
    assert rep_west.patch(f"/orders/{order.pk}", {"version": 1, "amount": 1}).status_code == 404
    assert rep_west.post(f"/orders/{order.pk}/refund", {"version": 1}).status_code == 404
    assert _create(rep_west, company.rep_customer).status_code == 404
    # The teammate sees the rep's customer (the team shares for viewing) but may not change it.
    teammate = api_as("teammate")
    assert teammate.get(f"/orders/{order.pk}").status_code == 200
    assert teammate.post(f"/orders/{order.pk}/cancel", {"version": 1}).status_code == 403
    assert _create(teammate, company.rep_customer).status_code == 403
    order.refresh_from_db()
    assert (order.status, order.amount, order.version) == ("placed", Decimal("9.00"), 1)
    # Nothing on record but the token the test signs in with.
    assert Order.objects.count() == 1
    assert not AuditEvent.objects.exclude(object_type="api_token").exists()


def test_patch_needs_the_current_version(rep, company):
    order_id = _create(rep, company.rep_customer).json()["id"]
    response = rep.patch(f"/orders/{order_id}", {"version": 1, "status": "paid"})
    assert response.status_code == 200 and response.json()["version"] == 2
    stale = rep.patch(f"/orders/{order_id}", {"version": 1, "amount": 5})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["errors"][0]["field"] == "version"
    missing = rep.patch(f"/orders/{order_id}", {"amount": 5})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "version"
    assert Order.objects.get().amount == Decimal("100.00")


def test_refund_takes_the_order_out_and_is_final(rep, company):
    order_id = _create(rep, company.rep_customer).json()["id"]
    refunded = rep.post(f"/orders/{order_id}/refund", {"version": 1})
    assert refunded.status_code == 200
    assert (refunded.json()["status"], refunded.json()["counts_as_purchase"]) == (
        "refunded",
        False,
    )
    again = rep.post(f"/orders/{order_id}/cancel", {"version": 2})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "status"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1e20"}, "amount"),
        ({"ordered_on": "2026-02-30"}, "ordered_on"),
        ({"ordered_on": "2099-01-01"}, "ordered_on"),
        ({"status": "lost"}, "status"),
        ({"channel": "pigeon"}, "channel"),
        ({"currency": "yuan"}, "currency"),
        ({"colour": "red"}, "colour"),
        ({"customer_id": "12"}, "customer_id"),
        ({"lines": [{"product": "x"}]}, "lines[0].unit_price"),
        ({"lines": [{"product": "x", "unit_price": 1, "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"product": "x", "unit_price": 1, "sku": "S" * 101}]}, "lines[0].sku"),
        ({"external_id": "E" * 101}, "external_id"),
    ],
)
def test_invalid_orders_are_refused_naming_the_field(rep, company, body, field):
    payload = {"customer_id": company.rep_customer.pk, "ordered_on": "2026-03-02", "amount": 1}
    response = rep.post("/orders", {**payload, **body})
    assert response.status_code == 422, response.json()
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/orders", {"status": "lost"}, "status"),
        ("/orders", {"ordered_from": "yesterday"}, "ordered_from"),
        ("/orders", {"customer_id": "0"}, "customer_id"),
        ("/orders", {"cursor": "garbage"}, "cursor"),
        ("/invoices", {"as_of": "soon"}, "as_of"),
    ],
)
def test_bad_list_parameters_are_named(rep, path, params, field):
    response = rep.get(path, params)
    assert response.status_code in (400, 422)
    assert field in [e["field"] for e in response.json()["errors"]]


def test_unknown_ids_answer_404_in_the_error_shape(rep):
    for response in (
        rep.get("/orders/999999"),
        rep.patch("/orders/999999", {"version": 1}),
        rep.post("/orders/999999/refund", {"version": 1}),
        rep.post("/invoices/999999/payments", {"paid_on": "2026-01-01", "amount": 1}),
    ):
        assert response.status_code == 404 and "detail" in response.json()


def test_invoices_and_payments(rep, company):
    order_id = _create(rep, company.rep_customer).json()["id"]
    created = rep.post(
        "/invoices",
        {
            "customer_id": company.rep_customer.pk,
            "order_id": order_id,
            "number": "INV-1",
            "issued_on": "2026-03-02",
            "due_on": "2026-03-12",
            "amount": "100.00",
        },
    )
    assert created.status_code == 201, created.json()
    invoice_id = created.json()["id"]
    paid = rep.post(f"/invoices/{invoice_id}/payments", {"paid_on": "2026-03-05", "amount": 30})
    assert paid.status_code == 201, paid.json()
    too_much = rep.post(f"/invoices/{invoice_id}/payments", {"paid_on": "2026-03-05", "amount": 71})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "amount"
    listed = rep.get("/invoices", {"as_of": "2026-03-20"}).json()["items"]
    assert [(i["number"], i["outstanding"], i["days_overdue"]) for i in listed] == [
        ("INV-1", "70.00", 8)
    ]
    duplicate = rep.post(
        "/invoices",
        {
            "customer_id": company.rep_customer.pk,
            "number": "INV-1",
            "issued_on": "2026-03-02",
            "due_on": "2026-03-01",
            "amount": "1",
        },
    )
    assert duplicate.status_code == 422
    assert {e["field"] for e in duplicate.json()["errors"]} == {"number", "due_on"}
    assert Invoice.objects.count() == 1


def test_invoices_of_customers_out_of_sight(api_as, company):
    invoice = Invoice.objects.create(
        customer=company.west_customer,
        number="W-1",
        issued_on=dt.date(2026, 1, 1),
        due_on=dt.date(2026, 1, 1),
        amount=Decimal("5"),
    )
    rep = api_as("rep")
    assert rep.get("/invoices").json()["items"] == []
    response = rep.post(f"/invoices/{invoice.pk}/payments", {"paid_on": "2026-01-01", "amount": 1})
    assert response.status_code == 404
    response = rep.post(
        "/invoices",
        {
            "customer_id": company.west_customer.pk,
            "number": "W-2",
            "issued_on": "2026-01-01",
            "due_on": "2026-01-01",
            "amount": 1,
        },
    )
    assert response.status_code == 404
    assert Invoice.objects.count() == 1


def test_anonymous_callers_are_refused(anonymous):
    assert anonymous.get("/orders").status_code == 401
    assert anonymous.post("/orders", {}).status_code == 401
