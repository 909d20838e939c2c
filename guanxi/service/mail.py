"""Mail between the service desk and customers, through Django's email backends.

Every message to a customer carries the ticket's token in its subject — ``[T-000123-1a2b3c4d]``,
the number and a short keyed hash of it, so a reply cannot be steered into a ticket whose mail
its sender never received — and a Message-ID stored with the ticket's message; a reply is filed
under the ticket by either (see :mod:`guanxi.service.inbound`). Replies go to the desk's inbound
address (``GUANXI_SERVICE_EMAIL``).
"""

import hashlib
import hmac
import re

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, make_msgid
from django.urls import reverse

TOKEN_PATTERN = re.compile(r"\[T-(\d{1,12})-([0-9a-f]{8})\]")
STATUS_SALT = "guanxi.service.ticket-status"
SURVEY_SALT = "guanxi.service.survey"


def service_address() -> str:
    return getattr(settings, "GUANXI_SERVICE_EMAIL", "") or settings.DEFAULT_FROM_EMAIL


def _ticket_hash(ticket_id: int) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"ticket:{ticket_id}".encode(), hashlib.sha256).hexdigest()[:8]


def ticket_token(ticket_id: int) -> str:
    return f"[T-{ticket_id:06d}-{_ticket_hash(ticket_id)}]"


def ticket_id_from_subject(subject: str) -> int | None:
    """The ticket a subject's token names, if the token is genuine."""
    for number, digest in TOKEN_PATTERN.findall(subject or ""):
        if hmac.compare_digest(digest, _ticket_hash(int(number))):
            return int(number)
    return None


def status_link_token(ticket_id: int) -> str:
    return signing.dumps(ticket_id, salt=STATUS_SALT)


def ticket_id_from_status_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=STATUS_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def survey_token(ticket_id: int) -> str:
    return signing.dumps(ticket_id, salt=SURVEY_SALT)


def ticket_id_from_survey_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=SURVEY_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def absolute_url(path: str) -> str:
    base = getattr(settings, "GUANXI_BASE_URL", "").rstrip("/")
    return f"{base}{path}"


def ticket_url(ticket_id: int) -> str:
    """The ticket's page, for staff (its signed-in page, not the customer's status link)."""
    return absolute_url(reverse("service:detail", args=[ticket_id]))


def status_url(ticket_id: int) -> str:
    return absolute_url(reverse("service:public_status", args=[status_link_token(ticket_id)]))


def survey_url(ticket_id: int) -> str:
    return absolute_url(reverse("service:public_survey", args=[survey_token(ticket_id)]))


def one_line(subject: str) -> str:
    """A subject as one line: the mailer refuses a header with a line break, and tickets stored
    before subjects were kept on one line may still hold one."""
    return " ".join(subject.split())


def send_to_customer(*, ticket, to: str, subject: str, body: str, in_reply_to: str = "") -> str:
    """Send one message about ``ticket``; returns its Message-ID (stored with the ticket's
    message so the customer's reply threads back)."""
    message_id = make_msgid(domain=service_address().rpartition("@")[2] or "guanxi.local")
    headers = {"Message-ID": message_id}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
        headers["References"] = in_reply_to
    EmailMessage(
        subject=f"{ticket_token(ticket.pk)} {one_line(subject)}",
        body=body,
        from_email=service_address(),
        to=[to],
        reply_to=[service_address()],
        headers=headers,
    ).send()
    return message_id


def send_to_staff(*, to: list[str], subject: str, body: str, connection=None) -> None:
    if to:
        EmailMessage(
            subject=one_line(subject),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=to,
            connection=connection,
        ).send()
