"""Tickets in the REST API.

A ticket is reached through its customer, like every record: one of a customer out of sight
answers 404 as if it did not exist; answering, assigning and moving a ticket on needs the right
to interact with its customer (403 otherwise). Changes that could overwrite someone else's take
the ``version`` you read and answer 409 when it is stale.
"""

import datetime as dt
from typing import Annotated, Literal

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from guanxi.api.errors import ApiError, ErrorOut, StaleVersionOut, error_responses, refers_to
from guanxi.api.idempotency import idempotent
from guanxi.api.pagination import keyset_answer
from guanxi.api.schemas import (
    MAX_TICKET_ORDERS,
    BodyId,
    Cursor,
    InputSchema,
    Limit,
    Omittable,
    ParamId,
    RefOut,
    Version,
    column_text,
)
from guanxi.core.masking import text_as_seen_by
from guanxi.customers.models import Customer

from . import mail, services
from .models import CustomerEmail, Ticket, TicketMessage, email_languages
from .selectors import OPEN, ticket_get_for_user, ticket_orders_for_user, tickets_for_user

router = Router(tags=["service desk"])

TypeValue = Literal[tuple(Ticket.Type.values)]
StatusValue = Literal[tuple(Ticket.Status.values)]
StatusFilter = Literal[(OPEN, *Ticket.Status.values)]
PriorityValue = Literal[tuple(Ticket.Priority.values)]
ChannelValue = Literal[tuple(Ticket.Channel.values)]
AreaValue = Literal[tuple(Ticket.Area.values)]


def _offered_language(value: str) -> str:
    offered = [code for code, _name in email_languages()]
    if value not in offered:
        raise PydanticCustomError(
            "language_not_offered", _("Choose one of: %(values)s.") % {"values": ", ".join(offered)}
        )
    return value


def _offered_languages_enum(schema: dict) -> None:
    schema["enum"] = [code for code, _name in email_languages()]


# Checked against the site's languages when a request comes, not when this module was imported,
# as the service and the forms do; the schema lists those of the day it is generated.
LanguageValue = Annotated[
    str,
    AfterValidator(_offered_language),
    Field(json_schema_extra=_offered_languages_enum),
]
LANGUAGE_HELP = (
    "The language every email to the customer about the ticket is written in (the "
    "acknowledgement, replies' subjects, the satisfaction survey): one of the languages the "
    "site is offered in, `en` (English), `zh-hans` (Simplified Chinese) and `zh-hant` "
    "(Traditional Chinese) as shipped. It applies to every email sent after it is set, those not "
    "sent yet included."
)
# Counted as the service stores it, collapsed onto one line: a subject pasted with a line break
# or a run of spaces is not refused for characters that would never be kept.
Subject = column_text(Ticket, "subject", min_length=1, stored_as=mail.one_line)
Body = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
ORDERINGS = {"-id": "id"}


class TicketPersonOut(Schema):
    id: int
    username: str


class TicketOut(Schema):
    id: int
    number: str
    type: str
    subject: str
    customer: RefOut
    category_id: int | None
    area: str
    priority: str
    channel: str
    language: str = Field(description=LANGUAGE_HELP)
    status: str
    assignee: TicketPersonOut | None
    owner: TicketPersonOut | None
    team_id: int | None
    sla_policy_id: int | None
    first_response_due: dt.datetime | None
    next_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    first_responded_at: dt.datetime | None
    first_response_met: bool | None
    resolved_at: dt.datetime | None
    resolution_met: bool | None
    reopened_count: int
    merged_into_id: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class MessageOut(Schema):
    id: int
    kind: str
    body: str
    author_id: int | None
    created_at: dt.datetime
    email_from: str = Field(
        description="The address an email filed as this message came from, or empty. On a "
        "reply or note with an author: that user of the desk wrote it in their own mail "
        "program (a reply went to the customer from there, and was not sent again by the "
        "desk). On a note without an author: an email from an unknown sender, someone not "
        "known to write for the customer, kept for the agents and never shown to the customer."
    )
    email_sender_unverified: bool = Field(
        description="True on a note without an author kept because the site's mail server did "
        "not vouch for the email's From address (GUANXI_INBOUND_AUTHSERV_ID): the address may "
        "be the customer's or a desk user's, written by someone else. False otherwise."
    )
    customer_email: Literal["sending", "sent", "not_sent"] | None = Field(
        description="How the email of a reply written on the ticket page or through the API "
        "went to the customer: `sending` (not tried yet, as in the answer to the reply "
        "itself), `sent` (the mail server took it), or `not_sent` (the mail server could not "
        "be reached or refused it: it is tried again every minute for 24 hours, then left for "
        "someone to send again from the ticket's page). Null for what the desk does not email: "
        "the customer's messages, notes, and replies from the writer's own mail program."
    )


