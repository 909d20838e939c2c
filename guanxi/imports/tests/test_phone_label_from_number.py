"""An imported number has no label to choose: it is labelled by what it is, a fixed line
(021 5555 1234) as a work number and a mobile number as a mobile one, as on the form."""

import pytest

from guanxi.customers.models import Customer

from .test_customer_import import run_import

pytestmark = pytest.mark.django_db


def test_imported_numbers_are_labelled_by_what_they_are(tmp_path, company):
    job = run_import(
        tmp_path,
        "name,phone\n申华贸易有限公司,021 5555 1234;139 0000 1111\n",
        company.rep,
    )
    assert (job.created, job.rejected) == (1, 0)
    customer = Customer.objects.get(name="申华贸易有限公司")
    assert dict(customer.phones.values_list("number", "label")) == {
        "+862155551234": "work",
        "+8613900001111": "mobile",
    }
