"""The WSGI application for any WSGI server (``gunicorn guanxi.wsgi``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings.local")
application = get_wsgi_application()


def _settle() -> None:
    """Import every view and API module now rather than on the first request, then exempt
    everything loaded so far from garbage collection.

    Those objects live as long as the process (pypinyin's dictionaries alone are about 190,000
    of them), yet every full collection walked them all: on the customer list that was a pause
    of over 100 ms every forty-odd requests, the whole of the p99.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - loading is the point
    gc.freeze()


_settle()
