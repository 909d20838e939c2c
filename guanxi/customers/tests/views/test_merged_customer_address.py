"""The address of a customer merged away leads to the customer it was merged into, but only for
whoever could see it before the merge: to anyone else its id is as unknown as one never used."""

import pytest

from guanxi.customers.services import customer_create
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged_from_the_west(company):
    survivor = customer_create(actor=company.rep, data={"name": "赵云"})
    western = customer_create(
        actor=company.admin, data={"name": "赵云 ", "owner_id": company.rep_west.pk}
    )
    customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=western.pk)
    return survivor, western


@pytest.mark.parametrize("username", ["rep", "teammate", "manager"])
def test_who_could_never_see_the_merged_customer_gets_a_404(
    client, company, merged_from_the_west, username
):
    survivor, western = merged_from_the_west
    client.force_login(getattr(company, username))
    assert client.get(f"/customers/{survivor.pk}/").status_code == 200
    response = client.get(f"/customers/{western.pk}/")
    assert response.status_code == 404
    assert response.status_code == client.get("/customers/987654321/").status_code


@pytest.mark.parametrize("username", ["admin", "analyst"])
def test_who_could_see_both_is_led_to_the_survivor(client, company, merged_from_the_west, username):
    survivor, western = merged_from_the_west
    client.force_login(getattr(company, username))
    response = client.get(f"/customers/{western.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/customers/{survivor.pk}/"


def test_who_could_see_the_merged_one_but_not_the_survivor_gets_a_404(
    client, company, merged_from_the_west
):
    _survivor, western = merged_from_the_west
    client.force_login(company.rep_west)
    assert client.get(f"/customers/{western.pk}/").status_code == 404
