"""A number saved without a label chosen is labelled by what it is: a fixed line (021 5555 1234)
as a work number, a mobile number as a mobile one, on the form and in the API alike (the
importer, which reads numbers through the same checks, is tested with the imports). A label
the user chose is kept whatever the number."""

import json
import re

import pytest

from guanxi.customers.models import Customer

from .phone_edits import NO_ADDRESS, api_headers
from .test_customer_pages import _customer_form

pytestmark = pytest.mark.django_db

LANDLINE, MOBILE = "021 5555 1234", "139 0000 1111"


def _labels(name: str) -> dict[str, str]:
    customer = Customer.objects.get(name=name)
    return dict(customer.phones.values_list("number", "label"))


def test_the_new_form_leaves_the_label_to_the_number_until_one_is_chosen(client, company):
    client.force_login(company.rep)
    html = client.get("/customers/new/").content.decode()
    select = re.search(r'<select name="phone_label".*?</select>', html, re.S).group(0)
    assert re.search(r'<option value="" selected>', select), select
    # Nothing was chosen for either number; the third row's label was.
    data = _customer_form(
        party_type="organization",
        name="申华贸易有限公司",
        owner_id=str(company.rep.pk),
        phone_number=[LANDLINE, MOBILE, "010 6234 5678"],
        phone_label=["", "", "mobile"],
        **NO_ADDRESS,
    )
    response = client.post("/customers/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _labels("申华贸易有限公司") == {
        "+862155551234": "work",
        "+8613900001111": "mobile",
        "+861062345678": "mobile",
    }


def test_the_api_labels_a_number_sent_without_one_by_what_it_is(client, company):
    response = client.post(
        "/api/v1/customers",
        data=json.dumps(
            {
                "party_type": "organization",
                "name": "申华贸易有限公司",
                "phones": [
                    LANDLINE,
                    {"number": MOBILE},
                    {"number": "010 6234 5678", "label": "home"},
                    {"number": "+44 20 7946 0958"},
                ],
            }
        ),
        content_type="application/json",
        **api_headers(company.rep),
    )
    assert response.status_code == 201, response.content
    assert [p["label"] for p in response.json()["phones"]] == ["work", "mobile", "home", "work"]
    assert _labels("申华贸易有限公司") == {
        "+862155551234": "work",
        "+8613900001111": "mobile",
        "+861062345678": "home",
        "+442079460958": "work",
    }


def test_a_number_sent_back_without_its_label_keeps_the_one_chosen(client, company):
    headers = api_headers(company.rep)
    created = client.post(
        "/api/v1/customers",
        data=json.dumps(
            {"name": "王芳", "phones": [{"number": LANDLINE, "label": "home"}, MOBILE]}
        ),
        content_type="application/json",
        **headers,
    ).json()
    # Sent back as shown, masked, and typed in full: neither says a label.
    shown = created["phones"][0]["number_masked"]
    response = client.patch(
        f"/api/v1/customers/{created['id']}",
        data=json.dumps({"version": created["version"], "phones": [shown, "139 0000 1111"]}),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content
    assert _labels("王芳") == {"+862155551234": "home", "+8613900001111": "mobile"}
