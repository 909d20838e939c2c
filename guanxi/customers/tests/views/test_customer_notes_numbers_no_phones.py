"""Numbers in a customer's notes that are no phone numbers (ranges of years or of round
amounts, amounts after a currency word) read as typed to whoever sees numbers masked, so their
edits to the rest of the notes are taken, not refused as if they would write stars over a
hidden number."""

import pytest
from django.test import Client

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

from .phone_edits import api_headers, api_patch

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "notes",
    [
        "合作 2019-2023，周三下午回电",
        "每月销量 3000-5000，周三下午回电",
        "营业时间 2000-2200，周三下午回电",
        "员工 800-1200，周三下午回电",
        "报价 RMB 8765 4321，周三下午回电",
        "预付 人民币 2345 6789，周三下午回电",
    ],
)
def test_an_edit_beside_a_number_that_is_no_phone_is_taken(company, notes):
    assert not company.rep.may_view_sensitive()
    customer = customer_create(actor=company.rep, data={"name": "王芳", "notes": notes})
    headers = api_headers(company.rep)
    client = Client()
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    edited = read["notes"].replace("周三", "周四")
    answer = api_patch(client, customer, {"version": read["version"], "notes": edited}, headers)
    assert answer.status_code == 200, answer.content
    assert read["notes"] == notes
    assert Customer.objects.get(pk=customer.pk).notes == edited
