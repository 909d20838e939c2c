"""An order or contact import changing records that another writer locks meanwhile, one by one
in ascending id order, as the services locking several of them do (a ticket linking orders, a
merge of customers and its undo). The import locks the records it changes in the same order,
so one waits for the other, instead of the import locking them in the model's order (newest
first, the higher id first here) and the database breaking one of the two off as a deadlock.
Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

import pytest

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, locking_in_id_order, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

pytestmark = CONCURRENT

ORDERS = "external_id,customer_external_id,ordered_on,amount\n"
CONTACTS = "external_id,customer_external_id,channel,subject,occurred_at\n"


def _run(actor, path, text: str, kind: str):
    path.write_text(text, encoding="utf-8")
    return import_job_run(
        job=import_job_create(actor=actor, path=path, filename=path.name, kind=kind)
    )


@pytest.mark.parametrize(
    "model, kind, header, first, again",
    [
        (
            Order,
            "orders",
            ORDERS,
            "O1,K1,2026-03-02,100\nO2,K1,2026-03-02,200\n",
            "O1,K1,2026-03-02,110\nO2,K1,2026-03-02,210\n",
        ),
        (
            Interaction,
            "interactions",
            CONTACTS,
            "I1,K1,phone,来电,2026-03-02 10:30\nI2,K1,phone,回访,2026-03-02 10:30\n",
            "I1,K1,phone,来电询价,2026-03-02 10:30\nI2,K1,phone,回访报价,2026-03-02 10:30\n",
        ),
    ],
    ids=["orders", "contacts"],
)
def test_an_import_and_a_writer_locking_in_id_order_wait_for_each_other(
    company, tmp_path, model, kind, header, first, again
):
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    created = _run(company.rep, tmp_path / "first.csv", header + first, kind)
    assert created.created == 2
    ids = list(model.objects.filter(customer=company.rep_customer).values_list("pk", flat=True))
    path = tmp_path / "again.csv"
    path.write_text(header + again, encoding="utf-8")
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind=kind)
    hold = Hold()
    results = second_waits_for_first(
        locking_in_id_order(model, ids, hold),
        lambda: import_job_run(job=job),
        hold,
        names=("writer", "import"),
    )
    assert results["writer"][0] == "ok", results["writer"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (2, 0), job.message


def test_an_order_import_moving_the_newer_and_changing_the_older_waits_for_a_writer(
    company, tmp_path
):
    # The order moving to another customer is locked as the move is checked, before the order
    # only changed: both are locked in one ascending id order, not the moved one first.
    from guanxi.core.testing.factories import CustomerFactory

    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    CustomerFactory(name="Rep Customer 李娜", owner=company.rep, external_id="K2")
    created = _run(
        company.rep,
        tmp_path / "first.csv",
        ORDERS + "O1,K1,2026-03-02,100\nO2,K1,2026-03-02,200\n",
        "orders",
    )
    assert created.created == 2
    ids = sorted(Order.objects.filter(customer=company.rep_customer).values_list("pk", flat=True))
    assert Order.objects.get(pk=ids[1]).external_id == "O2"
    path = tmp_path / "again.csv"
    path.write_text(ORDERS + "O1,K1,2026-03-02,110\nO2,K2,2026-03-02,200\n", encoding="utf-8")
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="orders")
    hold = Hold()
    results = second_waits_for_first(
        locking_in_id_order(Order, ids, hold),
        lambda: import_job_run(job=job),
        hold,
        names=("writer", "import"),
    )
    assert results["writer"][0] == "ok", results["writer"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (2, 0), job.message
    assert Order.objects.get(pk=ids[1]).customer.external_id == "K2"
