"""An order row whose date is a moment that falls outside the calendar once read in the
server's time zone (the last minute of year 9999 at UTC-14 is in year 10000 here; the first of
year 1 at UTC+14 is in year 0) is rejected as no date, like any other date that is none; it
neither ends the check on the mapping page in a server error nor fails the whole import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.imports.models import ImportJob
from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db

MOMENTS = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_row_is_rejected_as_no_date_and_the_others_imported(
    client, company, settings, tmp_path, moment
):
    settings.DATA_DIR = tmp_path / "data"
    customer = company.rep_customer
    content = (
        f"customer_id,ordered_on,amount\n{customer.pk},{moment},5\n{customer.pk},2026-01-02,7\n"
    ).encode()
    client.force_login(company.rep)
    uploaded = client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile("订单.csv", content), "kind": "orders", "dedup": "auto"},
    )
    job = ImportJob.objects.get()
    assert uploaded.status_code == 302
    form = {"map_0": "customer_id", "map_1": "ordered_on", "map_2": "amount"}

    checked = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "check"})
    assert checked.status_code == 200
    assert "2 rows checked: 1 can be imported, 1 would be rejected." in checked.content.decode()

    started = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "start"})
    assert started.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and (job.created, job.rejected) == (1, 1)
    assert list(Order.objects.filter(customer=customer).values_list("amount", flat=True)) == [7]
    errors = client.get(f"/imports/{job.pk}/errors.csv").content.decode("utf-8-sig")
    assert moment in errors and "not a date" in errors
