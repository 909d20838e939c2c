"""The history endpoint gives a stored audit row whose changes are no mapping of fields (a list,
a text, a number), which no service writes but a row written by hand or before the services
did may hold, under the key "changes" of its object, instead of failing; a value stored alone
under a field is given as it is, and an id of another customer the caller may not see stored
alone is "[hidden]" as it is when stored as before and after."""

import pytest

from guanxi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _row(company, changes) -> None:
    customer = company.rep_customer
    AuditEvent.objects.create(
        actor=company.admin,
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary="Fixed by hand",
        changes=changes,
    )


@pytest.mark.parametrize(
    ("stored", "given"),
    [
        (["name", "phone"], {"changes": ["name", "phone"]}),
        ("renamed by hand", {"changes": "renamed by hand"}),
        (7, {"changes": 7}),
        ({"name": "Wang"}, {"name": "Wang"}),
    ],
)
def test_changes_that_are_no_mapping_of_fields_are_given_as_stored(api_as, company, stored, given):
    _row(company, stored)
    response = api_as("rep").get(f"/customers/{company.rep_customer.pk}/history")
    assert response.status_code == 200, response.content
    [item] = [item for item in response.json()["items"] if item["summary"] == "Fixed by hand"]
    assert item["changes"] == given


def test_an_id_of_a_customer_out_of_sight_stored_alone_is_hidden(api_as, company):
    _row(company, {"organization_id": company.west_customer.pk})
    response = api_as("rep").get(f"/customers/{company.rep_customer.pk}/history")
    [item] = [item for item in response.json()["items"] if item["summary"] == "Fixed by hand"]
    assert item["changes"] == {"organization_id": "[hidden]"}
