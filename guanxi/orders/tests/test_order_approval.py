"""Orders for blacklisted or D-rated customers wait for a manager's approval."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.analytics.models import AnalyticsRun, Blacklist, CustomerValue
from guanxi.audit.models import AuditEvent
from guanxi.orders.models import Order
from guanxi.orders.services import StaleOrderError, order_approve, order_create

DAY = dt.date(2026, 3, 2)


def _book(company):
    return order_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"ordered_on": DAY, "amount": Decimal("100.00")},
    )


def _rate(customer, rating, *, current=True):
    run = AnalyticsRun.objects.create(
        as_of=DAY, status=AnalyticsRun.Status.SUCCEEDED, is_current=current
    )
    CustomerValue.objects.create(run=run, customer=customer, credit_rating=rating)


def test_an_ordinary_customer_needs_no_approval(company):
    _rate(company.rep_customer, "B")
    order = _book(company)
    assert (order.approval, order.approval_reason) == ("", "")


def test_a_blacklisted_customer_waits_with_the_reason(company):
    Blacklist.objects.create(customer=company.rep_customer, reason="欠款不还", added_by=None)
    order = _book(company)
    assert order.approval == Order.Approval.PENDING
    assert "欠款不还" in order.approval_reason
    event = AuditEvent.objects.get(object_type="order", object_id=order.pk)
    assert event.changes["approval"] == {"before": None, "after": "pending"}


def test_only_the_current_run_s_rating_counts(company):
    _rate(company.rep_customer, "D", current=False)
    assert _book(company).approval == ""
    _rate(company.rep_customer, "D")
    order = _book(company)
    assert order.approval == Order.Approval.PENDING
    assert "D" in order.approval_reason


def test_a_manager_approves_and_a_rep_may_not(company):
    Blacklist.objects.create(customer=company.rep_customer, reason="late payer", added_by=None)
    order = _book(company)
    with pytest.raises(PermissionDenied):
        order_approve(actor=company.rep, order_id=order.pk, expected_version=order.version)
    with pytest.raises(StaleOrderError):
        order_approve(actor=company.manager, order_id=order.pk, expected_version=order.version + 1)
    approved = order_approve(actor=company.manager, order_id=order.pk, expected_version=1)
    assert approved.approval == Order.Approval.APPROVED
    assert approved.approved_by == company.manager and approved.approved_at is not None
    assert approved.version == 2
    event = AuditEvent.objects.filter(object_type="order", object_id=order.pk).latest("id")
    assert event.actor == company.manager
    assert event.changes["approval"] == {"before": "pending", "after": "approved"}
    with pytest.raises(ValidationError) as refused:
        order_approve(actor=company.manager, order_id=order.pk, expected_version=2)
    assert "approval" in refused.value.message_dict


def test_approving_through_the_api(company, api_as):
    Blacklist.objects.create(customer=company.rep_customer, reason="late payer", added_by=None)
    order = _book(company)
    url = f"/orders/{order.pk}/approve"
    assert api_as("rep").post(url, {"version": 1}).status_code == 403
    answer = api_as("manager").post(url, {"version": 1})
    assert answer.status_code == 200, answer.content
    assert answer.json()["approval"] == "approved"
    again = api_as("manager").post(url, {"version": 2})
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "approval"


def test_imported_orders_follow_the_same_rule(company, tmp_path):
    from guanxi.customers.models import Customer
    from guanxi.imports.services import import_job_create, import_job_run

    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    Customer.objects.filter(pk=company.teammate_customer.pk).update(external_id="T1")
    Blacklist.objects.create(customer=company.rep_customer, reason="欠款不还", added_by=None)
    _rate(company.teammate_customer, "D")
    path = tmp_path / "orders.csv"
    path.write_text(
        "external_id,customer_external_id,ordered_on,amount\n"
        "A1,K1,2026-03-02,100\nA2,T1,2026-03-02,50\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=company.admin, path=path, filename="orders.csv", kind="orders")
    assert import_job_run(job=job).created == 2
    blacklisted, rated_d = Order.objects.get(external_id="A1"), Order.objects.get(external_id="A2")
    assert blacklisted.approval == rated_d.approval == Order.Approval.PENDING
    assert "欠款不还" in blacklisted.approval_reason and "D" in rated_d.approval_reason
    event = AuditEvent.objects.get(object_type="order", object_id=blacklisted.pk)
    assert event.changes["approval"] == {"before": None, "after": "pending"}
    # Re-importing the same file changes nothing, the approval included.
    job = import_job_create(actor=company.admin, path=path, filename="orders.csv", kind="orders")
    assert (import_job_run(job=job).updated, Order.objects.filter(approval="pending").count()) == (
        2,
        2,
    )
