import pytest
from django.db import DatabaseError, transaction

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import SENSITIVE_PLACEHOLDER, diff_values
from guanxi.customers.services import customer_create


def test_diff_records_only_changed_fields_and_hides_sensitive_values():
    changes = diff_values(
        {"name": "A", "id_number": "h1", "notes": ""},
        {"name": "B", "id_number": "h2", "notes": None},
        sensitive=["id_number"],
    )
    assert changes == {
        "name": {"before": "A", "after": "B"},
        "id_number": {"before": SENSITIVE_PLACEHOLDER, "after": SENSITIVE_PLACEHOLDER},
    }


def test_audit_rows_cannot_be_rewritten_even_bypassing_the_app(company):
    customer_create(actor=company.rep, data={"name": "Audited"})
    event = AuditEvent.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="nothing happened")
    event.refresh_from_db()
    assert event.summary == "Audited"
