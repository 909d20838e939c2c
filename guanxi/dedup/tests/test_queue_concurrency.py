"""The review queue while several writers touch it at once: the duplicate scan writing it, a
merge settling its pairs, an import queueing one. Real concurrency needs PostgreSQL (SQLite has
one writer at a time, which serialises all of this by itself)."""

import csv
import threading

import pytest
from django.db import connection, transaction

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import scan as scan_module
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.scan import scan_duplicates
from guanxi.dedup.services import customers_merge
from guanxi.imports.services import import_job_create, import_job_run

from .test_scan import load_generated

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def test_a_merge_committing_while_the_scan_writes_the_queue_does_not_fail_the_scan(
    company, tmp_path
):
    load_generated(company, tmp_path, entities=300)
    output = tmp_path / "pairs.csv"
    scan_duplicates(output=output, queue=False)
    with output.open(encoding="utf-8") as handle:
        left, right = next((int(r["left_id"]), int(r["right_id"])) for r in csv.DictReader(handle))
    merged, release = threading.Event(), threading.Event()

    def merge_and_hold():
        with transaction.atomic():  # the merge's pair is written but not yet committed
            customers_merge(actor=company.admin, survivor_id=right, merged_id=left)
            merged.set()
            release.wait(60)

    results: dict = {}
    holder = in_thread(merge_and_hold, results, "merge")
    assert merged.wait(30)
    scanner = in_thread(scan_duplicates, results, "scan")
    assert wait_until(waiting_for_a_lock)
    release.set()
    holder.join(60)
    scanner.join(120)
    assert results["merge"][0] == "ok"
    assert results["scan"][0] == "ok", results["scan"][2]
    assert DuplicatePair.objects.get(left_id=left, right_id=right).status == "merged"


def test_a_pair_an_import_queues_while_the_scan_runs_stays_in_the_queue(
    company, tmp_path, monkeypatch
):
    load_generated(company, tmp_path, entities=300)
    existing = Customer.objects.filter(phones__isnull=False).first()
    phone = existing.phones.first().number.removeprefix("+86")
    path = tmp_path / "again.csv"
    path.write_text(f"external_id,name,phone\nAGAIN1,{existing.name},{phone}\n", encoding="utf-8")
    job = import_job_create(
        actor=company.admin, path=path, filename=path.name, kind="customers", dedup="review"
    )
    compare = scan_module.find_duplicates
    results: dict = {}

    def import_while_the_scan_compares(*args, **kwargs):
        found = compare(*args, **kwargs)  # the scan has read every customer by now
        in_thread(lambda: import_job_run(job=job), results, "import").join(60)
        return found

    monkeypatch.setattr(scan_module, "find_duplicates", import_while_the_scan_compares)
    scan_duplicates()
    assert results["import"][0] == "ok", results["import"]
    job.refresh_from_db()
    assert job.queued_for_review == 1
    new = Customer.objects.get(external_id="AGAIN1")
    low, high = sorted((new.pk, existing.pk))
    assert DuplicatePair.objects.get(left_id=low, right_id=high).status == "open"


@pytest.mark.parametrize("survivor_has_the_pair", [False, True])
def test_two_merges_at_once_leave_no_open_pair_with_a_customer_merged_away(
    company, survivor_has_the_pair
):
    a, b, c, d = (customer_create(actor=company.admin, data={"name": f"对{n}"}) for n in "甲乙丙丁")

    def pair(x, y):
        low, high = sorted((x.pk, y.pk))
        return DuplicatePair.objects.create(left_id=low, right_id=high, score=0.7, source="scan")

    pair(a, c)
    if survivor_has_the_pair:
        pair(a, d)
    barrier = threading.Barrier(2)
    results: dict = {}

    def merge(survivor, merged):
        def run():
            barrier.wait()
            return customers_merge(
                actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk
            )

        return run

    threads = [
        in_thread(merge(b, a), results, "a into b"),
        in_thread(merge(d, c), results, "c into d"),
    ]
    for thread in threads:
        thread.join(60)
    assert [outcome[0] for outcome in results.values()] == ["ok", "ok"], results
    gone = set(Customer.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
    assert gone == {a.pk, c.pk}
    open_pairs = set(DuplicatePair.objects.filter(status="open").values_list("left_id", "right_id"))
    assert open_pairs == {tuple(sorted((b.pk, d.pk)))}
