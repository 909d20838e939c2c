"""Pages that belong to no domain: the home redirect and friendly error pages."""

from django.shortcuts import render


def csrf_failure(request, reason: str = ""):
    """Shown instead of Django's technical CSRF page when a form is stale or forged."""
    return render(request, "403_csrf.html", status=403)
