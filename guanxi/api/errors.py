"""The one error shape of the API, and the mapping from exceptions to it.

Every error answer is JSON of the form::

    {"detail": "<a sentence for people>",
     "errors": [{"field": "phones[0].number", "message": "..."}]}

Field names use the same paths as ``customers.validation`` (``phones[0].number``,
``custom_fields.budget``), whether the problem was found by the request schema or by a service,
so a client can highlight the offending input without knowing which layer complained. Query
parameters and headers are named as they are sent (``ordering``, ``Idempotency-Key``).
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError

from guanxi.core.keyset import CursorError
from guanxi.core.limits import at_most_characters
from guanxi.core.locking import is_lock_contention, logged_as_busy
from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError, WholeNumberLimitReached

logger = logging.getLogger("django.request")


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldErrorOut]


class StaleVersionOut(ErrorOut):
    current_version: int


class RevokedTokenError(AuthenticationError):
    """The API token sent was revoked: answered 401 like any token refused, but saying why."""


def error_responses(*codes: int) -> dict[int, type[Schema]]:
    """OpenAPI responses for the errors an operation can give: bad request, unauthenticated
    and invalid input always, plus ``codes`` (403, 404...)."""
    return dict.fromkeys((400, 401, 422, *codes), ErrorOut)


class ApiError(Exception):
    """An error raised by an API handler itself (not by a service), already in the API's
    terms: a status, a sentence and optionally the fields it concerns."""

    # ``status`` and ``detail`` are positional only, so that an answer may carry a "status" of
    # its own among ``extra`` (a background export's, for one).
    def __init__(
        self,
        status: int,
        detail: str,
        /,
        errors: Mapping[str, str | Sequence[str]] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = _field_errors(errors or {})
        self.extra = extra


@contextmanager
def refers_to(field: str, model: type[Model], message: str) -> Iterator[None]:
    """Within, a ``model`` row that does not exist, or that the caller may not see, is answered
    404 with ``message`` about ``field``, the input that named it.

    For ids sent in the body: a 404 for an id in the path speaks for itself, but one for an id
    in the body did not say which of the request's ids it was about. A handler whose path names
    a row of the same model looks that one up first, so that only the body's is named.
    """
    try:
        yield
    except model.DoesNotExist:
        raise ApiError(404, message, {field: message}) from None


class BadText(ValueError):
    """Input text that no database column can hold (NUL characters, lone UTF-16 surrogates);
    raised while parsing, before any schema sees the value."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def field_path(parts: Iterable[Any]) -> str:
    """``("phones", 0, "number")`` -> ``"phones[0].number"``."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _field_errors(errors: Mapping[str, str | Sequence[str]]) -> list[dict[str, str]]:
    result = []
    for field, messages in errors.items():
        for message in [messages] if isinstance(messages, str) else messages:
            result.append({"field": "" if field == NON_FIELD_ERRORS else field, "message": message})
    return result


def error_body(detail: str, errors: list[dict[str, str]] | None = None, **extra) -> dict:
    return {"detail": detail, "errors": errors or [], **extra}


def busy_database_body() -> dict:
    """The answer's body to a request that met a busy database (503, with Retry-After): the
    API's own, and the web's for a request under /api/ that a middleware failed."""
    return error_body(_("The database is busy. Try again in a moment."))


def server_error_body() -> dict:
    """The answer's body to a request that met a fault (500): the API's own, and the web's for
    a request under /api/ that a middleware failed."""
    return error_body(_("Something went wrong on the server."))


def _invalid_fields_detail(errors: list[dict[str, str]]) -> str:
    fields = sorted({e["field"] for e in errors if e["field"]})
    if not fields:
        return errors[0]["message"] if errors else _("The request is not valid.")
    return _("Some values are not valid: %(fields)s.") % {"fields": ", ".join(fields)}


def _choices(ctx: Mapping[str, Any]) -> str:
    """The allowed values of a choice, from pydantic's English "'a', 'b' or 'c'"."""
    expected = str(ctx.get("expected", ""))
    values = re.findall(r"'((?:[^'\\]|\\.)*)'", expected)
    return ", ".join(values) if values else expected


