"""Internal accounts (customers of kind "internal") are the company's own: their owners get no
churn warnings or follow-ups for them, while their figures, tiers included, are worked out as
for everyone else."""

import datetime as dt

from django.utils import timezone

from guanxi.analytics.models import ChurnFollowUp, CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.selectors import follow_ups_for_user
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.service import services


def _ago(days: int, as_of: dt.date = AS_OF) -> dt.date:
    return as_of - dt.timedelta(days=days)


def _value(run, customer) -> CustomerValue:
    return CustomerValue.objects.get(run=run, customer=customer)


def _make_internal(customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(kind=Customer.Kind.INTERNAL)


def test_an_internal_account_that_stopped_buying_is_not_warned_about(company):
    # Both bought every 30 days until 340 days ago: far past 1.5 × their 30-day gap.
    for customer in (company.rep_customer, company.teammate_customer):
        for days in (400, 370, 340):
            book(customer, _ago(days), "100.00", margin="30")
    _make_internal(company.rep_customer)
    run = analytics_refresh(as_of=AS_OF)

    internal = _value(run, company.rep_customer)
    assert not internal.churn_flag and internal.churn_reason == ""
    assert internal.value_at_risk == 0
    assert not ChurnFollowUp.objects.filter(customer=company.rep_customer).exists()
    # Its figures are still there, tier and segment included.
    assert internal.purchase_days == 3 and internal.recency_days == 340
    assert internal.pareto_tier != "" and internal.rfm_segment != ""

    paying = _value(run, company.teammate_customer)
    assert paying.churn_reason == "overdue"
    assert ChurnFollowUp.objects.get(customer=company.teammate_customer).reason == "overdue"
    assert run.figures["churn_warnings"] == 1


def test_complaints_from_an_internal_account_raise_no_warning(company):
    today = timezone.localdate()
    for customer in (company.rep_customer, company.teammate_customer):
        services.ticket_create(
            actor=company.agent,
            customer_id=customer.pk,
            data={"type": "complaint", "subject": "投诉"},
        )
    _make_internal(company.rep_customer)
    run = analytics_refresh(as_of=today)

    assert not _value(run, company.rep_customer).churn_flag
    assert not ChurnFollowUp.objects.filter(customer=company.rep_customer).exists()
    assert _value(run, company.teammate_customer).churn_reason == "complaints"


def test_a_warning_clears_on_the_next_refresh_once_the_customer_is_internal(company):
    for days in (400, 370, 340):
        book(company.rep_customer, _ago(days), "100.00", margin="30")
    first = analytics_refresh(as_of=AS_OF)
    assert _value(first, company.rep_customer).churn_reason == "overdue"

    _make_internal(company.rep_customer)
    second = analytics_refresh(as_of=AS_OF)
    assert not _value(second, company.rep_customer).churn_flag
    assert second.figures["churn_warnings"] == 0
    assert second.figures["churn_follow_ups_created"] == 0


def test_an_open_follow_up_closes_on_the_next_refresh_once_the_customer_is_internal(company):
    # Both stopped buying and were warned about, with a follow-up for their owners.
    for customer in (company.rep_customer, company.teammate_customer):
        for days in (400, 370, 340):
            book(customer, _ago(days), "100.00", margin="30")
    analytics_refresh(as_of=AS_OF)
    internal = ChurnFollowUp.objects.get(customer=company.rep_customer)
    paying = ChurnFollowUp.objects.get(customer=company.teammate_customer)

    _make_internal(company.rep_customer)
    second = analytics_refresh(as_of=AS_OF)
    # No owner is left with a task about the company's own account; the paying customer's
    # follow-up stays open until its owner is done with it.
    internal.refresh_from_db()
    paying.refresh_from_db()
    assert internal.done_at is not None and paying.done_at is None
    assert [f.pk for f in follow_ups_for_user(company.rep)] == [paying.pk]
    assert second.figures["churn_follow_ups_closed"] == 1
    closed = AuditEvent.objects.get(
        object_type="churn_follow_up", object_id=internal.pk, action=AuditEvent.Action.UPDATE
    )
    assert closed.actor is None and closed.customer_id == company.rep_customer.pk
    assert closed.changes["done_at"]["before"] is None

    # Once closed, the next refresh has nothing more to close.
    third = analytics_refresh(as_of=AS_OF)
    assert third.figures["churn_follow_ups_closed"] == 0
