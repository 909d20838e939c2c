"""The customer page's history speaks the reader's language for every kind of change a
customer's audit rows record, not only for the customer's own fields."""

import pytest
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import describe_history

A = AuditEvent.Action

# Every (object type, action) the services record with a customer id beside the customer's own.
KINDS = [
    ("customer", A.MERGE, {"merged_into": {"before": None, "after": 7}}),
    ("customer", A.UNMERGE, {"merged_into": {"before": 7, "after": None}}),
    ("invoice", A.CREATE, {"due_on": {"before": None, "after": "2026-12-31"}}),
    (
        "payment",
        A.CREATE,
        {
            "amount": {"before": None, "after": "100.00"},
            "outstanding": {"before": "100.00", "after": "0.00"},
            "invoice_status": {"before": "open", "after": "paid"},
        },
    ),
    ("blacklist", A.CREATE, {"reason": {"before": None, "after": "欠款"}}),
    ("blacklist", A.DELETE, {"blacklisted": {"before": True, "after": False}}),
    ("churn_follow_up", A.UPDATE, {"done_at": {"before": None, "after": None}}),
]


@pytest.mark.parametrize(("object_type", "action", "changes"), KINDS)
def test_each_kind_of_change_has_a_headline_and_labels_in_chinese(
    company, object_type, action, changes
):
    event = AuditEvent.objects.create(
        actor=company.admin,
        action=action,
        object_type=object_type,
        object_id=1,
        customer_id=company.rep_customer.pk,
        summary="",
        changes=changes,
    )
    with translation.override("en"):
        [english] = describe_history([event], viewer=company.admin)
    with translation.override("zh-hans"):
        [chinese] = describe_history([event], viewer=company.admin)
    assert " · " not in english.headline, english.headline  # a sentence, not the fallback
    assert chinese.headline != english.headline, chinese.headline
    for line in chinese.lines:
        assert line.label not in changes, line.label  # a label, not the stored key
    if object_type == "payment":
        [status] = [line for line in chinese.lines if "open" in line.before or "状" in line.label]
        assert (status.before, status.after) != ("open", "paid")
