"""Every answer an operation gives is in the OpenAPI schema, with the shape of its body. A POST
with an ``Idempotency-Key`` is answered 409 when another request with that key got there first
and its answer is gone (its day ran out as this one waited for it), and 422 when the key was
used for a different request: every keyed write of every app gave that 409 without declaring it.
The schema is read for the operations that take the header, which the decorator adds, so a
keyed write added later cannot leave the 409 out unnoticed."""

import datetime as dt
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from guanxi.accounts.services import api_token_create
from guanxi.api.api import api
from guanxi.api.errors import ErrorOut
from guanxi.api.models import IdempotencyKey
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customers_merge

from .conftest import ApiClient

# One keyed write of each app that has some: the header's name or how it is found changing
# would otherwise leave the check below with nothing to check.
KEYED_IN_EACH_APP = {
    "customer_create",
    "customer_merge",
    "customer_interaction_create",
    "order_create",
    "ticket_create",
    "user_deactivate",
    "customer_blacklist_add",
}


def _operations() -> dict[str, dict]:
    schema = json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))
    return {
        operation["operationId"]: operation
        for path in schema["paths"].values()
        for operation in path.values()
    }


def _accepts_the_error_shape(response: dict) -> bool:
    schema = response["content"]["application/json"]["schema"]
    shapes = schema.get("anyOf", [schema])
    return {"$ref": "#/components/schemas/ErrorOut"} in shapes


def test_every_keyed_write_declares_the_answers_its_key_can_give():
    operations = _operations()
    keyed = {
        name
        for name, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert keyed >= KEYED_IN_EACH_APP
    undeclared = {}
    for name in sorted(keyed):
        responses = operations[name]["responses"]
        for status in ("409", "422"):
            if status not in responses or not _accepts_the_error_shape(responses[status]):
                undeclared.setdefault(name, []).append(status)
    assert not undeclared, undeclared


@pytest.mark.django_db(transaction=True)
def test_an_undo_behind_a_request_whose_key_ran_out_is_a_declared_409(company):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is shared in memory and reports the lock instead")

    kept = customer_create(actor=company.admin, data={"name": "王芳"})
    other = customer_create(actor=company.admin, data={"name": "王芳"})
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    _token, raw = api_token_create(actor=company.admin, user=company.admin, name="race")
    holding, release = threading.Event(), threading.Event()

    def first_request_in_flight():
        # Another request with the key, still being processed when this one came, whose answer
        # is older than the day answers are replayed for once it commits.
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    user=company.admin,
                    key="late",
                    fingerprint="",
                    created_at=timezone.now() - dt.timedelta(days=2),
                )
                holding.set()
                release.wait(20)
        finally:
            connection.close()

    results: list = []

    def undo():
        try:
            client = ApiClient(None, raw)
            results.append(
                client.post(f"/merges/{merge.pk}/undo", headers={"Idempotency-Key": "late"})
            )
        finally:
            connection.close()

    holder = threading.Thread(target=first_request_in_flight)
    holder.start()
    assert holding.wait(20)
    second = threading.Thread(target=undo)
    second.start()
    time.sleep(0.5)  # let the undo reach the key row and wait on it
    release.set()
    holder.join(20)
    second.join(20)

    [response] = results
    assert response.status_code == 409, response.content
    ErrorOut.model_validate(response.json())
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None
    declared = _operations()["merge_undo"]["responses"]
    assert "409" in declared and _accepts_the_error_shape(declared["409"])
