"""A background XLSX export of the customers changed since a moment (``updated_since``): the
moment is kept with the export while it waits, and the workbook holds the same customers as
the list."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from guanxi.customers.models import Customer, CustomerExportJob
from guanxi.customers.services import customer_create
from guanxi.customers.tasks import run_customer_export_job
from guanxi.customers.tests.views.test_customer_export_background import (  # noqa: F401
    QUEUED_ONLY,
    _data_dir,  # a data directory of the test's own, and every list "long" (autouse)
    _rows,
)

pytestmark = pytest.mark.django_db


def test_an_export_of_the_customers_changed_since_a_moment_is_written_in_the_background(
    api_as, company
):
    rep = api_as("rep")
    recent = [customer_create(actor=company.rep, data={"name": name}) for name in ("李娜", "王芳")]
    Customer.objects.filter(pk=company.rep_customer.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=30)
    )
    since = (timezone.localtime() - dt.timedelta(days=1)).replace(tzinfo=None).isoformat()
    query = {"format": "xlsx", "updated_since": since}
    with override_settings(TASKS=QUEUED_ONLY):
        response = rep.get("/customers/export", query)
        assert response.status_code == 202, response.content
        # Asked again while it waits: the same export, not a second one.
        assert rep.get("/customers/export", query).json()["id"] == response.json()["id"]
    job = CustomerExportJob.objects.get()
    run_customer_export_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == CustomerExportJob.Status.READY, job.message
    listed = {c["id"] for c in rep.get("/customers", {"updated_since": since}).json()["items"]}
    download = rep.get(f"/customers/exports/{job.pk}/file")
    exported = {row["id"] for row in _rows(b"".join(download.streaming_content))}
    assert exported == listed
    assert {c.pk for c in recent} <= exported and company.rep_customer.pk not in exported
