"""An HTTP client per named user of the test company, authenticated with a real API token."""

import json as jsonlib
from typing import Any

import pytest
from django.test import Client

from guanxi.accounts.services import api_token_create

API = "/api/v1"


class ApiClient:
    """Speaks to ``/api/v1`` through Django's test client as one user, with a real token sent
    as ``Authorization: Bearer ...``, so every request goes through the real authentication."""

    def __init__(self, user, token: str | None):
        self.user = user
        self.token = token
        self.client = Client()

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**base, **headers}

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(API + path, params or {}, headers=self._headers(headers or {}))

    def _send(self, method: str, path: str, json: Any, body: bytes | None, headers):
        data = body if body is not None else ("" if json is None else jsonlib.dumps(json))
        return getattr(self.client, method)(
            API + path,
            data=data,
            content_type="application/json",
            headers=self._headers(headers or {}),
        )

    def post(self, path: str, json: Any = None, *, body: bytes | None = None, headers=None):
        return self._send("post", path, json, body, headers)

    def patch(self, path: str, json: Any = None, *, body: bytes | None = None, headers=None):
        return self._send("patch", path, json, body, headers)

    def delete(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.delete(
            API + path, query_params=params or {}, headers=self._headers(headers or {})
        )


@pytest.fixture
def api_as(company):
    """``api_as("rep")`` -> an :class:`ApiClient` for the company's rep, with a fresh token."""

    def make(username: str) -> ApiClient:
        user = company.users[username]
        _token, raw = api_token_create(actor=user, user=user, name="tests")
        return ApiClient(user, raw)

    return make


@pytest.fixture
def anonymous():
    return ApiClient(None, None)
