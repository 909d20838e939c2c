"""Every field of the request bodies that hold objects or lists, however deeply nested, sent
wrong: null where the schema does not allow it, a value of the wrong type, text longer than
the schema's limit (or very long where it gives none) and an unknown field in each object.

Each must be refused with a 4xx in the API's error shape naming the field's full path
(``phones[0].number``), never answered with a 500, and a refused PATCH must leave the record
exactly as it was. The cases are read from the generated OpenAPI schema, so a field added to a
body is walked without anyone remembering to add it here.
"""

from typing import Any

import pytest

from guanxi.api.api import api

SCHEMA = api.get_openapi_schema()
COMPONENTS = SCHEMA["components"]["schemas"]

# Text sent to a field whose schema states no limit: longer than any column the project has.
VERY_LONG = 100_001
UNKNOWN = "no_such_field"


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _options(schema: dict) -> list[dict]:
    """The alternatives of a field, null left out."""
    schema = _resolve(schema)
    if "anyOf" in schema or "oneOf" in schema:
        result = []
        for option in schema.get("anyOf", []) + schema.get("oneOf", []):
            result.extend(_options(option))
        return result
    if schema.get("type") == "null":
        return []
    return [schema]


def _nullable(schema: dict) -> bool:
    schema = _resolve(schema)
    if schema.get("type") == "null":
        return True
    return any(_nullable(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))


def _types(schema: dict) -> set[str]:
    types = set()
    for option in _options(schema):
        if "enum" in option or "const" in option:
            types.add("string")
        types.add(option.get("type", "object" if "properties" in option else "any"))
    return types


# Values the services accept, for required fields of a list's items whose value the case does
# not change (a phone's number when the case is about its label).
SAMPLES = {"number": "13800138000", "address": "walk@example.com", "product": "Lid"}


def _sample(name: str, schema: dict) -> Any:
    if name in SAMPLES:
        return SAMPLES[name]
    option = _options(schema)[0]
    if "enum" in option:
        return option["enum"][0]
    if "const" in option:
        return option["const"]
    kind = option.get("type")
    if option.get("format") == "date":
        return "2026-01-05"
    if option.get("format") == "date-time":
        return "2026-01-05T09:00:00+08:00"
    return {"string": "x", "integer": 1, "number": "1.00", "boolean": True}.get(kind, "x")


def _minimal_item(schema: dict) -> dict:
    obj = _resolve(schema)
    return {
        name: _sample(name, field)
        for name, field in obj.get("properties", {}).items()
        if name in obj.get("required", [])
    }


def _wrong_values(schema: dict) -> list[tuple[str, Any]]:
    """Values of a type the field does not take."""
    types = _types(schema)
    if "any" in types:
        return []
    wrong = []
    if not types & {"string"}:
        wrong.append(("text", "not this"))
    if not types & {"object"}:
        wrong.append(("object", {"a": 1}))
    if "array" not in types and "object" not in types:
        wrong.append(("list", [1]))
    return wrong


def _leaf_cases(schema: dict, path: tuple, wrap) -> list[tuple[str, tuple, Any]]:
    """(kind, path, body) for the field at ``path``; ``wrap(value)`` is the body sending
    ``value`` there."""
    cases = []
    if not _nullable(schema):
        cases.append(("null", path, wrap(None)))
    for label, value in _wrong_values(schema):
        cases.append((label, path, wrap(value)))
    # Text that stands for an object (a phone given as its number alone) is judged as that
    # object's field, and walked there.
    for option in _options(schema) if "object" not in _types(schema) else []:
        if option.get("type") == "string" and "enum" not in option and "format" not in option:
            limit = option.get("maxLength")
            kind = "too-long" if limit else "very-long"
            cases.append((kind, path, wrap("x" * ((limit or VERY_LONG - 1) + 1))))
            break
    return cases


