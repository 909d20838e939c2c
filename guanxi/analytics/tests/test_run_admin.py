"""The admin site only shows analytics runs. A run holds every customer's stored value (tier,
lifecycle stage, credit rating), which the customer page shows and which decides whether a new
order waits for a manager; deleting one there would take those from every customer at once with
no row in any customer's history. The refresh keeps the last few runs and removes older ones."""

import datetime as dt

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from guanxi.analytics.models import AnalyticsRun, CustomerValue
from guanxi.orders.services import approval_reason_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def current_run(company):
    run = AnalyticsRun.objects.create(
        as_of=dt.date(2026, 3, 1), status=AnalyticsRun.Status.SUCCEEDED, is_current=True
    )
    CustomerValue.objects.create(
        run=run, customer=company.rep_customer, pareto_tier="gold", credit_rating="D"
    )
    return run


def test_the_admin_site_cannot_delete_a_run(superuser_client, company, current_run):
    assert approval_reason_for(company.rep_customer.pk) == "Credit rating D"
    delete = reverse("admin:analytics_analyticsrun_delete", args=[current_run.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:analytics_analyticsrun_changelist")
    superuser_client.post(
        changelist,
        {
            "action": "delete_selected",
            helpers.ACTION_CHECKBOX_NAME: [current_run.pk],
            "post": "yes",
        },
    )
    assert AnalyticsRun.objects.filter(pk=current_run.pk, is_current=True).exists()
    assert CustomerValue.objects.filter(run=current_run).count() == 1
    assert approval_reason_for(company.rep_customer.pk) == "Credit rating D"
    # Still listed and opened to be read.
    assert superuser_client.get(changelist).status_code == 200
    page = reverse("admin:analytics_analyticsrun_change", args=[current_run.pk])
    assert superuser_client.get(page).status_code == 200
