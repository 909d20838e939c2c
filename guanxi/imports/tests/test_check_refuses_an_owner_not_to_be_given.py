"""The check of the first rows refuses a row naming an owner the importer may not give
customers to, as the import itself does, rather than saying it can be imported."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_run

pytestmark = pytest.mark.django_db


def _check(client, content: str, targets: list[str] | None = None) -> str:
    upload = SimpleUploadedFile("owners.csv", content.encode())
    client.post("/imports/new/", {"file": upload, "kind": "customers", "dedup": "auto"})
    job = ImportJob.objects.latest("pk")
    columns = targets or content.splitlines()[0].split(",")
    form = {f"map_{i}": column for i, column in enumerate(columns)} | {"action": "check"}
    return client.post(f"/imports/{job.pk}/mapping/", form).content.decode()


def test_a_new_customer_for_someone_the_rep_may_not_assign_to_is_refused(client, company):
    client.force_login(company.rep)
    report = _check(client, "name,owner\n甲一,manager\n乙二,rep\n")
    assert "2 rows checked: 1 can be imported, 1 would be rejected." in report
    assert "Row 2" in report and "You cannot assign customers to this user." in report

    # The import itself says the same of the same rows.
    job = ImportJob.objects.get()
    job.mapping = {"name": "name", "owner": "owner"}
    job.save(update_fields=["mapping"])
    import_job_run(job=job)
    job.refresh_from_db()
    assert (job.created, job.rejected) == (1, 1)


def test_a_customer_the_rep_may_not_change_is_refused_as_the_import_refuses_it(client, company):
    # Each row names, as its owner, the owner the customer it updates has: a customer the rep
    # may not see (of another team), and one they may see but not change (their teammate's),
    # by its Guanxi id and by its external id; and the rep's own customer in the recycle bin. The
    # import refuses them for their ids; the check said the first three could be imported, and
    # so told whether a customer the rep may not see was rep_b's.
    hidden, shared, binned = company.rep_b_customer, company.teammate_customer, company.rep_customer
    Customer.objects.filter(pk=shared.pk).update(external_id="T1")
    Customer.objects.filter(pk=binned.pk).update(deleted_at=timezone.now())
    client.force_login(company.rep)
    content = (
        "id,external_id,name,owner\n"
        f"{hidden.pk},,{hidden.name},rep_b\n"
        f"{shared.pk},,{shared.name},teammate\n"
        f",T1,{shared.name},teammate\n"
        f"{binned.pk},,{binned.name},teammate\n"
    )
    targets = ["guanxi_id", "external_id", "name", "owner"]
    report = html.unescape(_check(client, content, targets))
    assert "4 rows checked: 0 can be imported, 4 would be rejected." in report

    job = ImportJob.objects.get()
    job.mapping = dict(zip(content.splitlines()[0].split(","), targets, strict=True))
    job.save(update_fields=["mapping"])
    import_job_run(job=job)
    job.refresh_from_db()
    assert job.rejected == 4
    # The check gives each row the reason the import gives it.
    for error in ImportRowError.objects.filter(job=job):
        assert f"Row {error.row_number}: {error.reason_text}</li>" in report
