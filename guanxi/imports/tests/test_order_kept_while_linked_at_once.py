"""An order import moving an order while a ticket of its customer is linked to it: whichever
comes first, the order does not end with another customer than its ticket's. The import that
finds the link made meanwhile rejects its row; a link asked for while the order moves is refused
as one to an order of another customer.

They need two connections that wait for each other's row locks: PostgreSQL's (on SQLite one
writer at a time takes the whole database)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports import order_import
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.orders.models import Order
from guanxi.service import services as service_services
from guanxi.service.services import ticket_create, ticket_update

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's locks"),
]

HEADER = "external_id,customer_external_id,ordered_on,amount\n"


@pytest.fixture
def setting(company, tmp_path):
    """The rep's customer K1 with order O1 and a ticket linked to no order; K2, another of
    theirs; and a run of a file moving O1 to K2."""
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    k2 = customer_create(actor=company.rep, data={"name": "李娜", "external_id": "K2"})
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "O1,K1,2026-03-02,100\n", encoding="utf-8")
    import_job_run(
        job=import_job_create(actor=company.rep, path=first, filename="first.csv", kind="orders")
    )
    ticket = ticket_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Broken on arrival"},
    )
    moving = tmp_path / "moving.csv"
    moving.write_text(HEADER + "O1,K2,2026-03-02,100\n", encoding="utf-8")
    job = import_job_create(actor=company.rep, path=moving, filename="moving.csv", kind="orders")
    order = Order.objects.get(external_id="O1")

    def link():
        return ticket_update(
            actor=company.rep,
            ticket_id=ticket.pk,
            expected_version=ticket.version,
            data={"order_ids": [order.pk]},
        )

    return order, ticket, job, link, k2


def test_an_order_linked_while_the_import_reads_stays(setting, monkeypatch):
    """The link is made first and not yet saved when the import asks for the order's links: the
    import waits for it, sees it, and rejects the row."""
    order, ticket, job, link, _k2 = setting
    held = hold_before(monkeypatch, service_services, "customer_tier", thread="first")

    results = second_waits_for_first(link, lambda: import_job_run(job=job), held)

    assert results["first"][0] == "ok", results["first"]
    assert results["second"][0] == "ok", results["second"]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (0, 1)
    assert Order.objects.get(pk=order.pk).customer_id == ticket.customer_id
    assert list(ticket.orders.values_list("pk", flat=True)) == [order.pk]


def test_an_order_moving_is_not_linked_to_the_customer_it_left(setting, monkeypatch):
    """The import has moved the order and not yet saved it when the ticket asks for the link:
    the link waits for the import and is refused, the order being another customer's by then."""
    order, ticket, job, link, k2 = setting
    held = hold_before(monkeypatch, order_import, "audit_record_many", thread="first")

    results = second_waits_for_first(lambda: import_job_run(job=job), link, held)

    assert results["first"][0] == "ok", results["first"]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (1, 0)
    assert Order.objects.get(pk=order.pk).customer_id == k2.pk
    assert results["second"][0] == "error", results["second"]
    assert isinstance(results["second"][1], ValidationError)
    assert "order_ids" in results["second"][1].message_dict
    assert not ticket.orders.exists()
