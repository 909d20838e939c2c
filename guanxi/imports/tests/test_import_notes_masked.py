"""An update by external id from someone who reads a customer's notes with the numbers in them
masked holds the notes column to what they could read, as the edit form and the API do: the
notes sent back as read keep the stored numbers, notes changed around a number shown masked
reject the row naming the notes column, and notes without those numbers are taken."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob, ImportRowError

from .test_customer_import import run_import

pytestmark = pytest.mark.django_db

NOTES = "身份证 11010519491231002X，手机 138 9041 7762。周三下午回电"
AS_READ = "身份证 1****************X，手机 138 **** 7762。周三下午回电"


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.rep, data={"name": "王芳", "external_id": "W-1", "notes": NOTES}
    )


def _import(tmp_path, actor, notes: str) -> ImportJob:
    content = f'external_id,name,industry,notes\nW-1,王芳,Retail,"{notes}"\n'
    job = run_import(tmp_path, content, actor)
    assert job.status == ImportJob.Status.FINISHED
    return job


def test_notes_imported_back_as_read_keep_the_numbers(company, customer, tmp_path):
    assert not company.rep.may_view_sensitive()
    job = _import(tmp_path, company.rep, AS_READ)
    assert (job.updated, job.rejected) == (1, 0)
    customer.refresh_from_db()
    assert (customer.notes, customer.industry) == (NOTES, "Retail")


def test_notes_changed_around_a_masked_number_reject_the_row_naming_the_notes(
    company, customer, tmp_path
):
    job = _import(tmp_path, company.rep, AS_READ.replace("周三", "周四"))
    assert (job.updated, job.rejected) == (0, 1)
    (error,) = ImportRowError.objects.filter(job=job)
    assert error.reason_text.startswith("notes")
    assert "overwrite them with the stars" in error.reason_text
    customer.refresh_from_db()
    assert (customer.notes, customer.industry) == (NOTES, "")


def test_notes_without_the_masked_numbers_are_taken(company, customer, tmp_path):
    job = _import(tmp_path, company.rep, "周三下午回电")
    assert (job.updated, job.rejected) == (1, 0)
    assert Customer.objects.get(pk=customer.pk).notes == "周三下午回电"


def test_whoever_may_see_numbers_imports_the_notes_as_sent(company, customer, tmp_path):
    assert company.manager.may_view_sensitive()
    job = _import(tmp_path, company.manager, AS_READ)
    assert (job.updated, job.rejected) == (1, 0)
    assert Customer.objects.get(pk=customer.pk).notes == AS_READ
