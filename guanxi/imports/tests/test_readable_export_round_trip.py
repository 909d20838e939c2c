"""A customer export made for reading (its columns' names as headers, its choices named, in the
exporter's language) imported again as it is, by the same user: every row goes back into the
customer it came from, every column into the field it came from, and nothing changes. The
customers below take every choice of every exported column of choices, so each name the export
writes is one the import reads back. One of them has two addresses (the first is exported),
one has one and the rest none."""

import csv
import io
from io import StringIO

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import (
    EXPORT_COLUMNS,
    ExportLayout,
    customers_export_csv,
    customers_export_xlsx,
    readable_header,
)
from guanxi.customers.models import Address, Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

CHOICES = {
    "party_type": Customer.PartyType,
    "kind": Customer.Kind,
    "relationship_level": Customer.RelationshipLevel,
    "lifecycle_stage": Customer.LifecycleStage,
    "source_channel": Customer.SourceChannel,
}


ADDRESSES = [
    {
        "label": "billing",
        "street": "南京西路 1 号",
        "city": "上海",
        "region": "上海市",
        "postcode": "200040",
        "country": "CN",
    },
    {"label": "shipping", "street": "5 Xinhua Rd", "city": "Guangzhou", "region": "Guangdong"},
    {"street": "Unter den Linden 1", "city": "Berlin", "postcode": "10117", "country": "DE"},
]


def _customers_taking_every_choice(rep) -> list[Customer]:
    count = max(len(choices.values) for choices in CHOICES.values())
    made = []
    for number in range(count):
        data = {
            column: choices.values[number % len(choices.values)]
            for column, choices in CHOICES.items()
        }
        made.append(
            customer_create(
                actor=rep,
                data={
                    **data,
                    "name": f"客户{number}",
                    "region": "华东" if number % 2 else "South",
                    "industry": "制造业",
                    "phones": [f"1381234{number:04d}", "021 5555 1234"],
                    "emails": [f"c{number}@example.cn"],
                    "tags": ["VIP", "展会2026"],
                    "id_number": "11010519491231002X" if number == 0 else "",
                    "addresses": ADDRESSES[:2]
                    if number == 0
                    else ADDRESSES[2:]
                    if number == 1
                    else [],
                },
            )
        )
    # A person of one of them, who is exported with the organisation's name as company.
    organisation = next(c for c in made if c.party_type == "organization")
    made.append(
        customer_create(
            actor=rep, data={"name": "张伟", "organization_id": organisation.pk, "kind": "signed"}
        )
    )
    return made


def _export(actor, file_format: str, language: str, **kwargs) -> bytes:
    with translation.override(language):
        if file_format == "csv":
            return customers_export_csv(actor=actor, layout=ExportLayout.READABLE, **kwargs)
        file = customers_export_xlsx(actor=actor, layout=ExportLayout.READABLE, **kwargs)
        try:
            return file.read()
        finally:
            file.close()


def _rows(content: bytes, file_format: str) -> list[list[str]]:
    """The file's rows, header first, as text."""
    if file_format == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [
        ["" if value is None else str(value) for value in row]
        for row in sheet.iter_rows(values_only=True)
    ]


def _snapshot(customers) -> list[tuple]:
    return [
        (
            c.version,
            c.updated_at,
            c.party_type,
            c.kind,
            c.relationship_level,
            c.lifecycle_stage,
            c.source_channel,
            c.region,
            c.organization_id,
            c.company,
            c.id_number_hash,
            sorted(c.phones.values_list("number", flat=True)),
            sorted(c.emails.values_list("address", flat=True)),
            sorted(c.tags.values_list("name", flat=True)),
            list(
                c.addresses.values_list("label", "street", "city", "region", "postcode", "country")
            ),
        )
        for c in Customer.objects.filter(pk__in=[c.pk for c in customers]).order_by("pk")
    ]


