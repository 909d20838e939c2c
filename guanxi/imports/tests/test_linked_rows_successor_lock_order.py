"""A contact import whose row names a customer merged away after the batch looked it up locks
the customer it was merged into too; that one may have a lower id than another customer the
batch locked first, while a second merge, into it, holds it and waits for that other one. The
import takes all its customers again in one ascending id order, as every writer locks
customers, so the two wait for each other one at a time rather than the database breaking one
of them off as a deadlock. Real concurrency needs PostgreSQL."""

import threading

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers.services import customer_create
from guanxi.dedup import services as merging
from guanxi.imports.interaction_import import InteractionImporter
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = CONCURRENT

CONTACTS = "external_id,customer_external_id,channel,subject,occurred_at\n"


def _held_once_it_locks(monkeypatch, thread: str) -> Hold:
    """Hold a merge on the thread ``thread`` once it has locked its first customer."""
    hold = Hold()
    original = merging.access_customer

    def access_customer(*args, **kwargs):
        found = original(*args, **kwargs)
        held_here = kwargs.get("for_update") and threading.current_thread().name == thread
        if held_here and not hold.reached.is_set():
            hold.here()
        return found

    monkeypatch.setattr(merging, "access_customer", access_customer)
    return hold


def test_the_customer_a_row_follows_is_locked_in_id_order_with_the_others(
    company, monkeypatch, tmp_path
):
    rep = company.rep
    # In ascending id order: the one kept, the one merged into it as the import runs, and one
    # merged into it after.
    kept = customer_create(actor=rep, data={"name": "张伟", "external_id": "K1"})
    early = customer_create(actor=rep, data={"name": "张伟", "external_id": "K2"})
    late = customer_create(actor=rep, data={"name": "张伟", "external_id": "K3"})
    path = tmp_path / "contacts.csv"
    path.write_text(
        f"{CONTACTS}I2,K2,phone,来电,2026-03-02 10:30\nI3,K3,visit,拜访,2026-03-02 11:00\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=rep, path=path, filename=path.name, kind="interactions")
    looked_up = hold_after_first(monkeypatch, InteractionImporter, "_customers", thread="import")
    merge_locked = _held_once_it_locks(monkeypatch, "merge")
    results: dict = {}
    threads = [
        in_thread(lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)), results, "import")
    ]
    try:
        assert looked_up.reached.wait(30), "the import did not get as far as its customers"
        # Committed after the import looked up K2: its row now goes to K1.
        merging.customers_merge(actor=rep, survivor_id=kept.pk, merged_id=early.pk)
        # Another merge, into K1, holds K1 (the lower id) and is about to lock K3.
        threads.append(
            in_thread(
                lambda: merging.customers_merge(actor=rep, survivor_id=kept.pk, merged_id=late.pk),
                results,
                "merge",
            )
        )
        assert merge_locked.reached.wait(30), "the second merge did not lock K1"
        looked_up.go.set()
        assert wait_until(waiting_for_a_lock), "the import did not wait for the second merge"
    finally:
        looked_up.go.set()
        merge_locked.go.set()
        for thread in threads:
            thread.join(60)

    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    done = results["import"][1]
    assert (done.created, done.rejected) == (2, 0), done.message
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {kept.pk}
