"""A contact or order import whose row names a customer merged away between the batch's check of
its rows and its writing: the row goes to the customer it was merged into, as a row naming a
customer merged away before the import goes there, and as the merge would have moved what the
row wrote; it is rejected, naming the customer column, when the import may not write there (a
customer deleted meanwhile, or merged into one the importing user may not log contacts on), as
it is when the customer was given meanwhile to someone else, out of the user's reach.

The import is held once it has looked up the rows' customers, before it locks them; the merge
(or the deletion, or the reassignment) commits meanwhile, on a connection of its own. Real
concurrency needs PostgreSQL."""

import datetime as dt

from django.utils import timezone

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge
from guanxi.core.testing.threads import hold_after_first, hold_before, in_thread
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customers_reassign
from guanxi.dedup.services import customers_merge
from guanxi.imports.interaction_import import InteractionImporter
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.order_import import OrderImporter
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

pytestmark = CONCURRENT

CONTACTS = "external_id,customer_external_id,channel,subject,occurred_at\n"
ORDERS = "external_id,customer_external_id,ordered_on,amount\n"
MOMENT = "2026-03-02 10:30"


def _job(actor, path, kind: str, text: str) -> ImportJob:
    path.write_text(text, encoding="utf-8")
    return import_job_create(actor=actor, path=path, filename=path.name, kind=kind)


def _run_with(monkeypatch, importer, job: ImportJob, meanwhile) -> ImportJob:
    """Run ``job`` on a thread of its own, held once it has found its rows' customers while
    ``meanwhile`` commits; the import's outcome."""
    hold = hold_after_first(monkeypatch, importer, "_customers", thread="import")
    results: dict = {}
    thread = in_thread(
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)), results, "import"
    )
    try:
        assert hold.reached.wait(30), "the import did not get as far as its customers"
        meanwhile()
    finally:
        hold.go.set()
        thread.join(60)
    assert results["import"][0] == "ok", results["import"][-1]
    return results["import"][1]


def _merge(actor, kept, other):
    return lambda: customers_merge(actor=actor, survivor_id=kept.pk, merged_id=other.pk)


def test_a_new_contact_goes_to_the_customer_its_own_was_merged_into(company, monkeypatch, tmp_path):
    kept, other = customers_to_merge(
        company.rep, {"name": "张伟", "external_id": "K1"}, {"name": "张伟", "external_id": "K2"}
    )
    job = _job(
        company.rep, tmp_path / "new.csv", "interactions", f"{CONTACTS}I1,K2,phone,来电,{MOMENT}\n"
    )

    done = _run_with(monkeypatch, InteractionImporter, job, _merge(company.rep, kept, other))

    assert (done.created, done.rejected) == (1, 0), done.message
    assert Interaction.objects.get(external_id="I1").customer_id == kept.pk
    moment = timezone.make_aware(dt.datetime.fromisoformat(MOMENT))
    assert Customer.objects.get(pk=kept.pk).last_contacted_at == moment


def test_a_contact_rewritten_stays_where_the_merge_moved_it(company, monkeypatch, tmp_path):
    kept, other = customers_to_merge(
        company.rep, {"name": "张伟", "external_id": "K1"}, {"name": "张伟", "external_id": "K2"}
    )
    first = _job(
        company.rep,
        tmp_path / "first.csv",
        "interactions",
        f"{CONTACTS}I1,K2,phone,来电,{MOMENT}\n",
    )
    assert import_job_run(job=first).created == 1
    job = _job(
        company.rep,
        tmp_path / "again.csv",
        "interactions",
        f"{CONTACTS}I1,K2,phone,回访,{MOMENT}\n",
    )

    done = _run_with(monkeypatch, InteractionImporter, job, _merge(company.rep, kept, other))

    assert (done.updated, done.rejected) == (1, 0), list(
        ImportRowError.objects.values_list("reason", flat=True)
    )
    contact = Interaction.objects.get(external_id="I1")
    assert (contact.customer_id, contact.subject) == (kept.pk, "回访")


def test_a_contact_for_a_customer_deleted_meanwhile_is_rejected(company, monkeypatch, tmp_path):
    gone = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K2"})
    job = _job(
        company.rep, tmp_path / "new.csv", "interactions", f"{CONTACTS}I1,K2,phone,来电,{MOMENT}\n"
    )

    done = _run_with(
        monkeypatch,
        InteractionImporter,
        job,
        lambda: customer_delete(actor=company.manager, customer_id=gone.pk),
    )

    assert (done.created, done.rejected) == (0, 1), done.message
    assert not Interaction.objects.exists()
    assert ImportRowError.objects.get(job=job).reason == "customer_external_id: no customer K2"


def test_a_contact_for_a_customer_merged_into_one_out_of_sight_is_rejected(
    company, monkeypatch, tmp_path
):
    # The rep does not see the customers of the other team.
    Customer.objects.filter(pk=company.rep_b_customer.pk).update(name="张伟")
    other = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K2"})
    job = _job(
        company.rep,
        tmp_path / "new.csv",
        "interactions",
        f"{CONTACTS}I1,K2,phone,来电,{MOMENT}\n",
    )

    done = _run_with(
        monkeypatch,
        InteractionImporter,
        job,
        _merge(company.manager, company.rep_b_customer, other),
    )

    assert (done.created, done.rejected) == (0, 1), done.message
    assert not Interaction.objects.exists()
    assert ImportRowError.objects.get(job=job).reason == "customer_external_id: no customer K2"


