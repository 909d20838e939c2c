"""An order or interaction imported before that a later file gives to another customer leaves
the first customer's history as well as joining the second's: both customers changed, so each
one's history says so, naming the other only to whoever may open it, on the page and in the
API alike. What the row wrote on the record is the new customer's: the row under the customer
it left says only that it went, naming it as it stood there."""

import pytest
from django.test import Client

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import (
    HIDDEN_CUSTOMER,
    UNSEEN_CUSTOMER,
    CustomerHistory,
    describe_history,
)
from guanxi.customers.models import Customer
from guanxi.imports.tests.test_choice_labels import run
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db

ORDERS = "external_id,customer_external_id,ordered_on,amount,notes\n"
CONTACTS = "external_id,customer_external_id,subject,staff\n"


@pytest.fixture
def customers(company):
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    Customer.objects.filter(pk=company.west_customer.pk).update(external_id="W1")
    return company.rep_customer, company.west_customer


def _rows_about(customer, object_type: str, object_id: int) -> list[AuditEvent]:
    events = CustomerHistory(customer_id=customer.pk).events()
    return list(events.filter(object_type=object_type, object_id=object_id))


def _customer_line(event, viewer):
    [entry] = describe_history([event], viewer=viewer, history=CustomerHistory(event.customer_id))
    [line] = [line for line in entry.lines if line.label == "customer"]
    return line


def _api_history(viewer, customer) -> dict:
    """The history endpoint's answer for ``customer`` as ``viewer`` reads it."""
    client = Client()
    client.force_login(viewer)
    response = client.get(f"/api/v1/customers/{customer.pk}/history", {"limit": 100})
    assert response.status_code == 200, response.content
    return response.json()


# Each moving row rewrites the record as well: a new amount and notes, a new subject and no
# staff member. "Ask for the discount" and "Visit about the tender" are the West customer's.
MOVES = [
    (
        "orders",
        Order,
        "order",
        "O1,K1,2026-03-02,100,\n",
        # An amount whose digits no timestamp or id in a history is likely to hold, since the
        # answer is searched for it as text (120 was found once in a time's microseconds).
        "O1,W1,2026-03-05,7654.32,Ask for the discount\n",
        ("2026-03-02 100.00", "2026-03-05 7654.32"),
        ("2026-03-05", "7654.32", "Ask for the discount"),
    ),
    (
        "interactions",
        Interaction,
        "interaction",
        "I1,K1,Call,admin\n",
        "I1,W1,Visit about the tender,\n",
        ("Call", "Visit about the tender"),
        ("Visit about the tender",),
    ),
]


@pytest.mark.parametrize(
    ("kind", "model", "object_type", "first_row", "moving_row", "summaries", "west_values"),
    MOVES,
)
def test_a_record_moved_by_an_import_shows_in_both_customers_histories(
    company,
    customers,
    tmp_path,
    kind,
    model,
    object_type,
    first_row,
    moving_row,
    summaries,
    west_values,
):
    east, west = customers
    header = ORDERS if kind == "orders" else CONTACTS
    run(tmp_path, header + first_row, company.admin, kind)
    record = model.objects.get()
    job = run(tmp_path, header + moving_row, company.admin, kind)
    assert job.updated == 1
    record.refresh_from_db()
    assert record.customer_id == west.pk

    moved = {"before": east.pk, "after": west.pk}
    [arrived] = [
        e for e in _rows_about(west, object_type, record.pk) if e.action == AuditEvent.Action.UPDATE
    ]
    [left] = [
        e for e in _rows_about(east, object_type, record.pk) if e.action == AuditEvent.Action.UPDATE
    ]
    assert arrived.changes["customer_id"] == moved
    assert set(arrived.changes) > {"customer_id"}  # with all else the row rewrote
    # Under the customer it left: only that it went, named as it stood there.
    assert left.changes == {"customer_id": moved}
    assert (left.summary, arrived.summary) == summaries
    assert (left.actor, left.occurred_at) == (arrived.actor, arrived.occurred_at)

    # The rep keeps the customer it left and may not open the one it went to, and the other
    # way round for the West rep: each reads that it went to (or came from) a customer they
    # cannot open, and neither that customer's number nor its name.
    for viewer, event in ((company.rep, left), (company.rep_west, arrived)):
        line = _customer_line(event, viewer)
        hidden = line.after if viewer == company.rep else line.before
        assert hidden == str(UNSEEN_CUSTOMER)
        assert str(east.pk if viewer == company.rep_west else west.pk) not in hidden
    # An administrator, who may open both, reads both names.
    line = _customer_line(left, company.admin)
    assert (line.before, line.after) == (f"{east.name} (#{east.pk})", f"{west.name} (#{west.pk})")

    # The history endpoint withholds the same customer from the same readers, and the East
    # customer's history tells its rep nothing of what the record holds on the West customer.
    for viewer, customer, event, hidden in (
        (company.rep, east, left, {"before": east.pk, "after": HIDDEN_CUSTOMER}),
        (company.rep_west, west, arrived, {"before": HIDDEN_CUSTOMER, "after": west.pk}),
    ):
        history = _api_history(viewer, customer)
        [item] = [item for item in history["items"] if item["id"] == event.pk]
        assert item["changes"]["customer_id"] == hidden
    answer = str(_api_history(company.rep, east))
    assert not [value for value in west_values if value in answer]
    # which the West customer's history does hold, written as searched for above
    assert all(value in str(_api_history(company.admin, west)) for value in west_values)
    assert _api_history(company.admin, east)["items"][0]["changes"]["customer_id"] == moved


def test_a_record_rewritten_on_its_own_customer_is_recorded_once(company, customers, tmp_path):
    run(tmp_path, ORDERS + "O1,K1,2026-03-02,100,\n", company.admin, "orders")
    run(tmp_path, ORDERS + "O1,K1,2026-03-02,120,\n", company.admin, "orders")
    order = Order.objects.get()
    assert (
        AuditEvent.objects.filter(
            object_type="order", object_id=order.pk, action=AuditEvent.Action.UPDATE
        ).count()
        == 1
    )
