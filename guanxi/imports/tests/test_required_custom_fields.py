"""A required custom field binds new customers only. A file that updates customers (an export
imported back, which carries no custom fields, or rows keyed by their external id) keeps what
each customer has; a row that would make a new customer without it is refused, naming it."""

import pytest
from django.utils import translation

from guanxi.customers.exports import customers_export_csv
from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.customers.services import customer_create
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def run(actor, path, **options):
    return import_job_run(
        job=import_job_create(
            actor=actor, path=path, filename=path.name, kind="customers", **options
        )
    )


@pytest.fixture
def contract_no(db):
    return CustomFieldDefinition.objects.create(
        key="contract_no", label="Contract number", field_type="text", required=True
    )


def test_an_export_imports_back_although_it_carries_no_custom_fields(company, tmp_path):
    customer = customer_create(actor=company.rep, data={"name": "王芳"})
    # The field is made required after the customer exists, as a company adds one later.
    CustomFieldDefinition.objects.create(
        key="contract_no", label="Contract number", field_type="text", required=True
    )
    with translation.override("en"):
        content = customers_export_csv(actor=company.rep, filters={"q": "王芳"})
    assert b"contract_no" not in content
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = run(company.rep, path)
    assert (job.rows_read, job.updated, job.unchanged, job.rejected) == (1, 1, 1, 0)
    customer.refresh_from_db()
    assert customer.custom_fields == {}


def test_a_row_keyed_by_an_existing_external_id_updates_without_it(company, contract_no, tmp_path):
    customer = customer_create(
        actor=company.rep,
        data={"name": "李雷", "external_id": "ERP-1", "custom_fields": {"contract_no": "C-9"}},
    )
    path = tmp_path / "update.csv"
    path.write_text("external_id,name,city\nERP-1,李雷,杭州\n", encoding="utf-8")
    job = run(company.rep, path)
    assert (job.rows_read, job.updated, job.rejected) == (1, 1, 0)
    customer.refresh_from_db()
    assert customer.custom_fields == {"contract_no": "C-9"}


def test_a_new_customer_without_it_is_refused_naming_the_column(company, contract_no, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(
        "external_id,name,contract_no\nN-1,韩梅梅,\nN-2,张伟,C-2\n,赵敏,\n", encoding="utf-8"
    )
    job = run(company.rep, path)
    assert (job.rows_read, job.created, job.rejected) == (3, 1, 2)
    assert job.created + job.updated + job.merged + job.rejected == job.rows_read
    reasons = {error.row_number: error.reason for error in job.errors.all()}
    assert sorted(reasons) == [2, 4]
    assert all("contract_no" in reason and "required" in reason for reason in reasons.values())
    created = Customer.objects.get(external_id="N-2")
    assert created.custom_fields == {"contract_no": "C-2"}
    assert not Customer.objects.filter(name__in=["韩梅梅", "赵敏"]).exists()


def test_a_later_row_of_the_same_new_customer_may_fill_it(company, contract_no, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text(
        "external_id,name,contract_no,city\nN-7,周杰,,\nN-7,周杰,C-7,上海\n", encoding="utf-8"
    )
    job = run(company.rep, path)
    assert (job.rows_read, job.created, job.updated, job.rejected) == (2, 1, 1, 0)
    created = Customer.objects.get(external_id="N-7")
    assert created.custom_fields == {"contract_no": "C-7"}


def test_a_leader_refused_takes_the_rows_that_follow_it(company, contract_no, tmp_path):
    path = tmp_path / "follow.csv"
    path.write_text(
        "external_id,name,contract_no,city\nN-8,吴磊,,\nN-8,吴磊,,上海\n", encoding="utf-8"
    )
    job = run(company.rep, path)
    assert (job.rows_read, job.created, job.updated, job.rejected) == (2, 0, 0, 2)
    assert not Customer.objects.filter(external_id="N-8").exists()
