"""A customer export imported again, as it is: its header row is the import's field keys (the
names in the user's language are notes on the header cells), so every row goes back into the
customer it came from and every column into the field it came from."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from guanxi.customers.exports import customers_export_xlsx
from guanxi.customers.models import Address, Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def _exported_workbook(company, tmp_path):
    customer_create(
        actor=company.admin,
        data={
            "name": "张伟",
            "external_id": "R1",
            "region": "华东",
            "kind": "signed",
            "phones": ["13812340001"],
            "emails": ["zhang@example.cn"],
            "tags": ["VIP"],
        },
    )
    for customer in Customer.objects.filter(external_id__isnull=True):
        customer.external_id = f"X{customer.pk}"
        customer.save(update_fields=["external_id"])
    with translation.override("zh-hans"):
        file = customers_export_xlsx(actor=company.admin, reveal=True)
    path = tmp_path / "客户导出.xlsx"
    path.write_bytes(file.read())
    file.close()
    return path


def test_an_exported_workbook_imports_again_into_the_same_customers_and_fields(company, tmp_path):
    path = _exported_workbook(company, tmp_path)
    customers = Customer.objects.count()
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    job = import_job_run(job=job)
    assert (job.rows_read, job.created, job.rejected) == (customers, 0, 0)
    assert Customer.objects.count() == customers
    zhang = Customer.objects.get(external_id="R1")
    # The sales region stays the sales region: it is not taken for an address's province.
    assert (zhang.region, zhang.kind) == ("华东", "signed")
    assert not Address.objects.filter(customer=zhang).exists()
    assert list(zhang.phones.values_list("number", flat=True)) == ["+8613812340001"]
    assert list(zhang.tags.values_list("name", flat=True)) == ["VIP"]


def test_the_web_import_maps_an_exported_workbook_by_its_own_keys(client, company, tmp_path):
    path = _exported_workbook(company, tmp_path)
    client.force_login(company.admin)
    client.post(
        "/imports/new/",
        {
            "file": SimpleUploadedFile(path.name, path.read_bytes()),
            "kind": "customers",
            "dedup": "auto",
        },
    )
    mapping = ImportJob.objects.get().mapping
    # Guanxi's own id is not taken for the external id, which has its own column.
    assert mapping["id"] is None and mapping["external_id"] == "external_id"
    assert mapping["sales_region"] == "sales_region"
    assert (mapping["phones"], mapping["emails"]) == ("phone", "email")
