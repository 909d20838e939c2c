"""A customer export imported again, as it is: its header row is the import's field keys (the
names in the user's language are notes on the header cells), so every row goes back into the
customer it came from and every column into the field it came from."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import load_workbook

from guanxi.audit.models import AuditEvent
from guanxi.core.crypto import lookup_hash
from guanxi.customers.exports import customers_export_csv, customers_export_xlsx
from guanxi.customers.models import Address, Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

from .test_customer_import import run_import

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
    # Guanxi's own id is its own field, not taken for the external id, which has its own column.
    assert mapping["id"] == "guanxi_id" and mapping["external_id"] == "external_id"
    assert mapping["sales_region"] == "sales_region"
    assert (mapping["phones"], mapping["emails"]) == ("phone", "email")


# An export made without full numbers (the only kind for whoever may not see them in full) shows
# phones and ID numbers masked: imported again, each row goes back into its customer, whose
# numbers stay as they are, instead of being refused for a phone "+86 138 **** 0001" that is not
# a number.


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_export_with_masked_numbers_imports_again_into_the_same_customers(
    company, tmp_path, file_format, language
):
    rep = company.rep
    assert not rep.may_view_sensitive()
    zhang = customer_create(
        actor=rep,
        data={
            "name": "张伟",
            "external_id": "R1",
            "phones": ["13812340001", "02112345678"],
            "id_number": "11010519491231002X",
            "addresses": [
                {"label": "billing", "street": "南京西路 1 号", "city": "上海", "region": "上海市"},
                {"street": "5 Xinhua Rd", "city": "Guangzhou", "postcode": "510000"},
            ],
        },
    )
    # The fixture's customer has no address: its address cells are empty.
    assert not company.rep_customer.addresses.exists()
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="R0")
    addresses = list(Address.objects.values_list())
    audited = AuditEvent.objects.count()
    filters = {"owner_id": rep.pk}
    with translation.override(language):
        if file_format == "xlsx":
            file = customers_export_xlsx(actor=rep, filters=filters)
            content = file.read()
            file.close()
        else:
            content = customers_export_csv(actor=rep, filters=filters)
    assert "****" in _cells_of(content, file_format)
    assert "南京西路 1 号" in _cells_of(content, file_format)
    assert "Xinhua" not in _cells_of(content, file_format)  # the first address only
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(content)
    with translation.override(language):
        job = import_job_create(actor=rep, path=path, filename=path.name, kind="customers")
        job = import_job_run(job=job)
    assert job.status == ImportJob.Status.FINISHED
    assert (job.created, job.rejected, job.merged) == (0, 0, 0), list(
        job.errors.values_list("reason", flat=True)
    )
    assert (
        job.updated == job.unchanged == job.rows_read == Customer.objects.filter(owner=rep).count()
    )
    # Every address as it was, none added, and no customer written.
    assert list(Address.objects.values_list()) == addresses
    assert set(
        AuditEvent.objects.order_by("pk")[audited:].values_list("object_type", flat=True)
    ) <= {"customer_list", "import"}
    zhang.refresh_from_db()
    assert sorted(zhang.phones.values_list("number", flat=True)) == [
        "+8613812340001",
        "+862112345678",
    ]
    assert zhang.id_number_hash == lookup_hash("11010519491231002X")


@pytest.mark.parametrize(
    "masked",
    [
        "1****************X",  # as ID numbers are masked now
        "1101**********002X",  # as they were masked before: such an export still imports
        "110105**********2X",  # any other masking of it
    ],
)
def test_a_masked_id_number_in_any_format_leaves_the_customers_number_as_it_is(
    company, tmp_path, masked
):
    rep = company.rep
    zhang = customer_create(
        actor=rep, data={"name": "张伟", "external_id": "R1", "id_number": "11010519491231002X"}
    )
    job = run_import(tmp_path, f"external_id,name,id_number\nR1,张伟,{masked}\n", rep)
    assert (job.created, job.updated, job.rejected) == (0, 1, 0), list(
        job.errors.values_list("reason", flat=True)
    )
    zhang.refresh_from_db()
    assert zhang.id_number_hash == lookup_hash("11010519491231002X")
    assert zhang.id_number_masked == "1****************X"


def test_a_masked_number_without_an_external_id_is_still_refused(company, tmp_path):
    # Such a row is matched as a duplicate on what it says: without its number it could be
    # taken for a new customer.
    job = run_import(tmp_path, "name,phone\n张伟,+86 138 **** 0001\n", company.rep)
    assert (job.created, job.rejected) == (0, 1)


def _cells_of(content: bytes, file_format: str) -> str:
    if file_format == "csv":
        return content.decode("utf-8-sig")
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return " ".join(
        str(value) for row in workbook.active.iter_rows(values_only=True) for value in row
    )


def test_a_customer_without_an_account_manager_is_not_taken_by_who_imports_it_again(
    company, tmp_path
):
    unowned = company.unowned_customer
    Customer.objects.filter(pk=unowned.pk).update(external_id="P1")
    content = customers_export_csv(actor=company.admin, filters={"unowned": True})
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    job = import_job_run(job=job)
    # Its owner cell is blank as exported: the customer stays in the pool, unchanged.
    assert (job.rows_read, job.updated, job.unchanged) == (1, 1, 1)
    unowned.refresh_from_db()
    assert unowned.owner_id is None


def test_a_person_of_an_organisation_imported_again_gets_no_company_of_their_own(company, tmp_path):
    organisation = customer_create(
        actor=company.admin,
        data={"name": "华瑞科技", "party_type": "organization", "external_id": "O1"},
    )
    person = customer_create(
        actor=company.admin,
        data={"name": "张伟", "external_id": "R1", "organization_id": organisation.pk},
    )
    content = customers_export_csv(actor=company.admin, filters={"q": "华瑞科技"})
    assert "R1,person,张伟,华瑞科技" in content.decode("utf-8-sig")
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    job = import_job_run(job=job)
    # The company column shows the person's organisation: nothing to change.
    assert job.rows_read == job.unchanged == 2
    person.refresh_from_db()
    assert (person.company, person.organization_id, person.version) == ("", organisation.pk, 1)


# An export's address cells edited and imported again go through the import as any other file's:
# an address the customer does not have (compared on street, city, province and postcode) is
# added beside its own, which stay as they are; nothing is corrected or removed.


def _exported_csv_rows(actor, **filters) -> list[dict[str, str]]:
    content = customers_export_csv(actor=actor, filters=filters).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))


def _import_rows(tmp_path, rows: list[dict[str, str]], actor, name: str) -> ImportJob:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    job = import_job_create(actor=actor, path=path, filename=name, kind="customers")
    return import_job_run(job=job)


def test_an_edited_address_is_added_beside_the_customers_own_which_the_export_still_shows(
    company, tmp_path
):
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "王芳",
            "addresses": [
                {"label": "billing", "street": "南京西路 1 号", "city": "上海", "region": "上海市"}
            ],
        },
    )
    [row] = _exported_csv_rows(company.rep, q="王芳")
    # Saved without a country, as the form allows.
    assert (row["address"], row["city"], row["region"], row["country"]) == (
        "南京西路 1 号",
        "上海",
        "上海市",
        "",
    )
    row["address"] = "南京西路 2 号"
    job = _import_rows(tmp_path, [row], company.rep, "edited.csv")
    assert (job.rows_read, job.updated, job.unchanged, job.created) == (1, 1, 0, 0)
    # Added with the import's label and, for the empty country cell, the import's country.
    assert list(customer.addresses.values_list("label", "street", "city", "region", "country")) == [
        ("billing", "南京西路 1 号", "上海", "上海市", ""),
        ("office", "南京西路 2 号", "上海", "上海市", "CN"),
    ]
    event = AuditEvent.objects.filter(object_type="customer", object_id=customer.pk).latest("pk")
    assert event.action == AuditEvent.Action.UPDATE and "addresses" in event.changes
    # The export still shows the first address, the one that was there before.
    [again] = _exported_csv_rows(company.rep, q="王芳")
    assert again["address"] == "南京西路 1 号"

    # A country changed alone, or address cells emptied, change nothing.
    changed_country = {**again, "country": "HK"}
    emptied = {**again, **dict.fromkeys(("address", "city", "region", "postcode", "country"), "")}
    for number, edited in enumerate((changed_country, emptied)):
        job = _import_rows(tmp_path, [edited], company.rep, f"edited{number}.csv")
        assert (job.rows_read, job.updated, job.unchanged) == (1, 1, 1)
    assert list(customer.addresses.values_list("street", "country")) == [
        ("南京西路 1 号", ""),
        ("南京西路 2 号", "CN"),
    ]
