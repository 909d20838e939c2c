"""A customer's stored address comes back from its export as the address it already has, even
where the export cannot show it exactly: spaces at the ends of a part (which the import trims)
and control characters (which a workbook cannot hold, and shows as "\ufffd"). Imported again
unchanged, the export adds no second address."""

import pytest
from django.utils import translation

from guanxi.customers.exports import ExportLayout, customers_export_csv, customers_export_xlsx
from guanxi.customers.models import Address
from guanxi.customers.services import customer_create
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

# As an address can be stored by older versions, or typed with a tab or a stray control
# character pasted in: the write checks of today keep none of them out of a stored row.
STORED = {
    "street": "  南京西路 1 号\x01 ",
    "city": "上海\x0b",
    "region": " 上海市",
    "postcode": "200040\t",
}


def _export(actor, export_format, layout) -> bytes:
    with translation.override("zh-hans"):
        if export_format == "csv":
            return customers_export_csv(actor=actor, layout=layout, filters={"q": "王芳"})
        file = customers_export_xlsx(actor=actor, layout=layout, filters={"q": "王芳"})
        try:
            return file.read()
        finally:
            file.close()


@pytest.mark.parametrize("layout", ExportLayout.values)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_unchanged_export_adds_no_second_address(company, tmp_path, export_format, layout):
    customer = customer_create(
        actor=company.rep,
        data={"name": "王芳", "addresses": [{"street": "南京西路 1 号", "city": "上海"}]},
    )
    Address.objects.filter(customer=customer).update(**STORED)
    path = tmp_path / f"customers.{export_format}"
    path.write_bytes(_export(company.rep, export_format, layout))
    job = import_job_run(
        job=import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
    )
    assert (job.rows_read, job.unchanged, job.rejected) == (1, 1, 0)
    assert list(customer.addresses.values_list(*STORED)) == [tuple(STORED.values())]