class CustomerEmailOut(Schema):
    id: int = Field(description="What `customer-emails/send-again` takes as `email_id`.")
    kind: Literal["reply", "acknowledgement", "survey"]
    message_id: int | None = Field(description="The reply it sends (replies only).")
    failure: Literal["unreachable", "refused", "not_tried"] = Field(
        description="Why it was not sent: the mail server `unreachable`, or it `refused` it; or "
        "`not_tried` within 24 hours (the sweep was not running)."
    )
    attempts: int
    failed_at: dt.datetime
    retried_until: dt.datetime = Field(
        description="Until when the every-minute sweep tries it again; after that it is left "
        "for someone to send again, and whoever holds the ticket is told on the bell."
    )


class TicketDetailOut(TicketOut):
    description: str
    messages: list[MessageOut]
    order_ids: list[int]
    customer_emails_not_sent: list[CustomerEmailOut] = Field(
        description="The emails to the customer about this ticket (replies, the acknowledgement "
        "of the request, the satisfaction survey) the mail server did not take, oldest first."
    )


class TicketPageOut(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class TicketListQuery(BaseModel):
    cursor: Cursor | None = None
    limit: Limit = 50
    status: StatusFilter | None = Field(
        None, description=f"A status, or `{OPEN}` for new, open and pending customer."
    )
    type: TypeValue | None = None
    priority: PriorityValue | None = None
    channel: ChannelValue | None = None
    category_id: ParamId | None = None
    assignee_id: ParamId | None = None
    unassigned: bool = Field(False, description="Only tickets nobody holds.")
    customer_id: ParamId | None = None
    breached: bool = Field(False, description="Only open tickets past a deadline.")
    created_from: dt.date | None = None
    created_to: dt.date | None = None


class TicketCreateIn(InputSchema):
    customer_id: BodyId
    type: TypeValue
    subject: Subject
    description: str | None = Field(None, max_length=20_000)
    category_id: BodyId | None = None
    area: AreaValue | None = None
    priority: PriorityValue | None = None
    channel: ChannelValue | None = Field(None, description="Defaults to phone.")
    order_ids: list[BodyId] | None = Field(
        None, max_length=MAX_TICKET_ORDERS, description="Orders of this customer it is about."
    )
    requester_email: column_text(Ticket, "requester_email") | None = None
    language: LanguageValue | None = Field(
        None,
        description=f"{LANGUAGE_HELP} Left out: Chinese when the subject and the description "
        "are written mostly in it, their Han characters, at three Latin letters each, weighing at "
        "least as much as their Latin letters (a Chinese name in English leaves it English; "
        "Japanese, with kana among them, is no Chinese), Traditional Chinese when they are "
        "mostly Traditional characters, else the site default.",
    )


class TicketPatchIn(InputSchema):
    """Null clears the description, category, area and orders; the other fields have no empty
    value, so they may be left out but not sent as null."""

    version: Version = Field(description="The version you read.")
    type: Omittable[TypeValue] = None
    subject: Omittable[Subject] = None
    description: str | None = Field(None, max_length=20_000)
    category_id: BodyId | None = None
    area: AreaValue | None = None
    priority: Omittable[PriorityValue] = None
    channel: Omittable[ChannelValue] = None
    order_ids: list[BodyId] | None = Field(None, max_length=MAX_TICKET_ORDERS)
    language: Omittable[LanguageValue] = Field(None, description=LANGUAGE_HELP)


class ReplyIn(InputSchema):
    body: Body
    status: Literal["pending_customer", "resolved"] | None = Field(
        None, description="Move the ticket on with the reply (then `version` is required)."
    )
    version: Version | None = Field(
        None,
        description="The version you read. Required with `status`, which replaces the "
        "ticket's status; a reply alone only adds to the conversation.",
    )


class NoteIn(InputSchema):
    body: Body


class StatusIn(InputSchema):
    status: StatusValue
    version: Version = Field(description="The version you read.")


class AssignIn(InputSchema):
    assignee_id: BodyId | None = Field(description="Null gives the ticket back to the queue.")
    version: Version = Field(description="The version you read.")


class SendAgainIn(InputSchema):
    email_id: BodyId = Field(
        description="An email of this ticket not sent to the customer (`customer_emails_not_sent`)."
    )


class TicketMergeIn(InputSchema):
    into_id: BodyId = Field(description="The ticket to keep.")
    version: Version = Field(description="The version you read of this ticket (merged away).")
    into_version: Version = Field(description="The version you read of the ticket to keep.")


def _out(ticket: Ticket, reader) -> dict:
    def person(user):
        return {"id": user.pk, "username": user.username} if user else None

    return {
        **{name: getattr(ticket, name) for name in TicketOut.model_fields if name not in (
            "customer", "assignee", "owner", "number", "subject", "language")},
        "number": ticket.number,
        "language": ticket.email_language,
        "subject": text_as_seen_by(reader, ticket.subject),
        "customer": {"id": ticket.customer_id, "name": ticket.customer.name},
        "assignee": person(ticket.assignee),
        "owner": person(ticket.owner),
    }  # fmt: skip


def _detail(ticket: Ticket, reader) -> dict:
    ticket = Ticket.objects.select_related("customer", "assignee", "owner").get(pk=ticket.pk)
    return {
        **_out(ticket, reader),
        "description": text_as_seen_by(reader, ticket.description),
        "messages": [
            {
                "id": m.pk,
                "kind": m.kind,
                "body": text_as_seen_by(reader, m.body),
                "author_id": m.author_id,
                "created_at": m.created_at,
                "email_from": m.email_from,
                "email_sender_unverified": m.email_sender_unverified,
                "customer_email": _customer_email(getattr(m, "customer_email", None)),
            }
            for m in ticket.messages.select_related("customer_email").order_by("created_at", "id")
        ],
        "order_ids": sorted(ticket_orders_for_user(reader, ticket).values_list("pk", flat=True)),
        "customer_emails_not_sent": [
            {
                "id": email.pk,
                "kind": email.kind,
                "message_id": email.message_id,
                "failure": email.failure,
                "attempts": email.attempts,
                "failed_at": email.failed_at,
                "retried_until": email.retried_until,
            }
            for email in CustomerEmail.objects.filter(
                Q(message__ticket=ticket) | Q(message=None, ticket=ticket),
                sent_at=None,
                failed_at__isnull=False,
            ).order_by("created_at", "id")
        ],
    }


def _stale(exc: services.StaleTicketError) -> ApiError:
    if exc.field == "into_version":
        message = _(
            "Someone changed the ticket to keep since you read it (it is now at version "
            "%(v)d). Read it again and repeat the merge."
        ) % {"v": exc.current_version}
    else:
        message = _(
            "Someone changed this ticket since you read it (it is now at version %(v)d). "
            "Read it again and repeat your change."
        ) % {"v": exc.current_version}
    return ApiError(409, message, {exc.field: message}, current_version=exc.current_version)


@router.get(
    "/tickets",
    response={200: TicketPageOut, **error_responses()},
    url_name="ticket_list",
    summary="List tickets",
)
def ticket_list(request: HttpRequest, query: Query[TicketListQuery]):
    """Tickets of every customer you may see, newest first, narrowed by the filters."""
    queryset = tickets_for_user(
        request.auth,
        **query.model_dump(exclude={"cursor", "limit"}),
    ).select_related("customer", "assignee", "owner")
    page = keyset_answer(
        queryset, ordering="-id", cursor=query.cursor, limit=query.limit, orderings=ORDERINGS
    )
    return {"items": [_out(t, request.auth) for t in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/tickets/{ticket_id}",
    response={200: TicketDetailOut, **error_responses(404)},
    url_name="ticket_detail",
    summary="Read a ticket",
)
def ticket_detail(request: HttpRequest, ticket_id: ParamId):
    """One ticket with its conversation (replies, the customer's messages, internal notes)."""
    return _detail(ticket_get_for_user(request.auth, ticket_id), request.auth)


@router.post(
    "/tickets",
    response={201: TicketDetailOut, **error_responses(403, 404, 409)},
    url_name="ticket_create",
    summary="Open a ticket",
)
@idempotent
def ticket_create(request: HttpRequest, payload: TicketCreateIn):
    """Open a ticket for a customer you may interact with; it is routed and given its service
    level at once."""
    data = payload.model_dump(exclude_unset=True, exclude={"customer_id"})
    with refers_to("customer_id", Customer, _("No such customer.")):
        ticket = services.ticket_create(
            actor=request.auth, customer_id=payload.customer_id, data=data
        )
    return Status(201, _detail(ticket, request.auth))


@router.patch(
    "/tickets/{ticket_id}",
    response={200: TicketDetailOut, 409: StaleVersionOut, **error_responses(403, 404)},
    url_name="ticket_update",
    summary="Change a ticket",
)
def ticket_update(request: HttpRequest, ticket_id: ParamId, payload: TicketPatchIn):
    """Change the fields you send. A change that makes another service-level policy match
    moves the ticket to it and recomputes its deadlines."""
    try:
        ticket = services.ticket_update(
            actor=request.auth,
            ticket_id=ticket_id,
            expected_version=payload.version,
            data=payload.model_dump(exclude_unset=True, exclude={"version"}),
        )
    except services.StaleTicketError as exc:
        raise _stale(exc) from None
    return _detail(ticket, request.auth)


@router.post(
    "/tickets/{ticket_id}/replies",
    response={201: MessageOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="ticket_reply",
    summary="Answer the customer",
)
@idempotent
def ticket_reply(request: HttpRequest, ticket_id: ParamId, payload: ReplyIn):
    """A reply, emailed to the customer; the first one is the first response. With `status`
    send the `version` you read: moving the ticket on replaces its status."""
    if payload.status is not None and payload.version is None:
        message = _(
            "Send the version you read with a status, so that a status someone set meanwhile "
            "is not overwritten; read the ticket again if you do not have it."
        )
        raise ApiError(422, message, {"version": message})
    try:
        message = services.ticket_reply(
            actor=request.auth,
            ticket_id=ticket_id,
            body=payload.body,
            status=payload.status,
            expected_version=payload.version,
        )
    except services.StaleTicketError as exc:
        raise _stale(exc) from None
    return Status(201, _message(message, request.auth))


def _message(message: TicketMessage, reader) -> dict:
    return {
        "id": message.pk,
        "kind": message.kind,
        "body": text_as_seen_by(reader, message.body),
        "author_id": message.author_id,
        "created_at": message.created_at,
        "email_from": message.email_from,
        "email_sender_unverified": message.email_sender_unverified,
        # Read again: it was sent (or not) once the reply committed, after the service wrote it.
        "customer_email": _customer_email(CustomerEmail.objects.filter(message=message).first()),
    }


def _customer_email(email: CustomerEmail | None) -> str | None:
    if email is None:
        return None
    if email.sent_at is not None:
        return "sent"
    return "not_sent" if email.failed_at is not None else "sending"


@router.post(
    "/tickets/{ticket_id}/notes",
    response={201: MessageOut, **error_responses(403, 404, 409)},
    url_name="ticket_note",
    summary="Add an internal note",
)
@idempotent
def ticket_note(request: HttpRequest, ticket_id: ParamId, payload: NoteIn):
    """A note for colleagues; the customer never sees it."""
    message = services.ticket_note(actor=request.auth, ticket_id=ticket_id, body=payload.body)
    return Status(201, _message(message, request.auth))


@router.post(
    "/tickets/{ticket_id}/status",
    response={200: TicketDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="ticket_status",
    summary="Move a ticket on",
)
@idempotent
def ticket_status(request: HttpRequest, ticket_id: ParamId, payload: StatusIn):
    """new → open → pending customer → resolved → closed; resolved and closed tickets reopen
    (to open). Resolving sends the customer the satisfaction survey."""
    try:
        ticket = services.ticket_set_status(
            actor=request.auth,
            ticket_id=ticket_id,
            status=payload.status,
            expected_version=payload.version,
        )
    except services.StaleTicketError as exc:
        raise _stale(exc) from None
    return _detail(ticket, request.auth)


@router.post(
    "/tickets/{ticket_id}/assign",
    response={200: TicketDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="ticket_assign",
    summary="Assign a ticket",
)
@idempotent
def ticket_assign(request: HttpRequest, ticket_id: ParamId, payload: AssignIn):
    """Give the ticket to someone who may work with its customer, or back to the queue. Whoever
    first held it stays responsible (first-contact ownership)."""
    try:
        ticket = services.ticket_assign(
            actor=request.auth,
            ticket_id=ticket_id,
            assignee_id=payload.assignee_id,
            expected_version=payload.version,
        )
    except services.StaleTicketError as exc:
        raise _stale(exc) from None
    return _detail(ticket, request.auth)


@router.post(
    "/tickets/{ticket_id}/merge",
    response={200: TicketDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="ticket_merge",
    summary="Merge a duplicate ticket",
)
@idempotent
def ticket_merge(request: HttpRequest, ticket_id: ParamId, payload: TicketMergeIn):
    """Merge this ticket into another of the same customer: the conversation moves over and
    this one is closed. Send the versions you read of both (`version` of this one,
    `into_version` of the one to keep): after a change to either the answer is 409 naming it,
    and nothing is merged. Answers the ticket that remains."""
    ticket_get_for_user(request.auth, ticket_id)  # out of sight: a 404 about the path
    try:
        with refers_to("into_id", Ticket, _("No such ticket.")):
            kept = services.ticket_merge(
                actor=request.auth,
                ticket_id=ticket_id,
                into_id=payload.into_id,
                expected_version=payload.version,
                into_version=payload.into_version,
            )
    except services.StaleTicketError as exc:
        raise _stale(exc) from None
    return _detail(kept, request.auth)


@router.post(
    "/tickets/{ticket_id}/customer-emails/send-again",
    response={200: TicketDetailOut, **error_responses(403, 404, 409)},
    url_name="ticket_email_send_again",
    summary="Send again an email the customer did not get",
)
@idempotent
def ticket_email_send_again(request: HttpRequest, ticket_id: ParamId, payload: SendAgainIn):
    """Send again an email to the customer the mail server did not take, as the ticket page's
    Send again does: whoever may reply on the ticket, audited as their reply is. It is sent
    once however often this is asked: asked again after it went, or while it is being sent,
    the answer is 422 about `email_id`, as it is when it fails again (the failure is recorded
    on it, unless the request carried an `Idempotency-Key`: a refused keyed request changes
    nothing) or when the ticket has no such email. Answers the ticket."""
    services.customer_email_send_again(
        actor=request.auth, ticket_id=ticket_id, email_id=payload.email_id
    )
    return _detail(ticket_get_for_user(request.auth, ticket_id), request.auth)
