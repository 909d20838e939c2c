"""A custom field's key is a slug, which may be written like a header of the customer export made
for reading ("Tags", "Industry", "Name"). That export holds no custom fields, so each of its
columns still fills the field it came from: its tags stay tags, rather than going into the custom
field, and its names are still the customers' names."""

import pytest
from django.utils import translation

from guanxi.customers.exports import EXPORT_COLUMNS, ExportLayout, customers_export_csv
from guanxi.customers.exports import export_headers as export_header_row
from guanxi.customers.models import CustomFieldDefinition
from guanxi.customers.services import customer_create
from guanxi.imports.mapping import build_mapping, suggest_mapping
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

KEYS = frozenset({"Name", "Tags", "Industry", "grade"})


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_custom_field_keyed_like_a_readable_header_does_not_take_its_column(language):
    with translation.override(language):
        header = export_header_row(ExportLayout.READABLE)
    built = build_mapping([*header, "grade"], kind="customers", custom_field_keys=KEYS)
    suggested = suggest_mapping([*header, "grade"], kind="customers", custom_field_keys=KEYS)
    by_column = dict(zip(EXPORT_COLUMNS, built.targets, strict=False))
    assert (by_column["name"], by_column["tags"], by_column["industry"]) == (
        "name",
        "tags",
        "industry",
    )
    assert [suggested[name] for name in header] == built.targets[: len(header)]
    # A column headed by a custom field's key that is no header of the export still fills it.
    assert built.targets[-1] == suggested["grade"] == "grade"


def test_a_mapping_still_sends_such_a_header_to_the_custom_field():
    mapping = build_mapping(
        ["name", "Tags"], kind="customers", explicit={"Tags": "Tags"}, custom_field_keys=KEYS
    )
    assert mapping.targets == ["name", "Tags"]


def test_a_readable_export_imports_again_beside_such_custom_fields(company, tmp_path):
    for key in ("Tags", "Industry"):
        CustomFieldDefinition.objects.create(key=key, label=key, field_type="text")
    customer = customer_create(
        actor=company.rep, data={"name": "王芳", "industry": "制造业", "tags": ["VIP"]}
    )
    with translation.override("en"):
        content = customers_export_csv(
            actor=company.rep, layout=ExportLayout.READABLE, filters={"q": "王芳"}
        )
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    job = import_job_run(
        job=import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
    )
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    customer.refresh_from_db()
    assert customer.custom_fields == {}
    assert (customer.industry, list(customer.tags.values_list("name", flat=True))) == (
        "制造业",
        ["VIP"],
    )
