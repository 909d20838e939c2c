"""Idempotency-Key on POST: a retry returns the first answer and writes nothing new."""

import datetime as dt
import io
import json
import re
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from guanxi.accounts.services import api_token_create
from guanxi.api.idempotency import _fingerprint
from guanxi.api.models import IdempotencyKey
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customers_merge
from guanxi.interactions.models import Interaction

from .conftest import API, ApiClient


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


@pytest.fixture
def rep(api_as):
    return api_as("rep")


def test_a_retried_create_returns_the_first_answer_and_writes_once(rep):
    body = {"name": "Retry Ltd", "party_type": "organization", "phones": ["13900001111"]}
    first = rep.post("/customers", body, headers=_key("create-1"))
    again = rep.post("/customers", body, headers=_key("create-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Customer.objects.filter(name="Retry Ltd").count() == 1
    assert AuditEvent.objects.filter(action="create", object_type="customer").count() == 1


def test_the_same_body_in_another_key_order_is_the_same_request(rep):
    rep.post("/customers", body=b'{"name": "A", "region": "East"}', headers=_key("k"))
    again = rep.post("/customers", body=b'{"region":"East","name":"A"}', headers=_key("k"))
    assert again.status_code == 201
    assert Customer.objects.filter(name="A").count() == 1


def test_the_same_key_with_another_body_is_422_and_writes_nothing(rep):
    rep.post("/customers", {"name": "First"}, headers=_key("k"))
    response = rep.post("/customers", {"name": "Second"}, headers=_key("k"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert not Customer.objects.filter(name="Second").exists()


def test_a_stray_body_sent_to_an_operation_without_one_is_not_part_of_the_request(api_as, company):
    # Revealing a customer's numbers takes no body; one sent anyway is ignored, and the retry
    # with another is the same reveal, replayed rather than refused for a difference that
    # changes nothing.
    manager = api_as("manager")
    reveal = f"/customers/{company.rep_customer.pk}/reveal"
    first = manager.post(reveal, {"note": "first"}, headers=_key("reveal"))
    again = manager.post(reveal, {"note": "second"}, headers=_key("reveal"))
    assert (first.status_code, again.status_code) == (200, 200), again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert AuditEvent.objects.filter(action="reveal").count() == 1


def test_a_stray_body_sent_to_a_merge_undo_is_not_part_of_the_request(api_as, company):
    # Undoing a merge takes no body either: the retry with another stray one is the same undo,
    # replayed, and the merge is undone once.
    first = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    second = customer_create(actor=company.rep, data={"name": "張偉", "phones": ["13812345678"]})
    merge = customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    manager = api_as("manager")
    undo = f"/merges/{merge.pk}/undo"
    answer = manager.post(undo, {"note": "first"}, headers=_key("undo"))
    again = manager.post(undo, {"note": "second"}, headers=_key("undo"))
    assert (answer.status_code, again.status_code) == (200, 200), again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == answer.json()
    assert answer.json()["undone_by"]["username"] == "manager"
    # One undo: a row for each of the two customers.
    undone = AuditEvent.objects.filter(action=AuditEvent.Action.UNMERGE)
    assert sorted(undone.values_list("object_id", flat=True)) == sorted([first.pk, second.pk])


def test_the_same_key_on_another_endpoint_is_422(rep, company):
    rep.post("/customers", {"name": "First"}, headers=_key("k"))
    response = rep.post(
        f"/customers/{company.rep_customer.pk}/interactions",
        {"channel": "phone", "subject": "Hi"},
        headers=_key("k"),
    )
    assert response.status_code == 422
    assert not Interaction.objects.exists()


def test_keys_belong_to_one_user(api_as):
    for username in ("rep", "teammate"):
        response = api_as(username).post("/customers", {"name": "Same"}, headers=_key("shared"))
        assert response.status_code == 201
        assert not response.has_header("Idempotent-Replayed")
    assert Customer.objects.filter(name="Same").count() == 2


def test_failed_requests_are_not_stored_so_they_can_be_fixed_and_retried(rep):
    refused = rep.post("/customers", {"name": "Fixed", "phones": ["12"]}, headers=_key("fix"))
    assert refused.status_code == 422
    assert not IdempotencyKey.objects.exists()
    fixed = rep.post(
        "/customers", {"name": "Fixed", "phones": ["13900001111"]}, headers=_key("fix")
    )
    assert fixed.status_code == 201
    assert Customer.objects.filter(name="Fixed").count() == 1


def test_requests_without_a_key_are_not_stored(rep):
    rep.post("/customers", {"name": "No key"})
    rep.post("/customers", {"name": "No key"})
    assert Customer.objects.filter(name="No key").count() == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("value", ["", " ", "x" * 256, "ключ", "tab\there"])
def test_malformed_keys_are_422_naming_the_header(rep, value):
    response = rep.post("/customers", {"name": "A"}, headers=_key(value))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert not Customer.objects.exists() or not Customer.objects.filter(name="A").exists()


def test_keys_expire_after_a_day(rep):
    rep.post("/customers", {"name": "Old"}, headers=_key("daily"))
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    again = rep.post("/customers", {"name": "Old"}, headers=_key("daily"))
    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert Customer.objects.filter(name="Old").count() == 2
    assert IdempotencyKey.objects.count() == 1


def test_each_keyed_write_drops_the_users_expired_keys(api_as):
    rep, teammate = api_as("rep"), api_as("teammate")
    rep.post("/customers", {"name": "A"}, headers=_key("a"))
    teammate.post("/customers", {"name": "B"}, headers=_key("b"))
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    rep.post("/customers", {"name": "C"}, headers=_key("c"))
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["b", "c"]


def test_purge_command_deletes_only_expired_keys(rep):
    for key in ("old-1", "old-2", "fresh"):
        rep.post("/customers", {"name": key}, headers=_key(key))
    IdempotencyKey.objects.exclude(key="fresh").update(
        created_at=timezone.now() - dt.timedelta(hours=24, minutes=1)
    )
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert out.getvalue().strip() == "2 expired idempotency keys deleted."
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_revealed_numbers_are_stored_encrypted_and_replayed_only_while_permitted(api_as, company):
    manager = api_as("manager")
    customer = company.rep_customer
    manager.post("/customers", {"name": "x"})  # unrelated traffic
    rep = api_as("rep")
    rep.patch(f"/customers/{customer.pk}", {"version": 1, "id_number": "11010519491231002X"})
    first = manager.post(f"/customers/{customer.pk}/reveal", headers=_key("reveal"))
    assert first.json()["id_number"] == "11010519491231002X"
    stored = IdempotencyKey.objects.get(key="reveal")
    assert stored.response_encrypted
    assert "11010519491231002X" not in stored.response_body
    again = manager.post(f"/customers/{customer.pk}/reveal", headers=_key("reveal"))
    assert again.json() == first.json()
    assert AuditEvent.objects.filter(action="reveal").count() == 1
    company.manager.user_permissions.clear()
    refused = manager.post(f"/customers/{customer.pk}/reveal", headers=_key("reveal"))
    assert refused.status_code == 403


def test_a_retried_interaction_and_reassignment_write_once(api_as, company):
    rep = api_as("rep")
    body = {"channel": "visit", "subject": "Site visit"}
    path = f"/customers/{company.rep_customer.pk}/interactions"
    assert (
        rep.post(path, body, headers=_key("v")).json()
        == rep.post(path, body, headers=_key("v")).json()
    )
    assert Interaction.objects.count() == 1
    manager = api_as("manager")
    move = {"from_owner_id": company.rep.pk, "to_owner_id": company.teammate.pk}
    first = manager.post("/customers/reassign", move, headers=_key("m"))
    again = manager.post("/customers/reassign", move, headers=_key("m"))
    assert first.json() == again.json() == {"moved": 1}
    assert AuditEvent.objects.filter(action="reassign", object_type="customer").count() == 1


# --- concurrency: two connections, one key ----------------------------------------------------


def _post_in_thread(raw_token, body, key, results, barrier=None):
    try:
        if barrier is not None:
            barrier.wait()
        response = ApiClient(None, raw_token).post("/customers", body, headers=_key(key))
        results.append(response)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_write_once(company):
    """Two clients fire the same keyed request at the same moment: one customer, and both end
    up with the same answer."""
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="race")
    body = {
        "name": "Race Co",
        "phones": [f"1390000{i:04d}" for i in range(20)],
        "tags": [f"t{i}" for i in range(20)],
    }
    for round_ in range(3):
        results: list = []
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(
                target=_post_in_thread, args=(raw, body, f"race-{round_}", results, barrier)
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        busy = [r for r in results if r.status_code == 503]
        if connection.vendor == "postgresql":
            assert not busy  # the second request waits for the first and replays its answer
        for response in busy:
            # SQLite's shared in-memory test database reports the lock instead of waiting;
            # the client does what a 503 asks and retries with the same key.
            assert response["Retry-After"] == "1"
            retry: list = []
            _post_in_thread(raw, body, f"race-{round_}", retry)
            assert retry[0]["Idempotent-Replayed"] == "true"
            results = [r for r in results if r is not response] + retry
        assert [r.status_code for r in results] == [201, 201]
        assert results[0].json() == results[1].json()
        assert Customer.objects.filter(name="Race Co").count() == round_ + 1
        assert IdempotencyKey.objects.filter(key=f"race-{round_}").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_behind_an_uncommitted_one_with_its_key_waits_and_replays(company):
    """Hold the key row in an open transaction, as a request still being processed would; a
    second request with that key must wait for it and then replay its answer, writing nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is shared in memory and reports the lock instead")
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="race")
    body = {"name": "Behind"}
    request = RequestFactory().post(
        f"{API}/customers", data=json.dumps(body), content_type="application/json"
    )
    holding, release = threading.Event(), threading.Event()

    def first_request_in_flight():
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    user=company.rep,
                    key="held",
                    fingerprint=_fingerprint(request),
                    response_status=201,
                    response_body='{"answer": "first"}',
                )
                holding.set()
                release.wait(20)
        finally:
            connection.close()

    results: list = []
    holder = threading.Thread(target=first_request_in_flight)
    holder.start()
    assert holding.wait(20)
    second = threading.Thread(target=_post_in_thread, args=(raw, body, "held", results))
    second.start()
    time.sleep(0.5)  # let the second request reach the key row and wait on it
    assert not results, "the second request must wait for the first"
    release.set()
    holder.join(20)
    second.join(20)
    [response] = results
    assert response.status_code == 201
    assert response.json() == {"answer": "first"}
    assert response["Idempotent-Replayed"] == "true"
    assert not Customer.objects.filter(name="Behind").exists()


VOLATILE = ("id", "created_at", "updated_at", "recorded_at")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d\d:\d\d)$")


def _stable(value):
    """An answer without what must differ between two creations (ids and timestamps), with
    each timestamp checked for the shared format instead."""
    if isinstance(value, dict):
        for key in VOLATILE:
            if key != "id" and value.get(key) is not None:
                assert TIMESTAMP.match(value[key]), value[key]
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_a_keyed_answer_has_the_same_shape_as_an_unkeyed_one(rep, company):
    """Keyed answers are rendered by the idempotency layer, unkeyed ones by ninja: a client
    must not be able to tell them apart."""
    body = {
        "name": "Twin",
        "phones": ["13900001111"],
        "consents": [{"channel": "sms", "granted": False, "method": "verbal"}],
    }
    plain = rep.post("/customers", body).json()
    keyed = rep.post("/customers", body, headers=_key("twin")).json()
    assert _stable(keyed) == _stable(plain)
    assert _stable(keyed)["phones"] == [
        {"number_masked": "+86 139 **** 1111", "label": "mobile", "is_primary": True}
    ]
    path = f"/customers/{company.rep_customer.pk}/interactions"
    body = {"channel": "sms", "subject": "a", "occurred_at": "2026-01-01T08:00:00Z"}
    plain = rep.post(path, body).json()
    keyed = rep.post(path, body, headers=_key("i")).json()
    assert _stable(keyed) == _stable(plain)
    assert keyed["occurred_at"] == plain["occurred_at"]


def _without_moments(value):
    """An answer without its ids and moments, which differ between two runs of one request."""
    if isinstance(value, dict):
        return {
            k: _without_moments(v) for k, v in value.items() if k != "id" and not k.endswith("_at")
        }
    if isinstance(value, list):
        return [_without_moments(v) for v in value]
    return value


def _plain_then_keyed(client: ApiClient, path: str, body=None):
    """The answer to a POST without a key (its writes rolled back), then with one."""
    with transaction.atomic():
        plain = client.post(path, body)
        transaction.set_rollback(True)
    return plain, client.post(path, body, headers=_key(path))


def test_keyed_answers_read_records_through_the_response_schema(api_as, company):
    """Handlers that return records for the response schema to read (a merge, a duplicate pair,
    a blacklist entry naming who added it) answer a keyed request as an unkeyed one; rendered as
    they came, every keyed request to them was a server error."""
    rep = api_as("rep")
    first = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    second = customer_create(actor=company.rep, data={"name": "張偉", "phones": ["13812345678"]})
    pair = DuplicatePair.objects.create(
        left_id=first.pk, right_id=second.pk, score=0.99, source="scan"
    )
    merge_body = {
        "merged_id": second.pk,
        "version": first.version,
        "merged_version": second.version,
    }
    answers = []
    for path, body in (
        (f"/customers/{company.rep_customer.pk}/blacklist", {"reason": "late payer"}),
        (f"/duplicates/{pair.pk}/reject", None),
        (f"/customers/{first.pk}/merge", merge_body),
    ):
        plain, keyed = _plain_then_keyed(rep, path, body)
        assert keyed.status_code == plain.status_code < 300, (path, keyed.content)
        assert _without_moments(keyed.json()) == _without_moments(plain.json()), path
        replayed = rep.post(path, body, headers=_key(path))
        assert replayed["Idempotent-Replayed"] == "true"
        assert replayed.json() == keyed.json()
        answers.append(keyed.json())
    merge_id = answers[-1]["id"]
    plain, keyed = _plain_then_keyed(api_as("manager"), f"/merges/{merge_id}/undo")
    assert keyed.status_code == plain.status_code == 200, keyed.content
    assert keyed.json()["undone_by"]["username"] == "manager"
    assert _without_moments(keyed.json()) == _without_moments(plain.json())
