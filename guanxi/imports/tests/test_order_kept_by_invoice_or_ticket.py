"""An order import does not move an order that is billed or that a ticket is about to another
customer: the first customer's invoice would bill them for another's order, and their ticket
would be about it, which is what undoing a customer merge refuses to leave behind. The row is
rejected naming the customer's column, counted and written to the error file, in a dry run as
in the import; the invoice or ticket is named only to whoever may see its customer. An order
with neither still moves."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run, write_error_rows
from guanxi.orders.models import Order
from guanxi.orders.services import invoice_create
from guanxi.service.services import ticket_create

pytestmark = pytest.mark.django_db

HEADER = "external_id,customer_external_id,ordered_on,amount\n"
MOVED = "it cannot move to another customer"


@pytest.fixture
def east(company):
    """The rep's customer K1, with orders O1 to O5, and K2, another of theirs."""
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    other = customer_create(actor=company.rep, data={"name": "李娜", "external_id": "K2"})
    _run(company.rep, HEADER + "".join(f"O{i},K1,2026-03-02,{i}00\n" for i in range(1, 6)))
    return company.rep_customer, other


def _run(actor, text, *, dry_run=False, path=None):
    path = path or _run.folder / f"orders-{len(list(_run.folder.iterdir()))}.csv"
    path.write_text(text, encoding="utf-8")
    job = import_job_create(
        actor=actor, path=path, filename=path.name, kind="orders", dry_run=dry_run
    )
    return import_job_run(job=job)


@pytest.fixture(autouse=True)
def _folder(tmp_path):
    _run.folder = tmp_path


def _order(external_id) -> Order:
    return Order.objects.get(external_id=external_id)


def _invoice(actor, customer, order, number):
    return invoice_create(
        actor=actor,
        customer_id=customer.pk,
        data={
            "number": number,
            "order_id": order.pk,
            "issued_on": dt.date(2026, 3, 3),
            "due_on": dt.date(2026, 4, 3),
            "amount": "100",
        },
    )


def _reasons(job) -> dict[int, str]:
    return dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))


def _counted(job) -> tuple:
    return (job.rows_read, job.created, job.updated, job.unchanged, job.merged, job.rejected)


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_invoiced_or_ticket_linked_order_stays_with_its_customer(company, east, dry_run):
    k1, k2 = east
    _invoice(company.rep, k1, _order("O1"), "INV-7")
    ticket = ticket_create(
        actor=company.rep,
        customer_id=k1.pk,
        data={"type": "complaint", "subject": "Broken on arrival", "order_ids": [_order("O2").pk]},
    )
    _invoice(company.rep, k1, _order("O3"), "INV-8")
    ticket.orders.add(_order("O3"))
    # A ticket of K2 about K1's order, as undoing a merge of the two leaves one: the order
    # going to K2 mends that.
    theirs = ticket_create(
        actor=company.rep, customer_id=k2.pk, data={"type": "complaint", "subject": "Refund"}
    )
    theirs.orders.add(_order("O5"))
    before = AuditEvent.objects.count()

    job = _run(
        company.rep,
        HEADER
        + "O1,K2,2026-03-02,100\n"  # invoiced
        + "O2,K2,2026-03-02,200\n"  # linked to a ticket
        + "O3,K2,2026-03-02,300\n"  # both
        + "O4,K2,2026-03-02,400\n"  # neither: moves
        + "O5,K2,2026-03-02,500\n"  # linked to a ticket of K2 only: moves
        + "O6,K2,2026-03-02,600\n"  # new
        + "O1,K1,2026-03-02,150\n",  # invoiced, staying: updated
        dry_run=dry_run,
    )

    assert _counted(job) == (7, 1, 3, 0, 0, 3)
    assert job.created + job.updated + job.unchanged + job.merged + job.rejected == job.rows_read
    number = ticket.number
    assert _reasons(job) == {
        2: f"customer_external_id: this order has an invoice (INV-7); {MOVED}",
        3: f"customer_external_id: this order is linked to a ticket ({number}); {MOVED}",
        4: f"customer_external_id: this order has an invoice (INV-8) and is linked to a "
        f"ticket ({number}); {MOVED}",
    }
    handle = io.StringIO()
    assert write_error_rows(job, handle) == 3
    assert "INV-7" in handle.getvalue()
    owners = dict(Order.objects.values_list("external_id", "customer_id"))
    if dry_run:
        assert owners == {"O1": k1.pk, "O2": k1.pk, "O3": k1.pk, "O4": k1.pk, "O5": k1.pk}
        assert AuditEvent.objects.count() == before
    else:
        assert owners == {
            "O1": k1.pk,
            "O2": k1.pk,
            "O3": k1.pk,
            "O4": k2.pk,
            "O5": k2.pk,
            "O6": k2.pk,
        }
        assert _order("O1").amount == 150
        # Nothing recorded of the orders that stayed untouched.
        assert not AuditEvent.objects.filter(
            object_type="order",
            object_id__in=[_order(e).pk for e in ("O2", "O3")],
            action=AuditEvent.Action.UPDATE,
        ).exists()


