"""Importing interactions: customers found by external id (through merges), the visibility
rule, idempotent re-import by the interaction's own external id, and every row accounted for."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customers_merge
from guanxi.imports.models import ImportRowError
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db

HEADER = "external_id,customer_external_id,channel,direction,subject,notes,occurred_at,staff\n"


def run(tmp_path, text, actor, name="contacts.csv", **options):
    path = tmp_path / name
    path.write_text(text)
    job = import_job_create(actor=actor, path=path, filename=name, kind="interactions", **options)
    return import_job_run(job=job)


@pytest.fixture
def customers(company):
    first = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    second = customer_create(actor=company.rep, data={"name": "张伟 (card)", "external_id": "K2"})
    customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    west = customer_create(actor=company.rep_west, data={"name": "West", "external_id": "W1"})
    return first, west


def test_rows_land_on_the_timeline_and_bad_rows_are_reported(company, customers, tmp_path):
    first, _west = customers
    job = run(
        tmp_path,
        HEADER
        + "I1,K1,phone,inbound,来电询价,要报价,2026-03-02 10:30,rep\n"
        + "I2,K2,visit,outbound,拜访,,2026-03-05,\n"  # K2 was merged into K1
        + "I3,W1,email,,Mail,,2026-03-06,\n"  # not the rep's to log
        + "I4,K9,email,,Mail,,2026-03-06,\n"  # no such customer
        + "I5,K1,pigeon,,Mail,,2026-03-06,\n"  # no such channel
        + "I6,K1,email,,,,2026-03-06,\n"  # no subject
        + "I7,K1,email,,Mail,,2099-01-01,\n"  # in the future
        + "I8,K1,email,,Mail,,yesterday,\n",  # not a date
        company.rep,
    )
    assert (job.rows_read, job.created, job.rejected) == (8, 2, 6)
    assert job.created + job.updated + job.merged + job.rejected == job.rows_read
    timeline = Interaction.objects.filter(customer=first).order_by("occurred_at")
    assert [i.subject for i in timeline] == ["来电询价", "拜访"]
    assert timeline[0].staff == company.rep and timeline[0].direction == "inbound"
    first.refresh_from_db()
    assert first.last_contacted_at == timeline[1].occurred_at
    reasons = list(ImportRowError.objects.filter(job=job).values_list("reason", flat=True))
    assert "W1" in reasons[0] and "customer:" in reasons[0]
    assert AuditEvent.objects.filter(object_type="interaction").count() == 2


def test_reimporting_updates_by_external_id_and_changes_nothing_twice(company, customers, tmp_path):
    text = HEADER + "I1,K1,phone,inbound,来电询价,,2026-03-02 10:30,\n"
    run(tmp_path, text, company.rep)
    again = run(tmp_path, text, company.rep)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert Interaction.objects.count() == 1
    changed = run(tmp_path, text.replace("来电询价", "来电询价（补充）"), company.rep)
    assert (changed.updated, changed.unchanged) == (1, 0)
    assert Interaction.objects.get().subject == "来电询价（补充）"
    assert AuditEvent.objects.filter(object_type="interaction", action="update").count() == 1
