"""Reading one customer of the recycle bin in the API, ``GET /customers/deleted/{customer_id}``:
the live customer's shape plus who deleted it and when, numbers masked, for administrators."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_restore
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db

MOBILE = "13890417762"
ID_NUMBER = "11010519491231002X"
DELETION = {"deleted_at", "deleted_by", "merged_into", "merge_id"}


def _fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def customer(company) -> Customer:
    return customer_create(
        actor=company.rep,
        data={
            "name": "欧阳娜娜",
            "phones": [MOBILE],
            "emails": ["nana@example.com"],
            "addresses": [{"city": "上海", "street": "南京西路 1 号"}],
            "tags": ["VIP"],
            "id_number": ID_NUMBER,
        },
    )


def test_a_deleted_customer_reads_as_in_use_plus_its_deletion(company, api_as, customer):
    api = api_as("admin")
    live = api.get(f"/customers/{customer.pk}").json()
    customer_delete(actor=company.manager, customer_id=customer.pk)
    deleted = Customer.objects.get(pk=customer.pk)
    before = AuditEvent.objects.count()

    response = api.get(f"/customers/deleted/{customer.pk}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == set(live) | DELETION
    unchanged = set(live) - {"version", "updated_at"}
    assert {k: body[k] for k in unchanged} == {k: live[k] for k in unchanged}
    assert body["version"] == deleted.version
    assert response["ETag"] == f'"{deleted.version}"'
    assert body["deleted_by"]["username"] == "manager"
    assert body["deleted_at"].startswith(deleted.deleted_at.strftime("%Y-%m-%d"))
    assert body["merged_into"] is None and body["merge_id"] is None
    assert body["phones"][0]["number_masked"] == "+86 138 **** 7762"
    assert body["id_number_masked"] == "1****************X"
    assert MOBILE not in response.content.decode()
    assert ID_NUMBER not in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_the_live_read_stays_not_found_for_it(company, api_as, customer):
    customer_delete(actor=company.admin, customer_id=customer.pk)
    api = api_as("admin")

    response = api.get(f"/customers/{customer.pk}")

    assert response.status_code == 404 and response.json()["detail"]


def test_only_customers_in_the_bin_are_found_there(company, api_as, customer):
    api = api_as("admin")
    for missing in (customer.pk, 2**40):  # in use, never was
        response = api.get(f"/customers/deleted/{missing}")
        assert response.status_code == 404 and response.json()["detail"]
    customer_delete(actor=company.admin, customer_id=customer.pk)
    assert api.get(f"/customers/deleted/{customer.pk}").status_code == 200
    customer_restore(actor=company.admin, customer_id=customer.pk)
    assert api.get(f"/customers/deleted/{customer.pk}").status_code == 404
    response = api.get("/customers/deleted/0")
    assert response.status_code == 422 and _fields(response) == {"customer_id"}


def test_a_customer_merged_away_names_the_kept_customer_and_the_merge(company, api_as):
    kept, other = company.rep_customer, company.teammate_customer
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)

    body = api_as("admin").get(f"/customers/deleted/{other.pk}").json()

    assert body["merged_into"] == {"id": kept.pk, "name": kept.name}
    assert body["merge_id"] == merge.pk
    assert body["deleted_by"]["username"] == "admin"


@pytest.mark.parametrize(
    "username", ["manager", "manager_west", "rep", "teammate", "rep_b", "agent", "analyst"]
)
def test_nobody_but_an_administrator_reads_it(company, api_as, customer, username):
    customer_delete(actor=company.admin, customer_id=customer.pk)
    api = api_as(username)

    for customer_id in (customer.pk, 2**40):
        response = api.get(f"/customers/deleted/{customer_id}")
        assert response.status_code == 403, customer_id
        assert response.json()["detail"] and customer.name not in response.content.decode()
