"""A script whose token was revoked (by its owner, an administrator, or a new password) is told
so, not only that authentication is required: whoever runs it then knows to make a new token
rather than look for a typing mistake. The answer says nothing of other tokens, nor whose the
revoked one was."""

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.accounts.services import api_token_create

from .conftest import API

pytestmark = pytest.mark.django_db

REVOKED = "This API token was revoked"


def _get(raw, language="en"):
    return Client().get(
        f"{API}/me", headers={"Authorization": f"Bearer {raw}", "Accept-Language": language}
    )


def _revoked_token(user, name="ERP sync") -> str:
    token, raw = api_token_create(actor=user, user=user, name=name)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    return raw


def test_a_revoked_token_is_told_it_was_revoked(company):
    raw = _revoked_token(company.rep)
    # A live token of the same user does not make the revoked one work, nor change the answer.
    api_token_create(actor=company.rep, user=company.rep, name="Reports")

    response = _get(raw)

    assert response.status_code == 401
    body = response.json()
    assert body["detail"].startswith(REVOKED)
    assert body["errors"] == []
    text = response.content.decode()
    assert "rep" not in text.replace("revoked", "")
    assert "ERP sync" not in text and "Reports" not in text


def test_the_answer_is_translated(company):
    response = _get(_revoked_token(company.rep), "zh-hans")
    assert response.status_code == 401
    assert "此 API 令牌已被撤销" in response.json()["detail"]


def test_a_token_never_issued_or_of_an_inactive_user_is_not_called_revoked(company):
    _token, live = api_token_create(actor=company.rep, user=company.rep, name="ERP sync")
    company.rep.is_active = False
    company.rep.save(update_fields=["is_active"])
    for raw in (live, "gx_not-a-real-token"):
        response = _get(raw)
        assert response.status_code == 401
        assert REVOKED not in response.json()["detail"]
