"""A customer restored to the unowned pool (its account manager left while it was in the
recycle bin) has nobody to do its open churn follow-ups. A deactivation closes the leaver's now,
but one from before that, or held by someone else, came back open, held by someone who has
left or does not own the customer: the restore closes it, on record, as a reassignment to the
pool does."""

import pytest
from django.utils import timezone

from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_restore

pytestmark = pytest.mark.django_db


def test_a_restore_to_the_pool_closes_the_open_follow_ups(company):
    customer = company.rep_customer
    follow_up = ChurnFollowUp.objects.create(customer=customer, owner=company.rep, reason="overdue")
    type(customer).objects.filter(pk=customer.pk).update(deleted_at=timezone.now())
    # Left before a deactivation closed follow-ups on customers in the recycle bin.
    type(company.rep).objects.filter(pk=company.rep.pk).update(is_active=False)

    customer_restore(actor=company.admin, customer_id=customer.pk)

    follow_up.refresh_from_db()
    assert follow_up.done_at is not None
    event = AuditEvent.objects.get(object_type="churn_follow_up", object_id=follow_up.pk)
    assert (event.actor, event.customer_id) == (company.admin, customer.pk)


def test_a_restore_to_its_account_manager_keeps_them(company):
    customer = company.rep_customer
    follow_up = ChurnFollowUp.objects.create(customer=customer, owner=company.rep, reason="overdue")
    type(customer).objects.filter(pk=customer.pk).update(deleted_at=timezone.now())

    customer_restore(actor=company.admin, customer_id=customer.pk)

    follow_up.refresh_from_db()
    assert (follow_up.owner, follow_up.done_at) == (company.rep, None)
