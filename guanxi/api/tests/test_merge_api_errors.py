"""The API's merge refuses naming the input at fault: the customer in the path (a 404 or 403
that speaks for itself, naming nothing in the body) or the one sent as ``merged_id``."""

import pytest
from django.db import connection

from guanxi.core.testing.merging import merge_held
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge


def _body(kept: Customer, other: Customer) -> dict:
    return {"merged_id": other.pk, "version": kept.version, "merged_version": other.version}


def _fields(response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.django_db
def test_a_customer_in_the_path_the_caller_may_not_change_is_the_paths_403(api_as, company):
    # The rep sees the teammate's customers (their team shares "view") but may not change them.
    theirs, mine = company.teammate_customer, company.rep_customer
    response = api_as("rep").post(f"/customers/{theirs.pk}/merge", json=_body(theirs, mine))
    assert response.status_code == 403, response.content
    assert response.json()["detail"] == "You may not change this customer."
    assert _fields(response) == []
    assert not CustomerMerge.objects.exists()


@pytest.mark.django_db
def test_a_merged_id_the_caller_may_not_change_is_named(api_as, company):
    theirs, mine = company.teammate_customer, company.rep_customer
    response = api_as("rep").post(f"/customers/{mine.pk}/merge", json=_body(mine, theirs))
    assert response.status_code == 403, response.content
    assert _fields(response) == ["merged_id"]
    assert "merged_id" in response.json()["detail"]
    assert not CustomerMerge.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_a_path_customer_merged_away_meanwhile_is_the_paths_404_not_merged_ids(
    api_as, company, monkeypatch
):
    kept = customer_create(actor=company.rep, data={"name": "周强"})
    path = customer_create(actor=company.rep, data={"name": "周强 "})
    other = customer_create(actor=company.rep, data={"name": "周强  "})
    client = api_as("rep")
    with merge_held(monkeypatch, actor=company.rep, survivor_id=kept.pk, merged_id=path.pk) as held:
        held.beside(
            lambda: client.post(f"/customers/{path.pk}/merge", json=_body(path, other)), "api"
        )
    assert held.results["merge"][0] == "ok", held.results["merge"][-1]
    outcome, response = held.results["api"][:2]
    assert outcome == "ok", held.results["api"][-1]
    assert response.status_code == 404, response.content
    assert response.json()["detail"] == "No such customer."
    assert _fields(response) == []
    assert Customer.objects.get(pk=other.pk).deleted_at is None
