"""Answers for pages whose view raised what is not a fault."""

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_htmx.middleware import HtmxDetails

from guanxi.api.errors import busy_database_body
from guanxi.core.locking import is_lock_contention, logged_as_busy
from guanxi.web.pages import is_customer_page


class BusyDatabaseMiddleware:
    """A page whose database work met others' locks (SQLite's busy timeout ran out, PostgreSQL
    broke a deadlock with it) is answered 503 with Retry-After, as the API answers it, instead
    of the 500 page of a fault: the work is worth repeating. The view's transaction has rolled
    back by the time its exception gets here, so nothing of it was saved.

    Only a view's exceptions come here: Django turns one raised by a middleware (the session
    read to find who is signed in, the session saved on the way out) into the 500 page at that
    middleware, and ``guanxi.web.views.server_error`` answers those with :func:`busy_answer`.
    The API answers its own errors; other exceptions go on to Django as before.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/") or not is_lock_contention(exception):
            return None
        return busy_answer(request, exception)


def busy_answer(request, exception: BaseException) -> HttpResponse:
    """The answer to a request that met a busy database (``exception``, the lock contention):
    503 with Retry-After, logged as :func:`~guanxi.core.locking.logged_as_busy` logs it.

    The page is rendered without the request's context processors, which read the database
    that was just too busy (nor is ``request.user`` asked: finding it may be what failed).
    htmx swaps in only a successful answer, so its requests get one that swaps nothing where
    they aimed (a form keeps what was typed in it) and puts the sentence in the page's alert
    place instead. Under /api/ (a middleware failed before the API could answer) the API's
    error shape."""
    if request.path.startswith("/api/"):
        return logged_as_busy(request, exception, JsonResponse(busy_database_body(), status=503))
    # A middleware before django-htmx's may be what failed: read the header here then.
    htmx = getattr(request, "htmx", None) or HtmxDetails(request)
    if htmx and not htmx.history_restore_request:
        response = HttpResponse(render_to_string("_busy_alert.html"))
        response["HX-Reswap"] = "none"
        return logged_as_busy(request, exception, response)
    # A customer's page (the status page, the survey) offers itself again: the staff's pages
    # are closed to customers.
    again = request.get_full_path() if is_customer_page(request) else None
    response = HttpResponse(render_to_string("503.html", {"again": again}), status=503)
    return logged_as_busy(request, exception, response)
