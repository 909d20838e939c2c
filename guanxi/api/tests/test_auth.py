"""Tokens, sessions and CSRF: who the API believes is calling."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.conftest import PASSWORD
from guanxi.customers.models import Customer

from .conftest import API, ApiClient


def _assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["errors"] == []
    assert "token" in body["detail"]


def test_no_credentials_is_401_json_for_reads_and_writes(anonymous, company):
    _assert_401(anonymous.get("/customers"))
    _assert_401(anonymous.get(f"/customers/{company.rep_customer.pk}"))
    _assert_401(anonymous.post("/customers", {"name": "Sneaky"}))
    assert not Customer.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer gx_not-a-real-token",
        "Bearer ",
        "Bearer " + "gx_" + "x" * 500,
        "bearer gx_\u00e9\u00e9",
        "Token gx_whatever",
        "Basic cmVwOnB3",
    ],
)
def test_wrong_tokens_are_401(company, header):
    response = Client().get(f"{API}/me", headers={"Authorization": header})
    _assert_401(response)


def test_a_token_identifies_its_user_and_is_marked_used(api_as):
    client = api_as("rep")
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json()["username"] == "rep"
    token = ApiToken.objects.get(user=client.user)
    assert token.last_used_at is not None


def test_revoked_token_is_401(api_as):
    client = api_as("rep")
    ApiToken.objects.filter(user=client.user).update(revoked_at=timezone.now())
    _assert_401(client.get("/me"))


def test_inactive_users_token_is_401(api_as, company):
    client = api_as("rep")
    company.rep.is_active = False
    company.rep.save()
    _assert_401(client.get("/me"))


def test_a_wrong_token_does_not_fall_back_to_the_session(company):
    browser = Client()
    browser.login(username="rep", password=PASSWORD)
    assert browser.get(f"{API}/me").status_code == 200
    response = browser.get(f"{API}/me", headers={"Authorization": "Bearer gx_wrong"})
    _assert_401(response)


def test_session_reads_without_csrf_but_writes_need_the_csrf_token(company):
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="rep", password=PASSWORD)
    assert browser.get(f"{API}/me").json()["username"] == "rep"

    refused = browser.post(f"{API}/customers", {"name": "Forged"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Customer.objects.filter(name="Forged").exists()

    # The docs page embeds the token for its own requests, as a page of the web UI would.
    docs = browser.get(f"{API}/docs")
    token = docs.content.decode().split('data-csrf-token="')[1].split('"')[0]
    assert token
    accepted = browser.post(
        f"{API}/customers",
        {"name": "Mine"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201, accepted.json()
    assert Customer.objects.get(name="Mine").owner == company.rep


def test_token_requests_need_no_csrf_token(api_as):
    client = api_as("rep")
    client.client = Client(enforce_csrf_checks=True)
    assert client.post("/customers", {"name": "Scripted"}).status_code == 201


def test_inactive_users_session_is_401(company):
    browser = Client()
    browser.login(username="rep", password=PASSWORD)
    company.rep.is_active = False
    company.rep.save()
    _assert_401(browser.get(f"{API}/me"))


def test_api_token_command_prints_only_the_token(company):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "analyst", "--name", "nightly report", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    raw = lines[0]
    assert raw.startswith("gx_")
    token = ApiToken.objects.get(user=company.analyst)
    assert token.name == "nightly report"
    assert token.key_hash == ApiToken.hash_raw(raw)
    assert raw not in err.getvalue()
    # The printed token works.
    assert ApiClient(company.analyst, raw).get("/me").json()["username"] == "analyst"


def test_api_token_command_refuses_unknown_and_inactive_users(company):
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
    company.agent.is_active = False
    company.agent.save()
    with pytest.raises(CommandError, match="deactivated"):
        call_command("api_token", "agent", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_idempotency_keys_work_for_session_users_too(company):
    browser = Client()
    browser.login(username="rep", password=PASSWORD)
    for _ in range(2):
        response = browser.post(
            f"{API}/customers",
            {"name": "Once"},
            content_type="application/json",
            headers={"Idempotency-Key": "browser-1"},
        )
        assert response.status_code == 201
    assert response["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="Once").count() == 1