def _walk(schema: dict, path: tuple, wrap) -> list[tuple[str, tuple, Any]]:
    cases = _leaf_cases(schema, path, wrap) if path else []
    for option in _options(schema):
        if "properties" in option:
            # The body itself gets its required fields from the operation's base body.
            base = _minimal_item(option) if path else {}
            if path:
                cases.append(("unknown", (*path, UNKNOWN), wrap({**base, UNKNOWN: 1})))
            for name, field in option["properties"].items():

                def inner(value, name=name, base=base):
                    return wrap({**base, name: value})

                cases.extend(_walk(field, (*path, name), inner))
        elif option.get("type") == "array" and "items" in option:

            def item(value):
                return wrap([value])

            cases.extend(_walk(option["items"], (*path, 0), item))
    return cases


def _body(operation: dict) -> dict:
    return operation["requestBody"]["content"]["application/json"]["schema"]


def _nested(schema: dict) -> bool:
    return any(
        "properties" in option or option.get("type") == "array"
        for field in _resolve(schema).get("properties", {}).values()
        for option in _options(field)
    )


def _field(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# How to reach each operation whose body holds objects or lists: (address, base body) given
# the admin's client and the test company. The base body is valid on its own; each case adds
# one wrong value to it.
def _customers(admin, company):
    return "/customers", {"name": "Walk"}


def _duplicates(admin, company):
    return "/customers/duplicates", {"name": "Walk"}


def _customer(admin, company):
    customer = company.rep_customer
    return f"/customers/{customer.pk}", {"version": customer.version}


def _reassign(admin, company):
    return "/customers/reassign", {
        "from_owner_id": company.rep.pk,
        "to_owner_id": company.teammate.pk,
        "customer_ids": [company.rep_customer.pk],
    }


def _orders(admin, company):
    return "/orders", {
        "customer_id": company.rep_customer.pk,
        "ordered_on": "2026-01-05",
        "amount": "10.00",
    }


def _tickets(admin, company):
    return "/tickets", {
        "customer_id": company.rep_customer.pk,
        "type": "complaint",
        "subject": "Broken lid",
    }


def _ticket(admin, company):
    created = admin.post("/tickets", _tickets(admin, company)[1])
    assert created.status_code == 201, created.json()
    return f"/tickets/{created.json()['id']}", {"version": created.json()["version"]}


OPERATIONS = {
    ("post", "/api/v1/customers"): _customers,
    ("post", "/api/v1/customers/duplicates"): _duplicates,
    ("patch", "/api/v1/customers/{customer_id}"): _customer,
    ("post", "/api/v1/customers/reassign"): _reassign,
    ("post", "/api/v1/orders"): _orders,
    ("post", "/api/v1/tickets"): _tickets,
    ("patch", "/api/v1/tickets/{ticket_id}"): _ticket,
}
NESTED = {
    (method, path): _body(operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
    if method in ("post", "patch") and "requestBody" in operation
    if _nested(_body(operation))
}


def _cases():
    for (method, path), body in NESTED.items():
        for kind, field, sent in _walk(body, (), lambda value: value):
            if not field or not isinstance(sent, dict):
                continue
            yield pytest.param(
                method, path, kind, field, sent, id=f"{method} {path} {kind} {_field(field)}"
            )


def test_every_body_with_nested_fields_is_walked():
    assert set(NESTED) == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "kind", "field", "sent"), list(_cases()))
def test_a_wrong_value_anywhere_in_a_body_is_refused_naming_its_path(
    api_as, company, method, path, kind, field, sent
):
    admin = api_as("admin")
    address, base = OPERATIONS[(method, path)](admin, company)
    before = admin.get(address).json() if method == "patch" else None
    answer = getattr(admin, method)(address, {**base, **sent})
    name = _field(field)
    if kind == "very-long" and answer.status_code < 400:
        return  # no limit stated, and none applied: the long text was taken
    assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.content[:500])
    body = answer.json()
    assert set(body) >= {"detail", "errors"}, body
    assert name in {error["field"] for error in body["errors"]}, (name, body)
    assert all(error["message"] for error in body["errors"]), body
    if method == "patch":
        assert admin.get(address).json() == before
