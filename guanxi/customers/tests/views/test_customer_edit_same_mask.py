"""Two of a customer's numbers masked alike (138****5678 twice, the hidden digits differing):
the row a user removes is the number removed, on the form and in the API, never the other."""

import re

import pytest

from guanxi.customers.services import customer_create

from .phone_edits import api_headers, api_patch, post_edit_form

pytestmark = pytest.mark.django_db

FIRST, SECOND = "+8613811115678", "+8613822225678"
SHOWN = "+86 138 **** 5678"


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.rep,
        data={"name": "王芳", "phones": ["138 1111 5678", {"number": "138 2222 5678"}]},
    )


def _stored(customer) -> list[tuple[str, str]]:
    return list(customer.phones.order_by("id").values_list("number", "label"))


def _rows(client, customer) -> list[tuple[str, str]]:
    html = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    return re.findall(
        r'name="phone_id" value="([^"]*)">\s*<input type="text" name="phone_number" '
        r'value="([^"]*)"',
        html,
    )


def _post(client, customer, company, rows):
    return post_edit_form(
        client,
        customer,
        owner=company.rep,
        phone_id=[r[0] for r in rows],
        phone_number=[r[1] for r in rows],
        phone_label=[r[2] for r in rows],
    )


@pytest.mark.parametrize("how", ["row removed", "row emptied"])
def test_removing_the_first_of_two_numbers_masked_alike_removes_that_one(
    client, company, customer, how
):
    client.force_login(company.rep)
    (_first_id, first), (second_id, second), _blank = _rows(client, customer)
    assert first == second == SHOWN
    # The second one is relabelled as well: the label goes with the number it was shown with.
    kept = [(second_id, second, "work")]
    rows = kept if how == "row removed" else [("", "", "mobile"), *kept]
    response = _post(client, customer, company, rows)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _stored(customer) == [(SECOND, "work")]


def test_two_numbers_masked_alike_sent_back_as_shown_are_both_kept(client, company, customer):
    client.force_login(company.rep)
    (first_id, first), (second_id, second), _blank = _rows(client, customer)
    rows = [(first_id, first, "home"), (second_id, second, "work")]
    assert _post(client, customer, company, rows).status_code == 302
    assert _stored(customer) == [(FIRST, "home"), (SECOND, "work")]


def _patch(client, customer, phones, headers):
    customer.refresh_from_db()
    return api_patch(client, customer, {"version": customer.version, "phones": phones}, headers)


def test_the_api_asks_for_the_id_of_one_of_two_numbers_masked_alike(client, company, customer):
    headers = api_headers(company.rep)
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    first, second = read["phones"]
    assert first["number_masked"] == second["number_masked"] == SHOWN

    # Which of the two is meant cannot be told: refused, naming the row, nothing changed.
    response = _patch(client, customer, [{"number": SHOWN}], headers)
    assert response.status_code == 422, response.content
    assert "phones[0].number" in response.content.decode()
    assert _stored(customer) == [(FIRST, "mobile"), (SECOND, "mobile")]

    # Both sent back without ids: both kept.
    response = _patch(client, customer, [SHOWN, SHOWN], headers)
    assert response.status_code == 200, response.content
    assert _stored(customer) == [(FIRST, "mobile"), (SECOND, "mobile")]

    # Named by id, the second one stays; the same id twice does not make two of it.
    second = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()["phones"][1]
    named = {"number": SHOWN, "id": second["id"], "label": "work"}
    assert _patch(client, customer, [named, named], headers).status_code == 422
    response = _patch(client, customer, [named], headers)
    assert response.status_code == 200, response.content
    assert _stored(customer) == [(SECOND, "work")]


def test_an_id_no_longer_theirs_leaves_the_mask_to_name_the_number(client, company):
    # A number removed and typed in again meanwhile is a new row, under a new id: a row read
    # before still names its number by its mask, as the edit form's rows kept after a conflict
    # do.
    customer = customer_create(
        actor=company.rep, data={"name": "李雷", "phones": ["138 1111 5678", "021 5876 3190"]}
    )
    headers = api_headers(company.rep)
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    first, second = read["phones"]
    kept_first = {"number": first["number_masked"], "id": first["id"]}
    assert _patch(client, customer, [kept_first], headers).status_code == 200
    again = [kept_first, {"number": "021 5876 3190"}]
    assert _patch(client, customer, again, headers).status_code == 200
    assert second["id"] not in customer.phones.values_list("id", flat=True)

    response = _patch(
        client, customer, [{"number": second["number_masked"], "id": second["id"]}], headers
    )
    assert response.status_code == 200, response.content
    assert _stored(customer) == [("+862158763190", "work")]  # a fixed line, no label sent
