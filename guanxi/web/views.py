"""Pages that belong to no domain: friendly error pages, in the API's JSON shape under /api/."""

import sys

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.defaults import page_not_found

from guanxi.api.errors import server_error_body
from guanxi.core.locking import is_lock_contention, lock_contention_in
from guanxi.web.middleware import busy_answer


def csrf_failure(request, reason: str = ""):
    """Shown instead of Django's technical CSRF page when a form is stale or forged."""
    return render(request, "403_csrf.html", status=403)


def not_found(request, exception=None):
    """A URL nothing answers. API clients get the API's error shape instead of an HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": _("There is no such API endpoint."), "errors": []}, status=404
        )
    return page_not_found(request, exception)


def server_error(request):
    """What Django shows for an exception nothing answered, called while it is being handled.
    A busy database met by a middleware rather than a view (the session read to find who is
    signed in, a new session saved on the way out) comes here, where no middleware of ours sees
    it: Django turns it into this page at the middleware that raised it. It is answered as a
    view's is (503, Retry-After, the sentence in the page's alert place for htmx) and, like that
    one, logged as a busy database rather than as a fault. Everything else is Django's 500 page,
    as before: an exception raised while handling lock contention (its context) is a fault of
    the code handling it, and must still be logged. Under /api/ (a middleware failed before the
    API could answer) the fault is answered in the API's error shape, and logged by Django as
    any fault is."""
    exception = sys.exc_info()[1]
    if exception is not None and is_lock_contention(exception):
        return busy_answer(request, exception)
    if request.path.startswith("/api/"):
        return JsonResponse(server_error_body(), status=500)
    return defaults.server_error(request)


def bad_request(request, exception):
    """A request Django refused as bad. Saving a session that exists already fails as "the
    session was interrupted" (a 400) whatever the database said, so an update of it that met a
    busy database is told apart here by what it was raised from, and answered as
    :func:`server_error` answers one, and logged as it is: Django would log it as an error,
    saying the session was deleted, which it was not."""
    contention = lock_contention_in(exception)
    if contention is not None:
        return busy_answer(request, contention)
    return defaults.bad_request(request, exception)
