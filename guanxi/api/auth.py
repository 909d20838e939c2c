"""Who is calling: a personal API token, or the browser session of a signed-in user.

Scripts send ``Authorization: Bearer gx_...``. The browser (the interactive docs page, or pages
that call the API) is recognised by its session cookie, and then unsafe methods need the CSRF
token like any form post, because a cookie is sent by the browser whoever made the page.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from guanxi.accounts.selectors import api_token_revoked
from guanxi.accounts.services import api_token_authenticate

from .errors import RevokedTokenError


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` with a personal token (see ``guanxi api-token``)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token.strip())
        if user is None:
            # A token was offered and is wrong, revoked or belongs to an inactive user: say so
            # rather than quietly falling back to a session the caller did not mean to use.
            if api_token_revoked(token.strip()):
                raise RevokedTokenError()
            raise AuthenticationError()
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The session of a user signed in to the web interface."""

    def __init__(self) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # nobody signed in: a plain 401, not a CSRF complaint
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise HttpError(403, _("CSRF check failed: send the X-CSRFToken header."))
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if key and user.is_authenticated and user.is_active:
            return user
        return None
