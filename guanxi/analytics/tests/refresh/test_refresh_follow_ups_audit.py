"""A churn follow-up is a task on a customer: handing it over and closing it are in the
customer's history, and so is its opening, which the nightly refresh does (the system, no
actor) for a customer it flags, in the transaction that makes the run current."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.analytics.models import ChurnFollowUp
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
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


def _lapsed(*customers) -> None:
    """Two purchase days five months apart, the last nine months before AS_OF: overdue."""
    for customer in customers:
        book(customer, dt.date(2025, 1, 10), "100.00")
        book(customer, dt.date(2025, 6, 1), "100.00")


def _swap_statements(as_of) -> list[str]:
    """The statements of a refresh's swap (the step that opens the follow-ups)."""
    marks: dict[str, int] = {}
    with CaptureQueriesContext(connection) as queries:
        analytics_refresh(as_of=as_of, progress=lambda step: marks.setdefault(step, len(queries)))
    return [query["sql"] for query in queries.captured_queries][marks["swap"] : marks["statistics"]]


def test_the_rows_of_the_follow_ups_opened_take_no_statement_per_follow_up(company):
    # A first refresh at a million customers opens some 130,000 follow-ups: their audit rows
    # are written together, and nothing is read customer by customer. (SQLite's batched INSERTs
    # are among the statements counted; PostgreSQL's COPY is not.)
    analytics_refresh(as_of=AS_OF)  # a run before, so both refreshes below swap alike
    _lapsed(company.rep_customer)
    one = _swap_statements(AS_OF)
    _lapsed(company.teammate_customer, company.rep_b_customer, company.west_customer)
    three = _swap_statements(AS_OF)
    assert len(_opened()) == 4
    assert len(three) == len(one)
