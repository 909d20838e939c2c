"""Size limits on what a request may send, held to before or while it is read rather than after.

Django reads a multipart body whole before anything looks at its files, writing each file to a
temporary file however large, and the CSRF check reads it first, as the middleware runs, before
the view could refuse anything: a limit checked in the view or the form only says no once all
of it has arrived. :func:`refuses_files_over` reads the request itself, with a handler that stops
at the first file past the limit, before the CSRF check runs; every other page and endpoint
takes no more than a form's data (:class:`RequestBodyLimitMiddleware`).
"""

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, UnreadablePostError
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

TOO_LARGE = 413
# A body sent in chunks, its size not said: a WSGI server gives Django nothing of it (there is
# no Content-Length to read up to), so the page would find no file and no field at all.
LENGTH_REQUIRED = 411


@dataclass(frozen=True)
class UploadRefused:
    """Why a request's files were not taken: ``status`` is :data:`TOO_LARGE` or
    :data:`LENGTH_REQUIRED`; ``file_name`` names the file found too large while it was read,
    empty when the request was refused for what it said of itself. ``fields``: the form's
    fields that came before that file, to show the form again with them (none when nothing
    was read)."""

    status: int
    file_name: str = ""
    fields: QueryDict = field(default_factory=QueryDict)


def sent_without_length_message() -> str:
    return _(
        "The upload did not say its size, so it could not be received: nothing was saved. "
        "Upload it from the page in a browser, which says it."
    )


class _FileSizeCap(FileUploadHandler):
    """Stops reading the request at the first file of more than ``limit_bytes``. Put before
    Django's own handlers, it is given each piece first: the temporary file being written
    stops there too, and is deleted as the upload is stopped."""

    def __init__(self, request: HttpRequest, limit_bytes: int):
        super().__init__(request)
        self.limit_bytes = limit_bytes
        self.refused_file_name: str | None = None
        self._received = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > self.limit_bytes:
            self.refused_file_name = self.file_name or ""
            # The rest is read and thrown away, not kept (no connection_reset): a server that
            # answers and closes the connection with some of the request unread resets it, and
            # the browser, still sending, shows a broken connection instead of the page saying
            # why (gunicorn's default worker did so for one upload in five).
            raise StopUpload()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the file is Django's own handlers' to keep


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def refuses_files_over(
    *,
    file_limit_bytes: Callable[[], int],
    refuse: Callable[..., HttpResponse],
    body_limit_bytes: Callable[[], int] | None = None,
):
    """A POST to the decorated view is read with no file of more than ``file_limit_bytes()``
    taken, and the view is not called when one is: ``refuse(request, UploadRefused, *args,
    **kwargs)`` answers instead (a page saying so; nothing was saved). A request saying it
    carries more than ``body_limit_bytes()``, when given, is refused before any of it is read,
    and one that does not say its size (sent in chunks) too.

    The view keeps its CSRF check, run once the body is read with the limit in place (the
    middleware's would read it without). A file refused as it was read is CSRF-checked too,
    with the fields read before it (the page's forms put the token first): a cross-site post
    gets the CSRF failure, never the page with what it sent. A request refused before any of
    it is read is answered with the page as a GET shows it, and the error."""

    def decorator(view):
        protected_view = csrf_protect(view)
        protected_refuse = csrf_protect(refuse)

        @wraps(view)
        def limited_view(request, *args, **kwargs):
            if request.method != "POST":
                return protected_view(request, *args, **kwargs)
            length = _declared_length(request)
            sent_in_chunks = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
            if length is None and sent_in_chunks:
                return refuse(request, UploadRefused(LENGTH_REQUIRED), *args, **kwargs)
            if body_limit_bytes is not None and (length or 0) > body_limit_bytes():
                return refuse(request, UploadRefused(TOO_LARGE), *args, **kwargs)
            cap = _FileSizeCap(request, file_limit_bytes())
            request.upload_handlers.insert(0, cap)
            # The client going away meanwhile: the CSRF check finds no token, as it did before.
            with suppress(UnreadablePostError):
                request.POST  # noqa: B018 (read now, through the cap)
            if cap.refused_file_name is not None:
                refused = UploadRefused(TOO_LARGE, cap.refused_file_name, request.POST)
                return protected_refuse(request, refused, *args, **kwargs)
            return protected_view(request, *args, **kwargs)

        return reads_body_within_own_limit(csrf_exempt(limited_view))

    return decorator


# Multipart framing around a form's fields (boundaries, part headers): generous for the largest
# form any page has, the admin's editable lists of a thousand fields.
_FORM_FRAMING_BYTES = 1024 * 1024


def request_body_limit_bytes() -> int:
    """The largest body a page or endpoint without a limit of its own takes: Django's own
    limit on the data of a form (``DATA_UPLOAD_MAX_MEMORY_SIZE``, which does not count files)
    plus its framing. None of these pages takes a file, so nothing sent within it is lost."""
    return (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + _FORM_FRAMING_BYTES


def reads_body_within_own_limit(view):
    """Marks a view that holds what it reads of a body to a limit of its own (the import and
    ticket pages' files, the inbound-mail webhook's emails), so that
    :class:`RequestBodyLimitMiddleware` leaves the request to it."""
    view.reads_body_within_own_limit = True
    return view


class RequestBodyLimitMiddleware:
    """Refuses, before any of it is read, a body larger than :func:`request_body_limit_bytes`
    sent to a view without a limit of its own.

    Without it, a post to any page is read whole by the CSRF check before the view runs, and
    the files of a multipart body go to temporary files whatever their size: the sign-in page,
    which takes posts from anyone, would read and store as much as it was sent. Listed before
    ``CsrfViewMiddleware``, since that reads the body as it checks the view it is about to call.
    A body sent in chunks without a length is given to Django as empty by a WSGI server, so it
    needs no check here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "reads_body_within_own_limit", False):
            return None
        length = _declared_length(request) or 0
        if length <= request_body_limit_bytes():
            return None
        detail = _("The request is too large (%(size)s); nothing was saved.") % {
            "size": filesizeformat(length)
        }
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail, "errors": []}, status=TOO_LARGE)
        return render(request, "413.html", {"detail": detail}, status=TOO_LARGE)