def _n(ctx: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {"n": ctx.get(key)}


def _too_few_items(ctx: Mapping[str, Any]) -> str:
    n = ctx["min_length"]
    return ngettext("At least %(n)d item.", "At least %(n)d items.", n) % {"n": n}


def _too_many_items(ctx: Mapping[str, Any]) -> str:
    n = ctx["max_length"]
    return ngettext("At most %(n)d item.", "At most %(n)d items.", n) % {"n": n}


def _limit(ctx: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {"limit": ctx.get(key)}


# Pydantic writes its messages in English only; the ones a client can meet are said again here,
# by the error's type and with its context, in the words the services use and in the request's
# language. A type not listed (none of the project's schemas give one) keeps pydantic's text.
# Errors a validator of the project raises (PydanticCustomError) are translated where raised.
_SCHEMA_MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda ctx: _("This field is required."),
    "extra_forbidden": lambda ctx: _("Unknown field."),
    "string_type": lambda ctx: _("Expected text."),
    "int_type": lambda ctx: _("Expected a whole number."),
    "int_parsing": lambda ctx: _("Expected a whole number."),
    "int_from_float": lambda ctx: _("Expected a whole number."),
    "float_type": lambda ctx: _("Expected a number."),
    "float_parsing": lambda ctx: _("Expected a number."),
    "decimal_type": lambda ctx: _("Expected a number."),
    "decimal_parsing": lambda ctx: _("Expected a number."),
    "finite_number": lambda ctx: _("Expected a number."),
    "bool_type": lambda ctx: _("Expected true or false."),
    "bool_parsing": lambda ctx: _("Expected true or false."),
    "dict_type": lambda ctx: _("Expected an object."),
    "model_type": lambda ctx: _("Expected an object."),
    "model_attributes_type": lambda ctx: _("Expected an object."),
    "list_type": lambda ctx: _("Expected a list."),
    "string_too_short": lambda ctx: (
        _("This field cannot be empty.")
        if ctx.get("min_length") == 1
        else _("At least %(n)d characters.") % _n(ctx, "min_length")
    ),
    "string_too_long": lambda ctx: at_most_characters(ctx["max_length"]),
    "too_short": _too_few_items,
    "too_long": _too_many_items,
    "string_pattern_mismatch": lambda ctx: _("Not in the expected form."),
    "greater_than": lambda ctx: _("Must be greater than %(limit)s.") % _limit(ctx, "gt"),
    "greater_than_equal": lambda ctx: _("Must be at least %(limit)s.") % _limit(ctx, "ge"),
    "less_than": lambda ctx: _("Must be less than %(limit)s.") % _limit(ctx, "lt"),
    "less_than_equal": lambda ctx: _("Must be at most %(limit)s.") % _limit(ctx, "le"),
    "decimal_max_digits": lambda ctx: _("At most %(n)d digits in all.") % _n(ctx, "max_digits"),
    "decimal_max_places": lambda ctx: (
        _("At most %(n)d digits after the decimal point.") % _n(ctx, "decimal_places")
    ),
    "decimal_whole_digits": lambda ctx: (
        _("At most %(n)d digits before the decimal point.") % _n(ctx, "whole_digits")
    ),
    "literal_error": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": _choices(ctx)},
    "enum": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": _choices(ctx)},
    "date_type": lambda ctx: _("Expected a date as YYYY-MM-DD."),
    "date_parsing": lambda ctx: _("Expected a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": lambda ctx: _("Expected a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": lambda ctx: _("Expected a date as YYYY-MM-DD."),
    "datetime_type": lambda ctx: _("Not a valid date and time."),
    "datetime_parsing": lambda ctx: _("Not a valid date and time."),
    "datetime_from_date_parsing": lambda ctx: _("Not a valid date and time."),
    "datetime_object_invalid": lambda ctx: _("Not a valid date and time."),
}


def schema_message(error: Mapping[str, Any]) -> str:
    """The message for one of pydantic's errors, in the request's language."""
    translate = _SCHEMA_MESSAGES.get(error.get("type", ""))
    if translate is None:
        return str(error.get("msg", ""))
    return str(translate(error.get("ctx") or {}))


def schema_errors(raw_errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Turn ninja's list of pydantic errors into the API's field errors.

    ninja reports locations as ``(source, [body parameter name,] *path)``; the source and the
    body parameter's Python name mean nothing to a client, so they are dropped.
    """
    result = []
    for error in raw_errors:
        loc = list(error.get("loc") or ())
        source = loc.pop(0) if loc else ""
        if source == "body" and loc:
            loc.pop(0)
        if error.get("type") == "missing" and loc and str(loc[-1]).endswith("version"):
            # Say what a version is for and where it comes from, not only that it is missing.
            message = _(
                "Send the version you read, so that changes made meanwhile are not "
                "overwritten; read the record again if you do not have it."
            )
        else:
            message = schema_message(error)
        result.append({"field": field_path(loc), "message": str(message)})
    return result


def install_error_handlers(api: NinjaAPI) -> None:
    """Register the mapping from exceptions to the error shape on ``api``."""

    def respond(request: HttpRequest, status: int, body: dict) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return respond(request, exc.status, error_body(exc.detail, exc.errors, **exc.extra))

    @api.exception_handler(SchemaValidationError)
    def schema_invalid(request, exc: SchemaValidationError):
        errors = schema_errors(exc.errors)
        body_errors = [e for e in errors if not e["field"]]
        if body_errors and len(body_errors) == len(errors):
            # The body as a whole has the wrong shape (a list or a string instead of an object).
            return respond(request, 422, error_body(_("The request body must be a JSON object.")))
        return respond(request, 422, error_body(_invalid_fields_detail(errors), errors))

    @api.exception_handler(DjangoValidationError)
    def service_invalid(request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = _field_errors(exc.message_dict)
        else:
            errors = [{"field": "", "message": m} for m in exc.messages]
        return respond(request, 422, error_body(_invalid_fields_detail(errors), errors))

    @api.exception_handler(BadText)
    def bad_text(request, exc: BadText):
        message = _("Text may not contain NUL characters or unpaired surrogates.")
        return respond(
            request,
            400,
            error_body(message, [{"field": exc.field, "message": message}] if exc.field else []),
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc, RevokedTokenError):
            return respond(
                request,
                401,
                error_body(
                    _(
                        "This API token was revoked: make a new one on the API tokens page, "
                        "or ask an administrator."
                    )
                ),
            )
        if isinstance(exc, AuthenticationError):
            return respond(
                request,
                401,
                error_body(_("Authentication required: send a valid API token or sign in.")),
            )
        cause = exc.__cause__
        if isinstance(cause, BadText):  # found by the body parser, which wraps what it raises
            return bad_text(request, cause)
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return respond(request, 400, error_body(_("The request body is not valid JSON.")))
        return respond(request, exc.status_code, error_body(str(exc)))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc: RequestDataTooBig):
        return respond(request, 413, error_body(_("The request body is too large.")))

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request, exc: SuspiciousOperation):
        # Django answers these with a bare 400 outside the API; too many query parameters,
        # for instance.
        return respond(request, 400, error_body(_("The request is malformed.")))

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc: PermissionDenied):
        detail = str(exc) or _("You may not do this.")
        return respond(request, 403, error_body(detail))

    @api.exception_handler(ObjectDoesNotExist)
    def missing(request, exc: ObjectDoesNotExist):
        # The same answer whether the record does not exist or the caller may not see it.
        if isinstance(exc, Customer.DoesNotExist):
            return respond(request, 404, error_body(_("No such customer.")))
        return respond(request, 404, error_body(_("Not found.")))

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return respond(request, 404, error_body(_("Not found.")))

    @api.exception_handler(StaleVersionError)
    def stale(request, exc: StaleVersionError):
        if exc.field == "merged_version":
            message = _(
                "Someone changed the other customer since you read it (it is now at version "
                "%(v)d). Read it again and repeat the merge."
            ) % {"v": exc.current_version}
        else:
            message = _(
                "Someone changed this customer since you read it (it is now at version %(v)d). "
                "Read it again and repeat your change."
            ) % {"v": exc.current_version}
        return respond(
            request,
            409,
            error_body(
                message,
                [{"field": exc.field, "message": message}],
                current_version=exc.current_version,
            ),
        )

    @api.exception_handler(WholeNumberLimitReached)
    def too_many_whole_numbers(request, exc: WholeNumberLimitReached):
        message = exc.message()
        response = respond(
            request, 429, error_body(message, [{"field": exc.field, "message": message}])
        )
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(CursorError)
    def bad_cursor(request, exc: CursorError):
        message = _("This cursor is not valid: start again from the first page.")
        return respond(request, 400, error_body(message, [{"field": "cursor", "message": message}]))

    @api.exception_handler(OperationalError)
    def busy(request, exc: OperationalError):
        # Lock contention is worth a retry (with the same Idempotency-Key, a retried POST is
        # safe): SQLite's busy timeout ran out, or PostgreSQL chose this transaction to break
        # a deadlock. Everything else is a real fault.
        if not is_lock_contention(exc):
            return unexpected(request, exc)
        return logged_as_busy(request, exc, respond(request, 503, busy_database_body()))

    @api.exception_handler(Exception)
    def unexpected(request, exc: Exception):
        # Logged like Django logs an unhandled exception, so the usual alerting still fires,
        # but the client gets the same JSON shape as for every other error.
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exc,
            extra={"status_code": 500, "request": request},
        )
        response = respond(request, 500, server_error_body())
        response._has_been_logged = True  # Django would log the 500 again, without the trace
        return response