def _assert_nothing_changed(job: ImportJob, rows: int) -> None:
    assert job.status == ImportJob.Status.FINISHED
    reasons = list(job.errors.values_list("reason", flat=True))
    assert (job.rows_read, job.created, job.rejected, job.merged) == (rows, 0, 0, 0), reasons
    assert job.updated == job.unchanged == rows


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_readable_export_imports_again_changing_nothing(company, tmp_path, file_format, language):
    rep = company.rep
    # Phones and ID numbers go out masked: rep may not see them in full.
    assert not rep.may_view_sensitive()
    customers = _customers_taking_every_choice(rep)
    before = _snapshot(customers)
    addresses = Address.objects.count()
    audited = AuditEvent.objects.count()
    content = _export(rep, file_format, language, filters={"owner_id": rep.pk})
    header, *rows = _rows(content, file_format)
    with translation.override(language):
        province = header.index(readable_header("region"))
    # The address's province, apart from the sales region (华东 / South) beside it.
    assert {row[province] for row in rows} == {"上海市", ""}
    with translation.override(language):
        region = readable_header("sales_region")
        for column, choices in CHOICES.items():
            position = header.index(readable_header(column))
            names = {str(label) for label in choices.labels}
            # Every choice of the column is written, each as its name, never as its code.
            assert {row[position] for row in rows} - {""} == names, column
    assert region in header and "sales_region" not in header
    if language == "zh-hans":
        assert {"个人或组织", "销售区域", "客户经理（用户名）"} <= set(header)
        assert "伙伴关系" in {cell for row in rows for cell in row}
    assert any("****" in cell for row in rows for cell in row)
    path = tmp_path / f"客户.{file_format}"
    path.write_bytes(content)

    with translation.override(language):
        job = import_job_create(actor=rep, path=path, filename=path.name, kind="customers")
        job = import_job_run(job=job)

    _assert_nothing_changed(job, len(customers) + 1)  # and the fixture's own customer
    assert _snapshot(customers) == before
    assert Address.objects.count() == addresses
    # Only the export and the import are on record: no customer was written.
    assert set(
        AuditEvent.objects.order_by("pk")[audited:].values_list("object_type", flat=True)
    ) <= {"customer_list", "import"}


def test_a_chinese_readable_export_imports_again_from_the_command_line_in_english(
    company, tmp_path
):
    """The header's names are read in both languages whatever the import runs in: the file
    made by a manager reading Chinese is imported by a command running in English."""
    rep = company.rep
    customers = _customers_taking_every_choice(rep)
    before = _snapshot(customers)
    path = tmp_path / "客户导出.xlsx"
    path.write_bytes(_export(rep, "xlsx", "zh-hans", filters={"owner_id": rep.pk}))
    with translation.override("en"):
        call_command(
            "import", "customers", str(path), "--user", "rep", stdout=StringIO(), stderr=StringIO()
        )
    job = ImportJob.objects.get()
    _assert_nothing_changed(job, len(customers) + 1)
    assert _snapshot(customers) == before


def test_an_edited_readable_export_changes_the_fields_its_columns_name(company, tmp_path):
    """A name changed in the file changes the choice it names, and a sales region changed in
    it changes the sales region, not an address's province."""
    rep = company.rep
    customer = customer_create(
        actor=rep, data={"name": "王芳", "kind": "potential", "region": "华东"}
    )
    text = _export(rep, "csv", "en", filters={"q": "王芳"}).decode("utf-8-sig")
    assert ",Potential," in text and ",华东," in text
    text = text.replace(",Potential,", ",Signed,").replace(",华东,", ",华南,")
    path = tmp_path / "edited.csv"
    path.write_text(text, encoding="utf-8")
    with translation.override("zh-hans"):
        job = import_job_create(actor=rep, path=path, filename=path.name, kind="customers")
        job = import_job_run(job=job)
    assert (job.rows_read, job.updated, job.unchanged, job.created) == (1, 1, 0, 0)
    customer.refresh_from_db()
    assert (customer.kind, customer.region) == ("signed", "华南")
    assert not customer.addresses.exists()


@pytest.mark.parametrize("exported_in", ["zh-hans", "en"])
def test_the_web_import_suggests_the_readable_headers_fields_in_either_language(
    client, company, tmp_path, exported_in
):
    rep = company.rep
    _customers_taking_every_choice(rep)
    content = _export(rep, "xlsx", exported_in, filters={"owner_id": rep.pk})
    client.force_login(rep)
    # The page speaks the other language than the file.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en" if exported_in == "zh-hans" else "zh-hans"
    client.post(
        "/imports/new/",
        {
            "file": SimpleUploadedFile("客户.xlsx", content),
            "kind": "customers",
            "dedup": "auto",
        },
    )
    mapping = ImportJob.objects.get().mapping
    with translation.override(exported_in):
        by_column = {column: mapping[readable_header(column)] for column in EXPORT_COLUMNS}
    assert by_column["sales_region"] == "sales_region"
    assert by_column["party_type"] == "party_type"
    assert by_column["id"] == "guanxi_id" and by_column["phones"] == "phone"
    assert by_column["created_at"] is None
    assert {c: t for c, t in by_column.items() if t == c} == {
        c: c
        for c in EXPORT_COLUMNS
        if c not in ("id", "phones", "emails", "created_at", "updated_at")
    }
