"""Importing customers applies the rules every other way in applies: values fit their columns,
only people belong to organisations (which may come earlier in the same file), and merging
rows of one file keeps what they say, so that importing the file again changes nothing."""

import pytest

from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def run_import(tmp_path, content, actor, *, name="customers.csv", batch_size=None, **options):
    path = tmp_path / name
    path.write_bytes(content.encode())
    job = import_job_create(actor=actor, path=path, filename=name, kind="customers", **options)
    return import_job_run(job=job, batch_size=batch_size)


def reasons(job: ImportJob) -> list[str]:
    return list(
        ImportRowError.objects.filter(job=job)
        .order_by("row_number")
        .values_list("reason", flat=True)
    )


# --- values longer than their column ------------------------------------------------------


def test_a_website_longer_than_its_column_is_rejected_naming_the_column(company, tmp_path):
    url = "https://example.com/" + "a" * 250  # a valid address, but the column holds 200
    job = run_import(tmp_path, f"name,website\n张伟,{url}\n", company.rep)
    assert (job.created, job.rejected) == (0, 1)
    assert reasons(job) == ["website: at most 200 characters"]


def test_an_email_longer_than_its_column_is_rejected_naming_the_column(company, tmp_path):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # valid, 312 characters
    job = run_import(tmp_path, f"name,email\n张伟,{email}\n", company.rep)
    assert (job.created, job.rejected) == (0, 1)
    assert reasons(job) == ["email: At most 254 characters."]


def test_a_phone_too_long_to_keep_written_out_is_rejected_naming_the_column(company, tmp_path):
    # Its extension makes "+86 10 8765 4321 ext. 12345678901234567890": 42 characters.
    job = run_import(
        tmp_path, "name,phone\n张伟,010-8765 4321 ext 12345678901234567890\n", company.rep
    )
    assert (job.created, job.rejected) == (0, 1)
    assert reasons(job)[0].startswith("phone:") and "at most 40" in reasons(job)[0]


# --- rows of one file merged together -----------------------------------------------------


def test_a_customer_created_by_the_file_takes_the_external_id_of_a_row_merged_into_it(
    company, tmp_path
):
    content = (
        "external_id,name,phone,email\n"
        ",张伟,13812345678,zw@example.com\n"
        "X1,张伟,13812345678,zw@example.com\n"  # the same customer, merged into the first
        "X2,张伟,13812345678,zw@example.com\n"  # the first external id stays
    )
    first = run_import(tmp_path, content, company.rep)
    assert (first.created, first.merged) == (1, 2)
    customer = Customer.objects.get(name="张伟")
    assert customer.external_id == "X1"
    assert "x1" in customer.search_text.casefold()
    version = customer.version
    again = run_import(tmp_path, content, company.rep)
    customer.refresh_from_db()
    assert (again.created, again.rejected, again.unchanged) == (0, 0, 3)
    assert customer.version == version and customer.external_id == "X1"
