"""The forms and the imports agree with the API (``api/tests/test_odd_values_api.py``): a date
in year 1 (another program's empty date) for an order or a custom date field is refused on the
field or the column that holds it, and an ID number typed in full-width digits (a Chinese input
method) is stored as the number it is."""

import pytest

from guanxi.core.crypto import lookup_hash
from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in ID_NUMBER)  # １１０１…Ｘ


def _import(tmp_path, actor, kind: str, content: str) -> ImportJob:
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    job = import_job_create(actor=actor, path=path, filename=path.name, kind=kind)
    return import_job_run(job=job)


@pytest.fixture
def signed_on(db):
    return CustomFieldDefinition.objects.create(
        key="signed_on", label="Signed on", field_type="date"
    )


def test_the_order_form_refuses_year_1_on_its_date(client, company):
    client.force_login(company.rep)
    url = f"/orders/new/{company.rep_customer.pk}/"
    form = {"ordered_on": "0001-01-01", "amount": "88", "currency": "CNY", "channel": "store"}
    response = client.post(url, {**form, "status": "paid"})
    assert response.status_code == 422
    assert response.context["form"].errors["ordered_on"]
    assert not Order.objects.exists()
    assert (
        client.post(url, {**form, "ordered_on": "2026-01-02", "status": "paid"}).status_code == 302
    )


def test_the_order_import_refuses_year_1_naming_the_column(company, tmp_path):
    customer = company.rep_customer
    job = _import(
        tmp_path,
        company.rep,
        "orders",
        f"customer_id,ordered_on,amount\n{customer.pk},0001-01-01,5\n{customer.pk},2026-01-02,7\n",
    )
    assert (job.created, job.rejected) == (1, 1)
    (error,) = job.errors.all()
    assert "ordered_on" in error.reason and "1900" in error.reason
    assert list(Order.objects.values_list("amount", flat=True)) == [7]


def test_a_custom_date_in_year_1_is_refused_on_the_form_and_in_the_import(
    client, company, signed_on, tmp_path
):
    client.force_login(company.rep)
    customer = company.rep_customer
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {"version": form.version, **form.scalars, "custom_signed_on": "0001-01-01"},
    )
    assert response.status_code == 422
    assert response.context["form"].errors["custom_signed_on"]
    job = _import(
        tmp_path, company.rep, "customers", "name,signed_on\n王芳,0001-01-01\n李雷,1998-07-01\n"
    )
    assert (job.created, job.rejected) == (1, 1)
    (error,) = job.errors.all()
    assert "signed_on" in error.reason and "1900" in error.reason
    assert Customer.objects.get(name="李雷").custom_fields == {"signed_on": "1998-07-01"}


def test_a_full_width_id_number_is_stored_as_the_number_it_is(client, company, tmp_path):
    client.force_login(company.manager)
    customer = company.unowned_customer
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {"version": form.version, **form.scalars, "id_number": FULL_WIDTH},
    )
    assert response.status_code == 302, response.content.decode()
    customer.refresh_from_db()
    assert customer.id_number_hash == lookup_hash(ID_NUMBER)
    job = _import(tmp_path, company.manager, "customers", f"name,id_number\n刘洋,{FULL_WIDTH}\n")
    assert (job.created, job.rejected) == (1, 0)
    assert Customer.objects.get(name="刘洋").id_number_hash == lookup_hash(ID_NUMBER)
