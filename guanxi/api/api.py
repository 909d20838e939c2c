"""The assembled REST API under ``/api/v1/``.

Each domain app contributes a router from its ``api.py``; this module puts them together with
the authentication, the body parser, the one error shape and the documentation pages. The
interactive docs (Swagger UI) load their JavaScript and CSS from the copy django-ninja ships as
static files (``ninja`` is in ``INSTALLED_APPS``), never from a CDN, so they work offline.
"""

import json
from functools import wraps
from http.client import responses

from django.http import HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.openapi.schema import OpenAPISchema

from guanxi.accounts.api import router as accounts_router
from guanxi.analytics.api import router as analytics_router
from guanxi.customers.api import router as customers_router
from guanxi.dedup.api import router as dedup_router
from guanxi.interactions.api import router as interactions_router
from guanxi.orders.api import router as orders_router
from guanxi.service.api import router as service_router

from .auth import ApiTokenAuth, SessionAuth
from .errors import ErrorOut, error_body, install_error_handlers
from .parsing import StrictJSONParser

DESCRIPTION = """\
The Guanxi CRM over HTTP.

**Authentication.** Send a personal token as `Authorization: Bearer gx_...` (make one on the
*API tokens* page, or with `guanxi api-token USERNAME`). In a browser signed in to Guanxi the
session works too; changes then need the `X-CSRFToken` header, which this page sends for you.

**Errors** are JSON: `{"detail": "...", "errors": [{"field": "phones[0].number", "message":
"..."}]}`. A customer you may not see is answered with 404, exactly like one that does not exist.

**Lists** are keyset-paginated: pass the answer's `next_cursor` as `cursor` for the next page.

**Changes** to a customer must carry the `version` you read (or `If-Match` with its ETag); if
someone saved in between, the answer is 409 and nothing is written.

**Retries.** Every POST accepts an `Idempotency-Key` header: repeating the same request with the
same key within 24 hours returns the first answer and writes nothing new. A busy database is
answered 503 with `Retry-After`: send the request again, with the same key.

**Methods.** A method an address does not take is answered 405 in the error shape, with the
methods it takes in `Allow`.
"""


class GuanxiSchema(OpenAPISchema):
    """The OpenAPI schema, with the answers the API gives around every operation declared on
    each operation that can give them, in the error shape; here rather than by each handler, so
    that an operation added later cannot leave them out.

    503: every operation authenticates through the database (and marks the token used), which
    may be busy. 413: every operation taking a request body. (Any request whose body is over the
    limit is refused so, but only these ask for a body.) 405 is not declared: it answers a
    method no operation of the address takes, so there is no operation to declare it on; the
    description says it.
    """

    def operation_details(self, operation) -> dict:
        details = super().operation_details(operation)
        # Every operation declares ErrorOut among its own answers, so its component is there.
        shape = {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}
        error = {"content": {self.api.renderer.media_type: {"schema": shape}}}
        answers = details["responses"]
        answers.setdefault(503, {"description": responses[503], **error})
        if "requestBody" in details:
            answers.setdefault(413, {"description": responses[413], **error})
        return details


class GuanxiAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return GuanxiSchema(api=self, path_prefix=path_prefix)

    def get_openapi_operation_id(self, operation) -> str:
        # The stable route name ("customer_list") rather than module path plus function name.
        return getattr(operation, "url_name", None) or super().get_openapi_operation_id(operation)

    def _get_urls(self):
        return [
            _json_method_not_allowed(pattern) if isinstance(pattern, URLPattern) else pattern
            for pattern in super()._get_urls()
        ]


def _json_method_not_allowed(pattern: URLPattern) -> URLPattern:
    """ninja answers an unsupported method with a plain-text 405; give it the error shape."""
    view = pattern.callback

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = HttpResponse(
                json.dumps(
                    error_body(
                        _("This address does not accept %(method)s; it accepts %(allowed)s.")
                        % {"method": request.method, "allowed": allowed}
                    )
                ),
                status=405,
                content_type="application/json; charset=utf-8",
            )
            response["Allow"] = allowed
        return response

    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)
    return URLPattern(pattern.pattern, wrapped, pattern.default_args, pattern.name)


api = GuanxiAPI(
    title="Guanxi API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=[ApiTokenAuth(), SessionAuth()],
    parser=StrictJSONParser(),
    # No online validator badge: it would fetch an image from swagger.io.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
install_error_handlers(api)
api.add_router("", dedup_router)
api.add_router("", customers_router)
api.add_router("", analytics_router)
api.add_router("", interactions_router)
api.add_router("", orders_router)
api.add_router("", service_router)
api.add_router("", accounts_router)
