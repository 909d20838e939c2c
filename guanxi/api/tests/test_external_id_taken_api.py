"""An external id taken by someone out of the caller's sight between the check and the save is
refused as a field error, as any taken id is (``customers.validation``), never a server error."""

import pytest

from guanxi.customers.tests.services.test_external_id_taken_out_of_sight import (
    TAKEN,
    taken_meanwhile,
)

pytestmark = pytest.mark.django_db


def test_an_id_taken_meanwhile_through_the_api_is_a_field_error(api_as, company, monkeypatch):
    taken_meanwhile(monkeypatch, company.rep_b, "ERP-7")
    response = api_as("rep").post("/customers", {"name": "New", "external_id": "ERP-7"})
    assert response.status_code in (400, 422), response.content
    body = response.json()
    assert {"field": "external_id", "message": TAKEN} in body["errors"], body
    assert "Hidden Meanwhile" not in response.content.decode()
