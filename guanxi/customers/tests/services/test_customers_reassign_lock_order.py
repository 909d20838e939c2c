"""Customers reassigned while a contact import locks them too. The import locks its customers in
ascending id order, as merges, undos and the customer import do; the reassignment locked them in
whatever order the database read them (a table in the order its rows were last written), so
each held one the other waited for and the database broke one of them off as a deadlock. Real
concurrency needs PostgreSQL."""

import threading

from django.db import connection, transaction

from guanxi.core.locking import key_shared
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread, sessions_waiting_for_a_lock, wait_until
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customers_reassign
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = CONCURRENT


def test_a_reassignment_and_a_contact_import_lock_customers_in_one_order(company, tmp_path):
    rep = company.rep
    first = customer_create(actor=rep, data={"name": "张伟", "external_id": "K1"})
    second = customer_create(actor=rep, data={"name": "李娜", "external_id": "K2"})
    # Written again, the first is read after the second by a sequential scan.
    Customer.objects.filter(pk=first.pk).update(notes="再访")
    path = tmp_path / "contacts.csv"
    path.write_text(
        "external_id,customer_external_id,channel,subject,occurred_at\n"
        "I1,K1,phone,来电,2026-03-02 10:30\nI2,K2,phone,来电,2026-03-02 11:00\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=rep, path=path, filename=path.name, kind="interactions")
    # A writer adding a record to the first customer holds the lock the database's check of
    # the record's key takes: it keeps the reassignment waiting, not the import.
    adding, added = threading.Event(), threading.Event()

    def add_a_record():
        with transaction.atomic():
            key_shared(Customer.objects.filter(pk=first.pk).values_list("pk"))
            adding.set()
            assert added.wait(30)

    def reassign():
        with connection.cursor() as cursor:
            # The order a sequential scan reads the rows in, one the database may choose.
            cursor.execute("SET enable_indexscan = off")
            cursor.execute("SET enable_bitmapscan = off")
        return customers_reassign(
            actor=company.manager,
            from_owner_id=rep.pk,
            to_owner_id=company.teammate.pk,
            customer_ids=[first.pk, second.pk],
        )

    results: dict = {}
    threads = [in_thread(add_a_record, results, "record")]
    try:
        assert adding.wait(30)
        threads.append(in_thread(reassign, results, "reassign"))
        assert wait_until(lambda: sessions_waiting_for_a_lock() >= 1), (
            "the reassignment did not wait"
        )
        threads.append(
            in_thread(
                lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)), results, "import"
            )
        )
        # It either waits too, or is done: the reassignment holds none of its customers yet.
        assert wait_until(lambda: "import" in results or sessions_waiting_for_a_lock() >= 2)
    finally:
        added.set()
        for thread in threads:
            thread.join(60)

    assert results["reassign"][0] == "ok", results["reassign"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    assert results["reassign"][1] == 2
    assert set(
        Customer.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner_id", flat=True)
    ) == {company.teammate.pk}
