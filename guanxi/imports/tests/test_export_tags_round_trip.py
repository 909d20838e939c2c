"""A tag whose name holds a character the import also splits a cell of tags on ("B2B/B2C",
"华东, 华南") comes back from an export, of either layout, as the one tag it is, instead of as
new tags made of its pieces. Text naming no tag there is split as before."""

import pytest
from django.utils import translation

from guanxi.customers.exports import ExportLayout, customers_export_csv
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

TAGS = ["B2B/B2C", "VIP", "华东, 华南", "展会|2026"]


def _import(actor, path):
    return import_job_run(
        job=import_job_create(actor=actor, path=path, filename=path.name, kind="customers")
    )


def _tags(customer: Customer) -> list[str]:
    return sorted(customer.tags.values_list("name", flat=True))


@pytest.mark.parametrize("layout", ExportLayout.values)
def test_tags_come_back_whole_from_an_export(company, tmp_path, layout):
    customer = customer_create(actor=company.rep, data={"name": "王芳", "tags": TAGS})
    with translation.override("zh-hans"):
        content = customers_export_csv(actor=company.rep, layout=layout, filters={"q": "王芳"})
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = _import(company.rep, path)
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert _tags(customer) == sorted(TAGS)


def test_text_naming_no_tag_is_still_split(company, tmp_path):
    customer_create(actor=company.rep, data={"name": "王芳", "tags": ["B2B/B2C"]})
    path = tmp_path / "new.csv"
    path.write_text('name,tags\n李雷,"B2B/B2C; 新/旧, 老"\n', encoding="utf-8")
    job = _import(company.rep, path)
    assert job.created == 1
    assert _tags(Customer.objects.get(name="李雷")) == sorted(["B2B/B2C", "新", "旧", "老"])
