"""The recycle bin in the API: ``GET /customers/deleted`` and ``POST
/customers/{customer_id}/restore``, for administrators, with errors naming the field."""

import pytest

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_restore
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db


def _delete(actor, customer) -> Customer:
    customer_delete(actor=actor, customer_id=customer.pk)
    return Customer.objects.get(pk=customer.pk)


def _fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def test_the_bin_lists_deleted_customers_newest_first_a_page_at_a_time(company, api_as):
    names = [f"Gone {n}" for n in range(5)]
    for name in names:
        _delete(company.manager, CustomerFactory(name=name, owner=company.rep))
    api = api_as("admin")

    items, cursor = [], None
    while True:
        page = api.get("/customers/deleted", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.content
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert [item["name"] for item in items] == list(reversed(names))
    first = items[0]
    assert first["deleted_by"]["username"] == "manager"
    assert first["owner"]["username"] == "rep"
    assert first["merged_into"] is None and first["merge_id"] is None
    assert first["version"] == Customer.objects.get(pk=first["id"]).version


def test_the_bin_is_searched_and_a_bad_cursor_is_named(company, api_as):
    _delete(company.admin, company.rep_customer)
    _delete(company.admin, company.west_customer)
    api = api_as("admin")

    found = api.get("/customers/deleted", {"q": "zhangwei"}).json()["items"]
    assert [item["id"] for item in found] == [company.rep_customer.pk]
    response = api.get("/customers/deleted", {"cursor": "walk"})
    assert response.status_code == 400 and _fields(response) == {"cursor"}
    response = api.get("/customers/deleted", {"q": "x" * 201})
    assert response.status_code == 422 and _fields(response) == {"q"}


def test_restore_brings_the_customer_back_into_search_and_duplicate_checks(company, api_as):
    customer = customer_create(
        actor=company.rep, data={"name": "欧阳娜娜", "phones": ["13912345678"]}
    )
    customer = _delete(company.admin, customer)
    api = api_as("admin")

    response = api.post(f"/customers/{customer.pk}/restore", {"version": customer.version})

    assert response.status_code == 200, response.content
    assert response.json()["version"] == customer.version + 1
    assert response["ETag"] == f'"{customer.version + 1}"'
    rep = api_as("rep")
    found = rep.get("/customers", {"q": "ouyang"}).json()["items"]
    assert [item["id"] for item in found] == [customer.pk]
    twins = rep.post("/customers/duplicates", {"name": "欧阳娜娜", "phones": ["13912345678"]})
    assert customer.pk in {item["customer"]["id"] for item in twins.json()}
    assert api.get("/customers/deleted").json()["items"] == []
    history = rep.get(f"/customers/{customer.pk}/history").json()["items"]
    assert [event["action"] for event in history[:2]] == ["update", "delete"]


def test_restoring_a_customer_merged_away_is_refused_naming_the_kept_customer(company, api_as):
    kept, other = company.rep_customer, company.teammate_customer
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    api = api_as("admin")
    [listed] = api.get("/customers/deleted").json()["items"]
    assert listed["merged_into"] == {"id": kept.pk, "name": kept.name}
    assert listed["merge_id"] == merge.pk
    assert listed["deleted_by"]["username"] == "admin"

    response = api.post(f"/customers/{other.pk}/restore", {"version": listed["version"]})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "customer_id"
    assert kept.name in error["message"] and "Undo that merge" in error["message"]
    assert Customer.objects.get(pk=other.pk).deleted_at is not None


def test_a_restore_refused_for_what_happened_meanwhile_says_what(company, api_as):
    customer = _delete(company.admin, company.rep_customer)
    api = api_as("admin")

    response = api.post(f"/customers/{customer.pk}/restore", {})
    assert response.status_code == 422 and _fields(response) == {"version"}
    response = api.post(
        f"/customers/{customer.pk}/restore", {}, headers={"If-Match": f'"{customer.version + 5}"'}
    )
    assert response.status_code == 409 and _fields(response) == {"version"}
    assert response.json()["current_version"] == customer.version
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None

    customer_restore(actor=company.admin, customer_id=customer.pk)
    response = api.post(f"/customers/{customer.pk}/restore", {"version": customer.version})
    assert response.status_code == 422 and _fields(response) == {"customer_id"}
    assert "restored it meanwhile" in response.json()["errors"][0]["message"]
    response = api.post("/customers/999999/restore", {"version": 1})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "username", ["manager", "manager_west", "rep", "teammate", "rep_b", "agent", "analyst"]
)
def test_nobody_but_an_administrator_uses_the_bin(company, api_as, username):
    customer = _delete(company.admin, company.rep_customer)
    api = api_as(username)

    assert api.get("/customers/deleted").status_code == 403
    response = api.post(f"/customers/{customer.pk}/restore", {"version": customer.version})
    assert response.status_code == 403 and response.json()["detail"]
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None