def test_an_order_for_a_customer_merged_into_one_out_of_reach_is_rejected(
    company, monkeypatch, tmp_path
):
    # The rep sees their teammate's customers but may not change them.
    Customer.objects.filter(pk=company.teammate_customer.pk).update(name="张伟")
    other = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K2"})
    job = _job(company.rep, tmp_path / "orders.csv", "orders", f"{ORDERS}O1,K2,2026-03-02,100\n")

    done = _run_with(
        monkeypatch,
        OrderImporter,
        job,
        _merge(company.manager, company.teammate_customer, other),
    )

    assert (done.created, done.rejected) == (0, 1), done.message
    assert not Order.objects.exists()
    assert ImportRowError.objects.get(job=job).reason == (
        "customer_external_id: no customer K2 that you may change"
    )


def test_a_new_order_goes_to_the_customer_its_own_was_merged_into(company, monkeypatch, tmp_path):
    kept, other = customers_to_merge(
        company.rep, {"name": "张伟", "external_id": "K1"}, {"name": "张伟", "external_id": "K2"}
    )
    job = _job(company.rep, tmp_path / "orders.csv", "orders", f"{ORDERS}O1,K2,2026-03-02,100\n")

    done = _run_with(monkeypatch, OrderImporter, job, _merge(company.rep, kept, other))

    assert (done.created, done.rejected) == (1, 0), done.message
    assert Order.objects.get(external_id="O1").customer_id == kept.pk


def test_an_order_rewritten_stays_where_the_merge_moved_it(company, monkeypatch, tmp_path):
    kept, other = customers_to_merge(
        company.rep, {"name": "张伟", "external_id": "K1"}, {"name": "张伟", "external_id": "K2"}
    )
    first = _job(company.rep, tmp_path / "first.csv", "orders", f"{ORDERS}O1,K2,2026-03-02,100\n")
    assert import_job_run(job=first).created == 1
    job = _job(company.rep, tmp_path / "again.csv", "orders", f"{ORDERS}O1,K2,2026-03-02,120\n")

    done = _run_with(monkeypatch, OrderImporter, job, _merge(company.rep, kept, other))

    assert (done.updated, done.rejected) == (1, 0), done.message
    order = Order.objects.get(external_id="O1")
    assert (order.customer_id, str(order.amount)) == (kept.pk, "120.00")


def _reassign(actor, customer, to_owner):
    return lambda: customers_reassign(
        actor=actor,
        from_owner_id=customer.owner_id,
        to_owner_id=to_owner.pk,
        customer_ids=[customer.pk],
    )


def test_a_contact_for_a_customer_reassigned_out_of_sight_is_rejected(
    company, monkeypatch, tmp_path
):
    # Given to someone of another team, whose customers the rep does not see.
    mine = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    job = _job(
        company.rep, tmp_path / "new.csv", "interactions", f"{CONTACTS}I1,K1,phone,来电,{MOMENT}\n"
    )

    done = _run_with(
        monkeypatch, InteractionImporter, job, _reassign(company.manager, mine, company.rep_b)
    )

    assert (done.created, done.rejected) == (0, 1), done.message
    assert not Interaction.objects.exists()
    assert ImportRowError.objects.get(job=job).reason == "customer_external_id: no customer K1"


def test_an_order_for_a_customer_reassigned_out_of_reach_is_rejected(
    company, monkeypatch, tmp_path
):
    # Given to a teammate: the rep still sees it, but may not change it.
    mine = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    job = _job(company.rep, tmp_path / "orders.csv", "orders", f"{ORDERS}O1,K1,2026-03-02,100\n")

    done = _run_with(
        monkeypatch, OrderImporter, job, _reassign(company.manager, mine, company.teammate)
    )

    assert (done.created, done.rejected) == (0, 1), done.message
    assert not Order.objects.exists()
    assert ImportRowError.objects.get(job=job).reason == (
        "customer_external_id: no customer K1 that you may change"
    )


def test_an_order_moved_out_of_sight_meanwhile_is_not_rewritten(company, monkeypatch, tmp_path):
    customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    Customer.objects.filter(pk=company.rep_b_customer.pk).update(external_id="KB")
    first = _job(company.rep, tmp_path / "first.csv", "orders", f"{ORDERS}O1,K1,2026-03-02,100\n")
    assert import_job_run(job=first).created == 1
    job = _job(company.rep, tmp_path / "again.csv", "orders", f"{ORDERS}O1,K1,2026-03-02,120\n")
    moving = _job(
        company.manager, tmp_path / "moving.csv", "orders", f"{ORDERS}O1,KB,2026-03-02,100\n"
    )
    # Held once it has read where its orders are, before it locks their customers; the
    # manager's import moves the order to a customer of another team meanwhile.
    hold = hold_before(monkeypatch, OrderImporter, "_locked", thread="import")
    results: dict = {}
    thread = in_thread(
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)), results, "import"
    )
    try:
        assert hold.reached.wait(30), "the import did not get as far as its customers"
        assert import_job_run(job=moving).updated == 1
    finally:
        hold.go.set()
        thread.join(60)
    assert results["import"][0] == "ok", results["import"][-1]
    done = results["import"][1]

    # Not taken back from the customer the rep may not see, nor rewritten there.
    assert (done.updated, done.rejected) == (0, 1), done.message
    order = Order.objects.get(external_id="O1")
    assert (order.customer_id, str(order.amount)) == (company.rep_b_customer.pk, "100.00")
    assert ImportRowError.objects.get(job=job).reason == (
        "external_id: order O1 belongs to a customer you may not change"
    )
