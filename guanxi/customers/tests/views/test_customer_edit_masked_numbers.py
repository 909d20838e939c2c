"""The edit form shows phone numbers masked, as the customer page does, and a number left as
shown keeps the stored one; typed over it is replaced, emptied it is removed, and a masked
number that masks none of the customer's is refused beside its row."""

import re

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update

from .phone_edits import api_headers, api_patch, post_edit_form

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.rep,
        data={
            "name": "王芳",
            "phones": ["138 9041 7762", {"number": "021 5876 3190", "label": "work"}],
            "id_number": ID_NUMBER,
        },
    )


def _shown_numbers(html: str) -> list[str]:
    return re.findall(r'name="phone_number" value="([^"]*)"', html)


def _post(client, customer, company, numbers):
    labels = ["mobile", "work", "mobile"][: len(numbers)]
    return post_edit_form(
        client, customer, owner=company.rep, phone_number=numbers, phone_label=labels
    )


def _stored(customer) -> list[str]:
    return list(customer.phones.order_by("-is_primary", "id").values_list("number", flat=True))


@pytest.mark.parametrize("username", ["rep", "manager"])
def test_the_edit_form_shows_the_numbers_masked_as_the_customer_page_does(
    client, company, customer, username
):
    # The manager may see numbers in full, on the customer page by "Show full numbers", which
    # is audited; the form does not show them unaudited.
    assert company.users[username].may_view_sensitive() == (username == "manager")
    client.force_login(company.users[username])
    html = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    assert _shown_numbers(html) == ["+86 138 **** 7762", "+86 21 5*** 3190", ""]
    assert "9041" not in html and "5876" not in html
    assert ID_NUMBER not in html and "1****************X" in html


def test_numbers_left_as_shown_are_kept(client, company, customer):
    client.force_login(company.rep)
    response = _post(client, customer, company, ["+86 138 **** 7762", "+86 21 5*** 3190", ""])
    assert response.status_code == 302
    customer.refresh_from_db()
    assert _stored(customer) == ["+8613890417762", "+862158763190"]
    assert customer.phones.get(number="+862158763190").label == "work"
    assert customer.id_number_masked == "1****************X"
    event = AuditEvent.objects.get(customer_id=customer.pk, action="update")
    assert "phones" not in event.changes and "id_number" not in event.changes


def test_a_number_typed_over_is_replaced_and_an_emptied_one_removed(client, company, customer):
    client.force_login(company.rep)
    response = _post(client, customer, company, ["", "139 5170 2846", ""])
    assert response.status_code == 302
    customer.refresh_from_db()
    assert _stored(customer) == ["+8613951702846"]
    event = AuditEvent.objects.get(customer_id=customer.pk, action="update")
    assert event.changes["phones"] == {
        "before": ["mobile:+86 138 **** 7762", "work:+86 21 5*** 3190"],
        "after": ["work:+86 139 **** 2846"],
    }


def test_masked_numbers_can_change_places(client, company, customer):
    client.force_login(company.rep)
    response = _post(client, customer, company, ["+86 21 5*** 3190", "+86 138 **** 7762"])
    assert response.status_code == 302
    customer.refresh_from_db()
    assert _stored(customer) == ["+862158763190", "+8613890417762"]


def test_a_masked_number_that_masks_none_of_theirs_is_refused_beside_its_row(
    client, company, customer
):
    client.force_login(company.rep)
    response = _post(client, customer, company, ["+86 138 **** 7762", "+86 139 **** 7762"])
    assert response.status_code == 422
    form = response.context["form"]
    assert not form.phones[0].errors
    assert form.phones[1].errors == [
        "“+86 139 **** 7762” is masked but masks none of this customer's numbers: type the "
        "number in full, leave it as shown, or remove it."
    ]
    html = response.content.decode()
    assert "9041" not in html
    assert _stored(Customer.objects.get(pk=customer.pk)) == ["+8613890417762", "+862158763190"]
    # One stored number is kept by one row only.
    response = _post(client, customer, company, ["+86 138 **** 7762", "+86 138 **** 7762"])
    assert response.status_code == 422
    assert response.context["form"].phones[1].errors


def test_a_stale_edit_with_masked_numbers_is_refused_showing_them_masked(client, company, customer):
    client.force_login(company.rep)
    customer_update(
        actor=company.manager,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"phones": ["138 9041 7762", "137 2233 4455"]},
    )
    response = _post(client, customer, company, ["+86 138 **** 7762", "+86 21 5*** 3190"])
    assert response.status_code == 409
    html = response.content.decode()
    assert "Saved meanwhile:" in html and "+86 137 **** 4455" in html
    assert "2233" not in html and "9041" not in html
    assert _stored(Customer.objects.get(pk=customer.pk)) == ["+8613890417762", "+8613722334455"]


# ---------------------------------------------------------------------------------------------
# The API: a customer read and sent back as it was read changes nothing


def test_the_api_keeps_masked_numbers_sent_back_and_names_a_wrong_one(client, company, customer):
    headers = api_headers(company.rep)
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    phones = [{"number": p["number_masked"], "label": p["label"]} for p in read["phones"]]
    body = {"version": read["version"], "phones": phones, "id_number": read["id_number_masked"]}
    response = api_patch(client, customer, body, headers)
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert _stored(customer) == ["+8613890417762", "+862158763190"]
    assert customer.id_number_hash and customer.id_number_masked == "1****************X"

    wrong = {
        "version": customer.version,
        "phones": [phones[0], {"number": "+86 21 6*** 3190"}],
        "id_number": "2****************X",
    }
    response = api_patch(client, customer, wrong, headers)
    assert response.status_code in (400, 422), response.content
    answer = response.content.decode()
    assert "phones[1].number" in answer and "id_number" in answer
    assert "9041" not in answer and "5876" not in answer
    assert Customer.objects.get(pk=customer.pk).version == customer.version
