"""The admin site only shows churn follow-ups: closing one goes through the audited service,
and the refresh is what opens them, so nobody closes, reopens, hands over or deletes one there
without a row in the customer's history."""

import pytest
from django.urls import reverse

from guanxi.analytics.models import ChurnFollowUp

pytestmark = pytest.mark.django_db


def test_the_admin_site_cannot_change_or_delete_a_follow_up(superuser_client, company):
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.rep, reason="overdue", value_at_risk=100
    )
    change = reverse("admin:analytics_churnfollowup_change", args=[follow_up.pk])
    superuser_client.post(
        change,
        {
            "customer": company.rep_customer.pk,
            "owner": company.rep_west.pk,
            "reason": "overdue",
            "value_at_risk": "0",
            "done_at_0": "2026-01-01",
            "done_at_1": "10:00:00",
        },
    )
    delete = reverse("admin:analytics_churnfollowup_delete", args=[follow_up.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    follow_up.refresh_from_db()
    assert follow_up.owner == company.rep and follow_up.done_at is None
    assert superuser_client.get(reverse("admin:analytics_churnfollowup_add")).status_code == 403
