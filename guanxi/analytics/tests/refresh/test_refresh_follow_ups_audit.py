"""A churn follow-up is a task on a customer: handing it over and closing it are in the
customer's history, and so is its opening, which the nightly refresh does (the system, no
actor) for a customer it flags, in the transaction that makes the run current."""

import pytest
from django.utils import translation

from guanxi.analytics.models import ChurnFollowUp
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF
from guanxi.audit.models import AuditEvent
from guanxi.customers.history import CustomerHistory, describe_history


def _opened() -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="churn_follow_up", action=AuditEvent.Action.CREATE)
    )


def test_a_follow_up_the_refresh_opens_is_in_its_customers_history(book_of_orders):
    company = book_of_orders
    analytics_refresh(as_of=AS_OF)
    follow_up = ChurnFollowUp.objects.get()
    [row] = _opened()
    assert (row.object_id, row.customer_id, row.actor) == (
        follow_up.pk,
        company.rep_customer.pk,
        None,
    )
    assert row.changes == {
        "owner_id": {"before": None, "after": company.rep.pk},
        "reason": {"before": None, "after": "overdue"},
        "value_at_risk": {"before": None, "after": pytest.approx(100)},
    }
    assert row in CustomerHistory(customer_id=company.rep_customer.pk).events()
    with translation.override("zh-hans"):
        [entry] = describe_history([row], viewer=company.admin)
    assert " · " not in entry.headline and "流失跟进" in entry.headline
    [owner] = [line for line in entry.lines if line.after == company.rep.label]
    assert owner.label == "负责人"

    # The next refresh keeps the open follow-up, and opens (and records) no second one.
    analytics_refresh(as_of=AS_OF)
    assert ChurnFollowUp.objects.count() == 1 and len(_opened()) == 1
