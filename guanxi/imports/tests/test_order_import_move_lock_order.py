"""An order import moving an order to another customer while someone adds a record to the
order's customer and then locks the other one, as a writer locking customers in ascending id
order does. The import locks both customers (FOR NO KEY UPDATE, which lets others add records
to them) and then locked the order's customer again, FOR UPDATE, which waits for anyone adding
a record to it: the import waited for the writer, and the writer for the other customer the
import held, a deadlock. Real concurrency needs PostgreSQL."""

import threading

from django.db import transaction

from guanxi.core.locking import key_shared
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.orders.models import Order

pytestmark = CONCURRENT

HEADER = "external_id,customer_external_id,ordered_on,amount\n"


def test_an_order_moving_and_a_writer_locking_both_customers_do_not_deadlock(company, tmp_path):
    first = company.rep_customer
    Customer.objects.filter(pk=first.pk).update(external_id="K1")
    second = customer_create(actor=company.rep, data={"name": "李娜", "external_id": "K2"})
    assert first.pk < second.pk
    before = tmp_path / "before.csv"
    before.write_text(HEADER + "O1,K1,2026-03-02,100\n", encoding="utf-8")
    import_job_run(
        job=import_job_create(actor=company.rep, path=before, filename=before.name, kind="orders")
    )
    moving = tmp_path / "moving.csv"
    moving.write_text(HEADER + "O1,K2,2026-03-02,100\n", encoding="utf-8")
    job = import_job_create(actor=company.rep, path=moving, filename=moving.name, kind="orders")
    adding, go = threading.Event(), threading.Event()

    def add_a_record_then_lock_the_other():
        with transaction.atomic():
            # The lock the database's check of a new record's key takes on its customer.
            key_shared(Customer.objects.filter(pk=first.pk).values_list("pk"))
            adding.set()
            assert go.wait(30)
            Customer.objects.select_for_update().get(pk=second.pk)

    results: dict = {}
    threads = [in_thread(add_a_record_then_lock_the_other, results, "writer")]
    try:
        assert adding.wait(30)
        threads.append(
            in_thread(
                lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)), results, "import"
            )
        )
        # Finished, or waiting for the writer (as it did before it took its locks once).
        assert wait_until(lambda: "import" in results or waiting_for_a_lock())
    finally:
        go.set()
        for thread in threads:
            thread.join(60)

    assert results["writer"][0] == "ok", results["writer"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (1, 0)
    assert Order.objects.get(external_id="O1").customer_id == second.pk
