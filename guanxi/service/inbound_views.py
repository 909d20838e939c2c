"""The inbound-mail webhook: a mail provider (or a relay of one's own) posts each email sent to
the service desk's address here, and it is filed like one read from the mailbox.

The caller proves itself with the shared secret ``GUANXI_INBOUND_WEBHOOK_SECRET`` in the
``X-Guanxi-Webhook-Secret`` header; while the setting is empty everything is refused. The email
comes as the request body (``Content-Type: message/rfc822``) or as the form field ``email`` of a
``multipart/form-data`` post. The answer is JSON: ``{"action": "created", "ticket": "T-000123",
"reason": ""}``, the reason saying why an email was ignored or a duplicate.
"""

import hmac
import logging
from email import message_from_bytes
from email.policy import HTTP

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from guanxi.core.locking import lock_contention_in, logged_as_busy
from guanxi.core.uploads import reads_body_within_own_limit

from .inbound import UnreadableEmail, file_inbound_email

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024
SECRET_HEADER = "X-Guanxi-Webhook-Secret"  # noqa: S105 (the header's name, not a secret)
RAW_TYPES = ("message/rfc822", "text/plain", "application/octet-stream", "")
FORM_FIELD = "email"


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _secret_matches(request) -> bool:
    expected = getattr(settings, "GUANXI_INBOUND_WEBHOOK_SECRET", "") or ""
    given = request.headers.get(SECRET_HEADER, "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@reads_body_within_own_limit
@csrf_exempt
@require_POST
def inbound_email_webhook(request):
    if not _secret_matches(request):
        return _error(403, _("Missing or wrong webhook secret."))
    too_large = _("The email is larger than %(limit)d MB.") % {
        "limit": MAX_BODY_BYTES // (1024 * 1024)
    }
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _error(413, too_large)
    try:
        data = _read_body(request)
    except OSError:  # UnreadablePostError too: the client went away mid-upload
        logger.warning("Inbound email refused: the upload broke off")
        return _error(400, _("The upload broke off before the whole email arrived."))
    if len(data) > MAX_BODY_BYTES:
        return _error(413, too_large)
    if len(data) < declared:
        # What did arrive may well parse (headers whole, body cut short): filing it would keep a
        # truncated email as if it were the customer's.
        logger.warning("Inbound email refused: %d of %d bytes arrived", len(data), declared)
        return _error(400, _("The upload broke off before the whole email arrived."))
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        raw = _form_field(request.META.get("CONTENT_TYPE", ""), data)
        if raw is None:
            return _error(400, _("The form has no field named “email”."))
    elif content_type in RAW_TYPES:
        raw = data
    else:
        return _error(
            415, _("Send the email as message/rfc822, or as the field “email” of a form.")
        )
    if not raw.strip():
        return _error(400, _("The email is empty."))
    try:
        result = file_inbound_email(raw)
    except UnreadableEmail as error:
        # Refused for good (the provider does not send it again): the log is where it can be
        # found.
        logger.warning("Inbound email refused: %s", error)
        return _error(400, str(error))
    except ValidationError as error:
        logger.warning("Inbound email refused: %s", error)
        return _error(400, _("The email cannot be filed: %(errors)s") % {"errors": error})
    except Exception as error:
        # Never a bare 500: say "try again later", which providers do, and keep the details in
        # the log.
        response = _error(503, _("The email could not be filed now; try again later."))
        busy = lock_contention_in(error)
        if busy is not None:
            # Not a fault (nothing was filed; sent again, it will be): logged as every busy
            # answer is, without a trace, and not by Django as an error.
            return logged_as_busy(request, busy, response)
        logger.exception("Filing an inbound email failed")
        # Logged here, with its trace: Django would log the 503 again as an error, without it.
        response._has_been_logged = True
        return response
    ticket = result.ticket.number if result.ticket else None
    return JsonResponse({"action": result.action, "ticket": ticket, "reason": result.reason})


def _read_body(request) -> bytes:
    """Up to one byte more than the limit of the body, read until the stream ends.

    Read here rather than through request.body or request.POST: Django caps those at
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), and an email with attachments is often larger. Read in
    a loop because a server's input stream may hand over less than asked before its end, which
    must not be taken for a client that sent less than it announced.
    """
    chunks = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = request.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _form_field(content_type: str, data: bytes) -> bytes | None:
    """The ``email`` field of a multipart/form-data body, read with the standard library's MIME
    parser: Django's form parser keeps a plain (non-file) field to 2.5 MB, and providers send the
    email as a plain field."""
    try:
        form = message_from_bytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + data, policy=HTTP
        )
        if not form.is_multipart():
            return None
        for part in form.iter_parts():
            if part.get_param("name", header="content-disposition") != FORM_FIELD:
                continue
            if part.is_multipart():  # posted as a file of type message/rfc822: parsed already
                return part.get_payload(0).as_bytes(policy=HTTP.clone(utf8=True))
            return part.get_payload(decode=True) or b""
    except Exception:  # a form the parser cannot take is a form without the field
        return None
    return None
