"""An undo's audit row counts the records it moved back to the merged customer, as the merge's
row counts those it moved to the survivor; a record moved on to another customer since the
merge stays where it is and is not counted. The survivor, losing the contacts that go back,
takes the latest of those it keeps as its last contact."""

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def _changes(customer, action) -> dict:
    return AuditEvent.objects.get(
        customer_id=customer.pk, object_type="customer", action=action
    ).changes


def test_the_undo_row_counts_what_went_back(company):
    rep = company.rep
    survivor = customer_create(actor=rep, data={"name": "张伟"})
    merged = customer_create(actor=rep, data={"name": "张伟"})
    elsewhere = customer_create(actor=rep, data={"name": "李娜"})
    for subject in ("来电", "拜访", "回访"):
        interaction_log(
            actor=rep, customer_id=merged.pk, data={"subject": subject, "channel": "phone"}
        )
    merge = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    assert _changes(survivor, AuditEvent.Action.MERGE)["moved_rows"] == {
        "before": None,
        "after": 3,
    }
    # One of them was filed under another customer since: the undo leaves it there.
    Interaction.objects.filter(subject="回访").update(customer=elsewhere)

    customer_merge_undo(actor=rep, merge_id=merge.pk)

    assert _changes(survivor, AuditEvent.Action.UNMERGE)["moved_back"] == {
        "before": None,
        "after": 2,
    }
    assert Interaction.objects.filter(customer=merged).count() == 2


def _contact(actor, customer, subject: str, when: dt.datetime) -> None:
    interaction_log(
        actor=actor,
        customer_id=customer.pk,
        data={"subject": subject, "channel": "phone", "occurred_at": when},
    )


def _last_contact(customer):
    return Customer.objects.get(pk=customer.pk).last_contacted_at


def test_the_survivor_takes_the_latest_contact_it_keeps(company):
    rep = company.rep
    survivor = customer_create(actor=rep, data={"name": "张伟"})
    merged = customer_create(actor=rep, data={"name": "张伟"})
    now = timezone.now()
    _contact(rep, survivor, "来电", now - dt.timedelta(days=30))
    _contact(rep, merged, "拜访", now - dt.timedelta(days=2))
    merge = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    # Contacted again after the merge, earlier than the merged customer's last contact.
    _contact(rep, survivor, "回访", now - dt.timedelta(days=10))
    assert _last_contact(survivor) == now - dt.timedelta(days=2)

    customer_merge_undo(actor=rep, merge_id=merge.pk)

    # Not the last contact it had before the merge: it has one since.
    assert _last_contact(survivor) == now - dt.timedelta(days=10)
    assert _last_contact(merged) == now - dt.timedelta(days=2)


def test_the_survivor_loses_a_last_contact_moved_back_with_its_contact(company, tmp_path):
    rep = company.rep
    survivor = customer_create(actor=rep, data={"name": "张伟", "external_id": "K1"})
    merged = customer_create(actor=rep, data={"name": "张伟", "external_id": "K2"})
    _contact(rep, survivor, "来电", timezone.make_aware(dt.datetime(2026, 3, 1, 9, 0)))
    path = tmp_path / "contacts.csv"

    def run(line: str):
        path.write_text(f"external_id,customer_external_id,channel,subject,occurred_at\n{line}\n")
        job = import_job_create(actor=rep, path=path, filename=path.name, kind="interactions")
        assert import_job_run(job=job).rejected == 0

    run("I1,K2,phone,拜访,2026-03-02 10:00")
    merge = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    # The contact the merge moved is corrected to a later moment while with the survivor.
    run("I1,K1,phone,拜访,2026-03-09 10:00")
    assert _last_contact(survivor) == timezone.make_aware(dt.datetime(2026, 3, 9, 10, 0))

    customer_merge_undo(actor=rep, merge_id=merge.pk)

    assert Interaction.objects.get(external_id="I1").customer_id == merged.pk
    assert _last_contact(survivor) == timezone.make_aware(dt.datetime(2026, 3, 1, 9, 0))


@pytest.mark.parametrize(
    ("corrected", "latest"),
    [
        # One corrected to a later moment than the merged customer's last contact.
        ("I1,K1,phone,来电,2026-03-09 10:00\n", dt.datetime(2026, 3, 9, 10, 0)),
        # Its last contact corrected to an earlier moment than the other contact.
        ("I2,K1,visit,拜访,2026-02-20 10:00\n", dt.datetime(2026, 3, 2, 10, 0)),
    ],
)
def test_the_merged_customer_takes_the_latest_contact_it_gets_back(
    company, tmp_path, corrected, latest
):
    rep = company.rep
    survivor = customer_create(actor=rep, data={"name": "张伟", "external_id": "K1"})
    merged = customer_create(actor=rep, data={"name": "张伟", "external_id": "K2"})
    path = tmp_path / "contacts.csv"

    def run(text: str):
        path.write_text(f"external_id,customer_external_id,channel,subject,occurred_at\n{text}")
        job = import_job_create(actor=rep, path=path, filename=path.name, kind="interactions")
        assert import_job_run(job=job).rejected == 0

    run("I1,K2,phone,来电,2026-03-02 10:00\nI2,K2,visit,拜访,2026-03-05 10:00\n")
    assert _last_contact(merged) == timezone.make_aware(dt.datetime(2026, 3, 5, 10, 0))
    merge = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    # Corrected while with the survivor.
    run(corrected)

    customer_merge_undo(actor=rep, merge_id=merge.pk)

    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {merged.pk}
    # Not the last contact it had before the merge: the latest of those it has back.
    assert _last_contact(merged) == timezone.make_aware(latest)
