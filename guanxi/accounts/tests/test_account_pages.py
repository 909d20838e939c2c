"""Signing in and out, and the API tokens page."""

import pytest

from guanxi.accounts.models import ApiToken
from guanxi.accounts.services import api_token_authenticate, api_token_create
from guanxi.audit.models import AuditEvent
from guanxi.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_and_out(client, company):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    response = client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/customers/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, company):
    response = client.post("/accounts/login/", {"username": "rep", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_next_parameter_cannot_send_users_off_site(client, company):
    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "rep", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/customers/"


def test_token_is_shown_once_and_works(client, company):
    client.force_login(company.rep)
    response = client.post("/accounts/tokens/", {"name": "nightly export"})
    secret = response.context["new_secret"]
    assert secret.startswith("gx_") and secret in response.content.decode()
    assert api_token_authenticate(secret) == company.rep
    again = client.get("/accounts/tokens/").content.decode()
    assert secret not in again and "nightly export" in again


def test_revoking_a_token_stops_it(client, company):
    token, secret = api_token_create(actor=company.rep, user=company.rep, name="script")
    client.force_login(company.rep)
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert api_token_authenticate(secret) is None


def test_making_and_revoking_a_token_are_on_record_without_the_secret(client, company):
    client.force_login(company.rep)
    secret = client.post("/accounts/tokens/", {"name": "nightly export"}).context["new_secret"]
    token = ApiToken.objects.get(user=company.rep)
    client.post(f"/accounts/tokens/{token.pk}/revoke/")

    made, revoked = AuditEvent.objects.filter(object_type="api_token", object_id=token.pk).order_by(
        "id"
    )
    assert (made.action, made.actor, revoked.action, revoked.actor) == (
        "create",
        company.rep,
        "update",
        company.rep,
    )
    assert made.changes["user"]["after"] == "rep" and made.summary.endswith(f"({token.hint}…)")
    assert revoked.changes["revoked_at"]["after"]
    for event in (made, revoked):
        assert secret not in str(event.changes) + event.summary


def test_a_token_an_administrator_makes_for_someone_else_names_both(company):
    token, _secret = api_token_create(actor=company.admin, user=company.analyst, name="reports")
    event = AuditEvent.objects.get(object_type="api_token", object_id=token.pk)
    assert (event.actor, event.changes["user"]["after"]) == (company.admin, "analyst")


def test_nobody_can_revoke_or_see_someone_elses_token(client, company):
    token, secret = api_token_create(actor=company.rep, user=company.rep, name="mine")
    client.force_login(company.teammate)
    assert "mine" not in client.get("/accounts/tokens/").content.decode()
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert api_token_authenticate(secret) == company.rep


def test_language_switch(client, company):
    client.force_login(company.rep)
    response = client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/customers/"}, follow=True
    )
    assert response.wsgi_request.LANGUAGE_CODE == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()
