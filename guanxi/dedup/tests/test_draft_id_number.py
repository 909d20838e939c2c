"""The ID number of a customer being typed is compared with the customers' only for users who
may see ID numbers in full. Shown masked (1****************X) beside the birth date and an
address, a number lacks its serial: anyone else could try the hundred or so candidates on the
duplicate check and read the full number off the one it matches."""

import datetime as dt

import pytest

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.customers.services import customer_create

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
# The same masked form and birth date, two hidden digits different.
WRONG_GUESS = "11010819491231002X"


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.rep,
        data={"name": "刘洋", "birth_date": dt.date(1949, 12, 31), "id_number": ID_NUMBER},
    )


def _found(client, id_number: str) -> list[dict]:
    response = client.post(
        "/customers/duplicates",
        {"name": "某某", "birth_date": "1949-12-31", "id_number": id_number},
    )
    assert response.status_code == 200
    return [(d["customer"]["id"], d["score"], d["reasons"]) for d in response.json()]


def test_the_check_does_not_confirm_an_id_number_to_who_may_not_see_it_in_full(
    api_as,  # noqa: F811
    company,
    customer,
):
    rep = api_as("rep")
    assert not company.rep.may_view_sensitive()
    assert rep.get(f"/customers/{customer.pk}").json()["id_number_masked"] == "1****************X"
    # The right number and a wrong one get the same answer.
    assert _found(rep, ID_NUMBER) == _found(rep, WRONG_GUESS)
    assert all("id_number" not in str(found) for found in _found(rep, ID_NUMBER))


def test_who_may_see_id_numbers_is_told_of_the_customer_with_the_same_one(
    api_as,  # noqa: F811
    company,
    customer,
):
    manager = api_as("manager")
    assert company.manager.may_view_sensitive()
    [(found_id, score, reasons)] = _found(manager, ID_NUMBER)
    assert found_id == customer.pk and score > 0.5
    assert any(r["field"] == "id_number" and r["level"] == "same" for r in reasons)
    assert _found(manager, WRONG_GUESS) != _found(manager, ID_NUMBER)


def test_the_hints_while_typing_do_not_confirm_it_either(client, company, customer):
    client.force_login(company.rep)

    def hints(id_number: str) -> str:
        response = client.post(
            "/duplicates/hints/",
            {
                "party_type": "person",
                "name": "某某",
                "birth_date": "1949-12-31",
                "id_number": id_number,
            },
        )
        assert response.status_code == 200
        return response.content.decode()

    assert f"/customers/{customer.pk}/" not in hints(ID_NUMBER)
    assert hints(ID_NUMBER) == hints(WRONG_GUESS)
