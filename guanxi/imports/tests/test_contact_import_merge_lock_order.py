"""A contact import moving a contact while a merge of its customer is under way. The merge locks
both customers, then the contacts it moves; the import locks the customers it touches (where
its contacts are, where the rows put them, and those of its new contacts) in ascending id order
before it locks a contact, so it waits for the merge and then changes the contact where the
merge left it, instead of holding the contact while waiting for a customer the merge holds, and
the database breaking one of the two off as a deadlock. Real concurrency needs PostgreSQL."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = CONCURRENT

CONTACTS = "external_id,customer_external_id,channel,subject,occurred_at\n"


def _job(actor, path, lines: str) -> ImportJob:
    path.write_text(CONTACTS + lines, encoding="utf-8")
    return import_job_create(actor=actor, path=path, filename=path.name, kind="interactions")


def test_a_contact_moved_to_the_customer_its_own_is_being_merged_into(
    company, monkeypatch, tmp_path
):
    kept, other = customers_to_merge(
        company.rep, {"name": "张伟", "external_id": "K1"}, {"name": "张伟", "external_id": "K2"}
    )
    first = import_job_run(
        job=_job(company.rep, tmp_path / "first.csv", "I1,K2,phone,来电,2026-03-02 10:30\n")
    )
    assert (first.created, first.rejected) == (1, 0), first.message
    job = _job(company.rep, tmp_path / "moved.csv", "I1,K1,phone,来电,2026-03-03 09:00\n")

    # The merge holds both customers, before it moves the other's contacts; the import comes
    # while it does, moving the contact to the kept customer and to a later moment.
    results = write_while_merging(
        monkeypatch,
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)),
        actor=company.rep,
        kept=kept,
        other=other,
        key="import",
        before="_check_members",
    )

    assert results["import"][0] == "ok", results["import"][-1]
    done = results["import"][1]
    assert (done.updated, done.rejected) == (1, 0), done.message
    moment = timezone.make_aware(dt.datetime(2026, 3, 3, 9, 0))
    contact = Interaction.objects.get(external_id="I1")
    assert (contact.customer_id, contact.occurred_at) == (kept.pk, moment)
    assert Customer.objects.get(pk=kept.pk).last_contacted_at == moment


def test_one_batch_locks_its_customers_in_one_query(company, tmp_path):
    for external_id in ("K1", "K2", "K3"):
        Customer.objects.create(name="张伟", external_id=external_id, owner=company.rep)
    first = import_job_run(
        job=_job(company.rep, tmp_path / "first.csv", "I1,K1,phone,来电,2026-03-02 10:30\n")
    )
    assert first.created == 1, first.message
    job = _job(
        company.rep,
        tmp_path / "more.csv",
        "I1,K2,phone,来电,2026-03-02 10:30\n"  # moved from K1 to K2
        "I2,K3,phone,回访,2026-03-02 11:00\n"
        "I3,K3,email,报价,2026-03-02 12:00\n"
        "I4,K1,phone,回访,2026-03-02 13:00\n",
    )
    with CaptureQueriesContext(connection) as queries:
        done = import_job_run(job=job)
    assert (done.created, done.updated, done.rejected) == (3, 1, 0), done.message
    locks = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "customers_customer"' in q["sql"] and "FOR " in q["sql"] and "UPDATE" in q["sql"]
    ]
    assert len(locks) == 1, locks
    assert "FOR NO KEY UPDATE" in locks[0]
