"""A contact's notes are part of what was logged: its audit row holds them, whether it was
logged on the page or the API or imported from a file, as an import's later change of them
is recorded."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def _changes(interaction_id: int) -> dict:
    return AuditEvent.objects.get(
        object_type="interaction", object_id=interaction_id, action=AuditEvent.Action.CREATE
    ).changes


def test_the_notes_of_a_contact_logged_are_in_its_audit_row(company):
    interaction = interaction_log(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"channel": "visit", "subject": "拜访", "notes": "谈续约，下周报价"},
    )
    assert _changes(interaction.pk)["notes"] == {"before": None, "after": "谈续约，下周报价"}


def test_a_contact_logged_without_notes_records_none(company):
    interaction = interaction_log(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"channel": "phone", "subject": "来电", "notes": None},
    )
    assert "notes" not in _changes(interaction.pk)


def test_the_notes_of_an_imported_contact_are_in_its_audit_row(company, tmp_path):
    customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    path = tmp_path / "contacts.csv"
    path.write_text(
        "external_id,customer_external_id,channel,subject,notes\n"
        "I1,K1,phone,来电询价,要报价\n"
        "I2,K1,phone,回电,\n"
    )
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="interactions")
    assert import_job_run(job=job).created == 2
    rows = {
        event.summary: event.changes
        for event in AuditEvent.objects.filter(object_type="interaction")
    }
    assert rows["来电询价"]["notes"] == {"before": None, "after": "要报价"}
    assert "notes" not in rows["回电"]
