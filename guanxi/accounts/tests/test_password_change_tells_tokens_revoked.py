"""Whoever sets a new password is told that their API tokens were revoked with it (see
``services.user_password_change_record``), so that a script that stops working is no surprise
and they know to make it a new token; whoever had none is not told about tokens."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.accounts.services import api_token_create
from guanxi.conftest import PASSWORD
from guanxi.core.testing.admin_forms import signed_in_administrators

pytestmark = pytest.mark.django_db

NEW = "Quiet-harbour-lantern-42"
REVOKED = "Your API tokens were revoked"


def _change_own_password(client, user):
    client.force_login(user)
    return client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )


def _reset_by_email(client):
    client.post("/accounts/password/reset/", {"email": "rep@example.com"})
    link = re.search(r"(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link)["Location"]
    return client.post(form, {"new_password1": NEW, "new_password2": NEW}, follow=True)


def test_ones_own_password_page_says_the_tokens_were_revoked(client, company):
    api_token_create(actor=company.rep, user=company.rep, name="ERP sync")
    page = _change_own_password(client, company.rep).content.decode()
    assert "Your password was changed." in page
    assert REVOKED in page


def test_a_reset_by_email_says_the_tokens_were_revoked(client, company):
    api_token_create(actor=company.rep, user=company.rep, name="ERP sync")
    page = _reset_by_email(client).content.decode()
    assert REVOKED in page


def test_whoever_had_no_live_token_is_not_told_of_tokens(client, company):
    token, _raw = api_token_create(actor=company.rep, user=company.rep, name="Old")
    token.revoked_at = token.created_at
    token.save(update_fields=["revoked_at"])
    assert REVOKED not in _change_own_password(client, company.rep).content.decode()
    assert REVOKED not in _reset_by_email(client).content.decode()


def test_the_message_is_translated(client, company):
    api_token_create(actor=company.rep, user=company.rep, name="ERP sync")
    client.cookies["django_language"] = "zh-hans"
    page = _change_own_password(client, company.rep).content.decode()
    assert "API 令牌已随旧密码一并撤销" in page


def test_the_admin_sites_own_password_page_says_the_tokens_were_revoked():
    (ann,) = signed_in_administrators("ann")
    user = User.objects.get(username="ann")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    ann.force_login(user)
    api_token_create(actor=user, user=user, name="ERP sync")
    page = ann.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    ).content.decode()
    assert REVOKED in page


def test_an_administrator_setting_someones_password_is_told_their_tokens_were_revoked(company):
    (ann,) = signed_in_administrators("ann")
    api_token_create(actor=company.rep, user=company.rep, name="ERP sync")
    response = ann.post(
        reverse("admin:auth_user_password_change", args=[company.rep.pk]),
        {"usable_password": "true", "password1": NEW, "password2": NEW},
        follow=True,
    )
    assert "rep’s API tokens were revoked" in [
        str(message)[: len("rep’s API tokens were revoked")]
        for message in response.context["messages"]
    ]
