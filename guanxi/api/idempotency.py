"""``Idempotency-Key`` on POST: a retried request gets the first answer instead of a second write.

A client that lost the connection after sending a POST cannot know whether the customer was
created. If it sends a key with the request, it may simply send the same request again: the
first successful answer is stored for 24 hours under (user, key) and replayed, with the header
``Idempotent-Replayed: true``, and nothing is written again.

The stored row is inserted *first*, in the same transaction as the write, so the unique
constraint on (user, key) serialises two concurrent requests with one key: on PostgreSQL the
second insert waits for the first transaction and then fails, its own work is rolled back and
it replays the first answer; on SQLite the write lock taken at the start of the transaction
does the same. Failed requests roll the row back with everything else, so the client can fix
the request and retry with the same key.
"""

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header
from ninja.utils import contribute_operation_args
from pydantic import StringConstraints

from guanxi.core.crypto import decrypt_text, encrypt_text

from .errors import ApiError
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=24)

IdempotencyKeyValue = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
]


class _KeyTaken(Exception):
    """Another request with the same key committed while this one was running."""


def idempotent(view: Callable | None = None, *, sensitive: bool = False):
    """Decorate a POST handler (below the router decorator) to honour ``Idempotency-Key``.

    The handler returns what any handler returns (a schema, a record for the schema to read,
    ``Status(code, value)``): a keyed answer goes through the same response schema as an
    unkeyed one. ``sensitive`` answers are stored encrypted and replayed only while the user may
    still see sensitive data.

    The operation declares the answers a key adds to its own: 422 (the key used for another
    request) and 409 in the error shape (another request with the key got there first and its
    answer is gone), beside a 409 of its own such as ``StaleVersionOut``. Clients generated from
    the schema otherwise fail on that answer; the API's tests check every operation taking the
    header.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any):
            key = kwargs.pop("idempotency_key", None)
            if key is None:
                return view(request, **kwargs)
            return _answer_once(
                request,
                key,
                sensitive,
                lambda: _render(wrapper, request, view(request, **kwargs)),
                fingerprint=_fingerprint(request, with_body=_takes_body(wrapper)),
            )

        contribute_operation_args(
            wrapper,
            "idempotency_key",
            IdempotencyKeyValue | None,
            Header(
                None,
                alias=HEADER,
                description=(
                    "Any string of up to 255 visible ASCII characters, unique per request you "
                    "mean to make once. Sending the same request again with the same key within "
                    "24 hours returns the first answer and changes nothing."
                ),
            ),
        )
        return wrapper

    return decorate(view) if view is not None else decorate


# Where ninja reads a parameter from the request's body rather than its address or headers.
_BODY_SOURCES = frozenset({"body", "form", "file"})


def _takes_body(handler: Callable) -> bool:
    """Whether the operation registered as ``handler`` reads anything from the request body."""
    return any(
        model.__ninja_param_source__ in _BODY_SOURCES for model in handler._ninja_operation.models
    )


def _fingerprint(request: HttpRequest, *, with_body: bool = True) -> str:
    """What makes two requests under one key the same request: the method, the path with its
    query, and (``with_body``) the body, read as JSON so that key order and spacing do not
    count.

    An operation that takes no body (a reveal, an undo) ignores any body sent to it, so that
    body is left out: the retry of such a request with another stray body makes the same change
    and is answered with the first answer, not refused as a different request. The key exists
    to catch a key reused for another change (the IETF Idempotency-Key draft answers 422 to a
    key sent again with a different payload of the operation), and bytes the operation never
    reads are no part of what it does."""
    body = b""
    if with_body:
        try:
            body = json.dumps(
                json.loads(request.body or b"null"), sort_keys=True, separators=(",", ":")
            ).encode()
        except ValueError:  # not reached: ninja refused unparsable bodies already
            body = request.body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _stored_answer(user, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(
        user=user, key=key, created_at__gte=timezone.now() - KEEP_FOR
    ).first()


def _render(handler: Callable, request: HttpRequest, result: Any) -> HttpResponseBase:
    """``result`` answered exactly as ninja answers a request without a key: read through the
    response schema the operation declares for its status, then rendered.

    Rendering the handler's value as it came failed with a server error (after the write, which
    was then rolled back) on every handler that returns records for the schema to read, such as
    a merge or a duplicate pair, and would have shown fields the schema leaves out.
    """
    from .api import api  # (the API imports every router, and the routers import this module)

    # The router sets its record of the operation on the function it registers, ``handler``;
    # the API serves copies of that record bound to itself, which a handler cannot reach, so a
    # copy is bound here the same way to answer through ninja's own code.
    operation = copy.copy(handler._ninja_operation)
    operation.api = api
    return operation._result_to_response(request, result, api.create_temporal_response(request))


def _replay(request: HttpRequest, stored: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if stored.fingerprint != fingerprint:
        message = _(
            "This key was already used for a different request. Use a new key for a new request."
        )
        raise ApiError(422, message, {HEADER: message})
    body = stored.response_body
    if stored.response_encrypted:
        if not request.auth.may_view_sensitive():
            raise PermissionDenied(_("You may not see sensitive data in full."))
        body = decrypt_text(body)
    response = HttpResponse(
        body, status=stored.response_status, content_type="application/json; charset=utf-8"
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _answer_once(
    request: HttpRequest, key: str, sensitive: bool, call: Callable[[], Any], *, fingerprint: str
) -> HttpResponseBase:
    user = request.auth
    stored = _stored_answer(user, key)
    if stored is not None:
        return _replay(request, stored, fingerprint)
    # Purge on write, outside the transaction so it holds no locks while the request runs: it
    # keeps the table small without a scheduled job, and frees this key if it expired (keys
    # may be reused after a day). ``guanxi purge-idempotency-keys`` covers users who stopped.
    IdempotencyKey.objects.filter(user=user, created_at__lt=timezone.now() - KEEP_FOR).delete()
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user=user, key=key, fingerprint=fingerprint, created_at=timezone.now()
                    )
            except IntegrityError:
                raise _KeyTaken from None
            response = call()
            if not 200 <= response.status_code < 300 or response.streaming:
                transaction.set_rollback(True)  # only successful answers are kept
                return response
            body = response.content.decode("utf-8")
            record.response_status = response.status_code
            record.response_body = encrypt_text(body) if sensitive else body
            record.response_encrypted = sensitive
            record.save(update_fields=["response_status", "response_body", "response_encrypted"])
    except _KeyTaken:
        stored = _stored_answer(user, key)
        if stored is None:  # the other request's row expired or was purged meanwhile
            raise ApiError(
                409, _("Another request with this key was being processed. Try again.")
            ) from None
        return _replay(request, stored, fingerprint)
    return response


def purge_expired_keys(*, now: dt.datetime | None = None) -> int:
    """Delete every stored answer older than the replay window; returns how many."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
