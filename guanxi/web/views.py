"""Pages that belong to no domain: friendly error pages, in the API's JSON shape under /api/."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found


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