def test_a_ticket_or_invoice_out_of_the_importers_sight_is_not_named(company, east):
    """A ticket of a customer the rep may not see, linked to their order (as undoing a merge of
    customers leaves one), keeps the order but is not named to them; the administrator, who
    sees it, reads its number."""
    k1, _k2 = east
    hidden = ticket_create(
        actor=company.admin,
        customer_id=company.rep_b_customer.pk,
        data={"type": "complaint", "subject": "Late delivery"},
    )
    hidden.orders.add(_order("O1"))
    assert (
        not Customer.objects.visible_to(company.rep, "view")
        .filter(pk=company.rep_b_customer.pk)
        .exists()
    )

    job = _run(company.rep, HEADER + "O1,K2,2026-03-02,100\n")
    assert _counted(job) == (1, 0, 0, 0, 0, 1)
    [reason] = _reasons(job).values()
    assert reason == (
        f"customer_external_id: this order has an invoice or is linked to a ticket; {MOVED}"
    )
    assert hidden.number not in reason
    assert _order("O1").customer_id == k1.pk

    job = _run(company.admin, HEADER + "O1,K2,2026-03-02,100\n")
    assert _reasons(job) == {
        2: f"customer_external_id: this order is linked to a ticket ({hidden.number}); {MOVED}"
    }


@pytest.mark.django_db(transaction=True)
def test_the_look_before_the_import_tells_of_an_order_kept(client, company, east, uploads):
    """The check on the mapping page runs outside any transaction, as the page does (where
    nothing may be locked, and PostgreSQL refuses to lock): it finds the row rejected all the
    same, and moves nothing."""
    k1, _k2 = east
    _invoice(company.rep, k1, _order("O1"), "INV-7")
    client.force_login(company.rep)
    text = HEADER + "O1,K2,2026-03-02,100\n" + "O4,K2,2026-03-02,400\n"
    client.post(
        "/imports/new/",
        {
            "file": SimpleUploadedFile("orders.csv", text.encode()),
            "kind": "orders",
            "dedup": "auto",
        },
    )
    job = ImportJob.objects.get(status=ImportJob.Status.DRAFT)
    # The file's columns are named as the fields they fill.
    form = {f"map_{i}": column for i, column in enumerate(HEADER.strip().split(","))}
    checked = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "check"})

    report = checked.content.decode()
    assert checked.status_code == 200
    assert "2 rows checked: 1 can be imported, 1 would be rejected." in report
    assert f"Row 2: customer_external_id: this order has an invoice (INV-7); {MOVED}" in report
    assert _order("O1").customer_id == _order("O4").customer_id == k1.pk


def test_the_links_are_looked_up_per_batch_not_per_row(company, east):
    k1, _k2 = east
    for number, external_id in enumerate(("O1", "O2", "O3", "O4")):
        _invoice(company.rep, k1, _order(external_id), f"INV-{number}")

    def queries(rows: list[str]) -> int:
        with CaptureQueriesContext(connection) as captured:
            job = _run(company.rep, HEADER + "".join(rows))
        assert job.rejected == len(rows)
        return len(captured)

    assert queries(["O1,K2,2026-03-02,100\n"]) == queries(
        [f"O{i},K2,2026-03-02,{i}00\n" for i in range(1, 5)]
    )


def test_each_row_of_an_order_is_judged_by_the_customer_it_names(company, east):
    """Two rows of one order naming two customers: the one naming the customer of the order's
    only ticket moves it, the other is rejected, whichever comes first."""
    k1, k2 = east
    k3 = customer_create(actor=company.rep, data={"name": "王芳", "external_id": "K3"})
    theirs = ticket_create(
        actor=company.rep, customer_id=k2.pk, data={"type": "complaint", "subject": "Refund"}
    )
    theirs.orders.add(_order("O5"))
    number = theirs.number

    for rows in (["O5,K3", "O5,K2"], ["O5,K2", "O5,K3"]):
        Order.objects.filter(external_id="O5").update(customer_id=k1.pk)
        job = _run(company.rep, HEADER + "".join(f"{row},2026-03-02,500\n" for row in rows))
        refused = 2 + rows.index("O5,K3")
        assert _counted(job) == (2, 0, 1, 0, 0, 1), rows
        assert _reasons(job) == {
            refused: f"customer_external_id: this order is linked to a ticket ({number}); {MOVED}"
        }, rows
        assert _order("O5").customer_id == k2.pk, rows
    assert k3.orders.count() == 0


def test_an_order_goes_back_to_the_customer_its_invoice_bills(company, east):
    """An order an import moved before this rule, away from the customer its invoice bills,
    goes back to that customer; to a third it does not."""
    k1, k2 = east
    _invoice(company.rep, k1, _order("O1"), "INV-7")
    Order.objects.filter(external_id="O1").update(customer_id=k2.pk)
    customer_create(actor=company.rep, data={"name": "王芳", "external_id": "K3"})

    job = _run(company.rep, HEADER + "O1,K3,2026-03-02,100\n")
    assert _reasons(job) == {2: f"customer_external_id: this order has an invoice (INV-7); {MOVED}"}
    assert _order("O1").customer_id == k2.pk

    job = _run(company.rep, HEADER + "O1,K1,2026-03-02,100\n")
    assert _counted(job) == (1, 0, 1, 0, 0, 0)
    assert _order("O1").customer_id == k1.pk
