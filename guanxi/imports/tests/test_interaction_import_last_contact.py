"""A contact an import moves to another customer, or to a later moment, makes that customer's
last contact as late as the contact, as logging or importing a new one does; a customer's
later last contact is kept. The customer a contact moves away from takes the latest of the
contacts it keeps (none: no last contact)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

COLUMNS = "external_id,customer_external_id,channel,subject,occurred_at\n"


def run(tmp_path, actor, text: str):
    path = tmp_path / "contacts.csv"
    path.write_text(COLUMNS + text)
    job = import_job_create(actor=actor, path=path, filename=path.name, kind="interactions")
    return import_job_run(job=job)


def _last_contact(external_id: str):
    return Customer.objects.get(external_id=external_id).last_contacted_at


def _moment(text: str):
    return timezone.make_aware(dt.datetime.fromisoformat(text))


def test_a_contact_moved_to_another_customer_is_its_last_contact(company, tmp_path):
    for external_id in ("K1", "K2"):
        customer_create(actor=company.rep, data={"name": "张伟", "external_id": external_id})
    assert run(tmp_path, company.rep, "I1,K1,phone,来电,2026-03-02 10:30\n").created == 1
    assert _last_contact("K2") is None

    moved = run(tmp_path, company.rep, "I1,K2,phone,来电,2026-03-02 10:30\n")

    assert (moved.updated, moved.rejected) == (1, 0)
    assert _last_contact("K2") == _moment("2026-03-02 10:30")


def test_a_contact_moved_to_a_later_moment_is_the_last_contact(company, tmp_path):
    customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    run(tmp_path, company.rep, "I1,K1,phone,来电,2026-03-02 10:30\n")
    run(tmp_path, company.rep, "I1,K1,phone,来电,2026-03-09 09:00\n")
    assert _last_contact("K1") == _moment("2026-03-09 09:00")


def test_a_later_last_contact_of_the_customer_it_moves_to_is_kept(company, tmp_path):
    for external_id in ("K1", "K2"):
        customer_create(actor=company.rep, data={"name": "张伟", "external_id": external_id})
    run(
        tmp_path,
        company.rep,
        "I1,K1,phone,来电,2026-03-02 10:30\nI2,K2,visit,拜访,2026-03-20 15:00\n",
    )
    run(tmp_path, company.rep, "I1,K2,phone,来电,2026-03-02 10:30\n")
    assert _last_contact("K2") == _moment("2026-03-20 15:00")


def test_the_customer_a_contact_leaves_takes_the_latest_contact_it_keeps(company, tmp_path):
    for external_id in ("K1", "K2"):
        customer_create(actor=company.rep, data={"name": "张伟", "external_id": external_id})
    run(
        tmp_path,
        company.rep,
        "I0,K1,visit,拜访,2026-03-01 09:00\nI1,K1,phone,来电,2026-03-05 10:30\n",
    )
    assert _last_contact("K1") == _moment("2026-03-05 10:30")

    moved = run(tmp_path, company.rep, "I1,K2,phone,来电,2026-03-05 10:30\n")

    assert (moved.updated, moved.rejected) == (1, 0)
    assert _last_contact("K1") == _moment("2026-03-01 09:00")
    assert _last_contact("K2") == _moment("2026-03-05 10:30")
    # The history of the customer it left says the contact went, in the batch's transaction.
    left = Customer.objects.get(external_id="K1")
    went = AuditEvent.objects.get(
        customer_id=left.pk, object_type="interaction", action=AuditEvent.Action.UPDATE
    )
    assert went.changes == {
        "customer_id": {"before": left.pk, "after": Customer.objects.get(external_id="K2").pk}
    }


def test_a_customer_left_without_contacts_has_no_last_contact(company, tmp_path):
    for external_id in ("K1", "K2"):
        customer_create(actor=company.rep, data={"name": "张伟", "external_id": external_id})
    run(tmp_path, company.rep, "I1,K1,phone,来电,2026-03-05 10:30\n")

    run(tmp_path, company.rep, "I1,K2,phone,来电,2026-03-05 10:30\n")

    assert _last_contact("K1") is None


def test_the_customers_a_batch_takes_contacts_from_are_recomputed_in_one_statement(
    company, tmp_path
):
    for external_id in ("K1", "K2", "K3"):
        customer_create(actor=company.rep, data={"name": "张伟", "external_id": external_id})
    run(
        tmp_path,
        company.rep,
        "I0,K1,visit,拜访,2026-03-01 09:00\n"
        "I1,K1,phone,来电,2026-03-05 10:30\n"
        "I2,K2,phone,来电,2026-03-06 11:00\n"
        "I3,K2,email,报价,2026-03-02 08:00\n",
    )

    with CaptureQueriesContext(connection) as queries:
        moved = run(
            tmp_path,
            company.rep,
            "I1,K3,phone,来电,2026-03-05 10:30\nI2,K3,phone,来电,2026-03-06 11:00\n",
        )

    assert (moved.updated, moved.rejected) == (2, 0)
    assert _last_contact("K1") == _moment("2026-03-01 09:00")
    assert _last_contact("K2") == _moment("2026-03-02 08:00")
    assert _last_contact("K3") == _moment("2026-03-06 11:00")
    recomputed = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "customers_customer"')
        and '"interactions_interaction"' in q["sql"]
    ]
    assert len(recomputed) == 1, recomputed


def test_a_contact_moved_to_an_earlier_moment_leaves_the_latest_it_keeps(company, tmp_path):
    customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    run(
        tmp_path,
        company.rep,
        "I0,K1,visit,拜访,2026-03-01 09:00\nI1,K1,phone,来电,2026-03-05 10:30\n",
    )
    assert _last_contact("K1") == _moment("2026-03-05 10:30")

    moved = run(tmp_path, company.rep, "I1,K1,phone,来电,2026-02-20 08:00\n")

    assert (moved.updated, moved.rejected) == (1, 0)
    # Not the moment the contact had: the latest of the contacts it has now.
    assert _last_contact("K1") == _moment("2026-03-01 09:00")
    run(tmp_path, company.rep, "I0,K1,visit,拜访,2026-02-25 09:00\n")
    assert _last_contact("K1") == _moment("2026-02-25 09:00")
