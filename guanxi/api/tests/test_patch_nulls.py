"""Every field of every PATCH body, sent as null: the answer must agree with the OpenAPI schema.

A field the schema marks nullable must take null (it clears the value, or for a customer's
``version`` means "read it from If-Match"); a field it does not must be refused with 422 naming
the field. A client generated from the schema would otherwise send nulls it was told were fine
and be refused, or never learn that null clears a value.
"""

import pytest

from guanxi.api.api import api

SCHEMA = api.get_openapi_schema()
COMPONENTS = SCHEMA["components"]["schemas"]


def _body_schema(operation: dict) -> dict:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return COMPONENTS[ref.rsplit("/", 1)[1]]


def _nullable(schema: dict) -> bool:
    if schema.get("type") == "null" or "null" in (schema.get("type") or []):
        return True
    return any(_nullable(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))


PATCHES = {
    path: _body_schema(operations["patch"])
    for path, operations in SCHEMA["paths"].items()
    if "patch" in operations
}
CASES = [
    pytest.param(path, name, _nullable(field), id=f"{path} {name}")
    for path, body in PATCHES.items()
    for name, field in body["properties"].items()
]


def _customer(admin, company) -> str:
    return f"/customers/{company.rep_customer.pk}"


def _order(admin, company) -> str:
    created = admin.post(
        "/orders",
        {"customer_id": company.rep_customer.pk, "ordered_on": "2026-01-05", "amount": "10.00"},
    )
    assert created.status_code == 201, created.json()
    return f"/orders/{created.json()['id']}"


def _ticket(admin, company) -> str:
    created = admin.post(
        "/tickets",
        {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Broken lid"},
    )
    assert created.status_code == 201, created.json()
    return f"/tickets/{created.json()['id']}"


# One record to change per PATCH operation; a new PATCH operation must say how to make one.
RECORDS = {
    "/api/v1/customers/{customer_id}": _customer,
    "/api/v1/orders/{order_id}": _order,
    "/api/v1/tickets/{ticket_id}": _ticket,
}


def test_every_patch_operation_is_walked():
    assert set(PATCHES) == set(RECORDS)


@pytest.mark.parametrize(("path", "name", "nullable"), CASES)
def test_null_is_taken_exactly_where_the_schema_allows_it(api_as, company, path, name, nullable):
    admin = api_as("admin")
    record = RECORDS[path](admin, company)
    read = admin.get(record)
    assert read.status_code == 200
    if name == "version":
        # The customer's version may come as If-Match instead; others ignore the header.
        body = {"version": None}
        headers = {"If-Match": f'"{read.json()["version"]}"'}
    else:
        body = {"version": read.json()["version"], name: None}
        headers = {}
    answer = admin.patch(record, body, headers=headers)
    if nullable:
        assert answer.status_code == 200, (name, answer.json())
    else:
        assert answer.status_code == 422, (name, answer.status_code, answer.json())
        assert name in {error["field"] for error in answer.json()["errors"]}, answer.json()


def test_a_refused_null_says_to_leave_the_field_out(api_as, company):
    admin = api_as("admin")
    record = _ticket(admin, company)
    version = admin.get(record).json()["version"]
    answer = admin.patch(record, {"version": version, "language": None, "priority": None})
    assert answer.status_code == 422
    message = "This field cannot be null; leave it out instead."
    assert answer.json()["errors"] == [
        {"field": "priority", "message": message},
        {"field": "language", "message": message},
    ]
    assert admin.get(record).json()["version"] == version
