"""The check of the first rows refuses a row naming an owner the importer may not give
customers to, as the import itself does, rather than saying it can be imported."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_run

pytestmark = pytest.mark.django_db


def _check(client, content: str) -> str:
    upload = SimpleUploadedFile("owners.csv", content.encode())
    client.post("/imports/new/", {"file": upload, "kind": "customers", "dedup": "auto"})
    job = ImportJob.objects.latest("pk")
    columns = content.splitlines()[0].split(",")
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
