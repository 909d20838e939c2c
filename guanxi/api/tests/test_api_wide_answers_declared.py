"""Answers the API as a whole gives, whichever operation was called, are in the OpenAPI schema
of every operation that can give them, so that a client generated from the schema knows them:
503 when the database is busy (every operation authenticates through the database, and marks
its token used), 413 when the body is over the size limit (every operation taking a request
body; any other answers it only to a body its schema does not ask for).

405 is not declared: it answers a method no operation of the path takes, and a schema has no
operation to declare it on. The schema's methods of each path are checked to be what the path
takes, and every other method to be answered 405 in the error shape.
"""

import json

from ninja.responses import NinjaJSONEncoder

from guanxi.api.api import api
from guanxi.api.errors import ErrorOut
from guanxi.api.tests import ID_PARAMETERS


def _schema() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))


def _operations() -> dict[str, tuple[str, str, dict]]:
    return {
        operation["operationId"]: (path, method, operation)
        for path, methods in _schema()["paths"].items()
        for method, operation in methods.items()
    }


def _takes_a_body(operation: dict) -> bool:
    return "requestBody" in operation


def _declares(operation: dict, status: str) -> bool:
    response = operation["responses"].get(status)
    if response is None:
        return False
    schema = response["content"]["application/json"]["schema"]
    return {"$ref": "#/components/schemas/ErrorOut"} in schema.get("anyOf", [schema])


def _url(path: str) -> str:
    return path.format(**dict.fromkeys(ID_PARAMETERS, 1))


def test_every_operation_declares_the_answers_the_api_gives_around_it():
    operations = _operations()
    reading = {name for name, (_p, _m, op) in operations.items() if _takes_a_body(op)}
    # A change in how a body shows in the schema must not leave the check with nothing to check.
    assert reading >= {"customer_create", "customer_update", "customer_duplicates_check"}
    assert not reading & {"customer_list", "customer_delete", "merge_undo", "me"}
    undeclared = {}
    for name, (_path, _method, operation) in sorted(operations.items()):
        if not _declares(operation, "503"):
            undeclared.setdefault(name, []).append("503")
        if (name in reading) != _declares(operation, "413"):
            undeclared.setdefault(name, []).append("413")
    assert not undeclared, undeclared


def test_every_operation_taking_a_body_answers_a_body_too_large_as_declared(api_as, settings):
    client = api_as("admin")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    wrong = {}
    for name, (path, method, operation) in _operations().items():
        if not _takes_a_body(operation):
            continue
        response = client.client.generic(
            method.upper(),
            _url(path),
            json.dumps({"notes": "x" * 2000}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {client.token}", "Idempotency-Key": name},
        )
        if response.status_code != 413 or not _declares(operation, "413"):
            wrong[name] = response.status_code
        ErrorOut.model_validate(response.json())
    assert not wrong, wrong


def test_a_method_no_operation_takes_is_405_in_the_error_shape_naming_those_it_takes(api_as):
    client = api_as("admin")
    for path, methods in _schema()["paths"].items():
        other = next(m for m in ("put", "patch", "delete", "post") if m not in methods)
        response = client.client.generic(
            other.upper(),
            _url(path),
            "{}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {client.token}"},
        )
        assert response.status_code == 405, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json")
        ErrorOut.model_validate(response.json())
        allowed = {m.strip().lower() for m in response["Allow"].split(",")}
        assert allowed == set(methods), path
