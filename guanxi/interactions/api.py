"""The interaction timeline in the REST API: read a customer's timeline, log a touch point, and
list interactions across every customer the caller may see."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import BaseModel, Field

from guanxi.api.errors import error_responses
from guanxi.api.idempotency import idempotent
from guanxi.api.pagination import keyset_answer
from guanxi.api.schemas import (
    BodyId,
    Cursor,
    InputSchema,
    Limit,
    ParamId,
    RefOut,
    Timestamp,
    UserRefOut,
    aware,
    column_text,
)
from guanxi.core.masking import text_as_seen_by

from .models import Interaction
from .selectors import interaction_list_for_user, interaction_timeline_for_user
from .services import interaction_log

router = Router(tags=["interactions"])

ChannelValue = Literal[tuple(Interaction.Channel.values)]
DirectionValue = Literal[tuple(Interaction.Direction.values)]
# The timeline is read newest first, by when the contact happened or by when it was recorded.
ORDERINGS = {"-occurred_at": "occurred_at", "-id": "id"}
OrderingValue = Literal[tuple(ORDERINGS)]


class InteractionIn(InputSchema):
    channel: ChannelValue
    direction: DirectionValue | None = Field(None, description="Defaults to outbound.")
    subject: column_text(Interaction, "subject")
    notes: str | None = None
    staff_id: BodyId | None = Field(None, description="Who had the contact; defaults to you.")
    occurred_at: Timestamp | None = Field(
        None, description="When it happened (not in the future); defaults to now."
    )


class InteractionOut(Schema):
    id: int
    customer: RefOut
    channel: str
    direction: str
    subject: str
    notes: str
    staff: UserRefOut | None
    occurred_at: dt.datetime
    created_at: dt.datetime

    # As the reader may see them: numbers typed into the text masked as the customer's card
    # masks them, for whoever sees the card masked.
    @staticmethod
    def resolve_subject(obj: Interaction, context) -> str:
        return text_as_seen_by(context["request"].auth, obj.subject)

    @staticmethod
    def resolve_notes(obj: Interaction, context) -> str:
        return text_as_seen_by(context["request"].auth, obj.notes)


class InteractionPageOut(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class TimelineQuery(BaseModel):
    cursor: Cursor | None = None
    limit: Limit = 50
    ordering: OrderingValue = "-occurred_at"


class InteractionListQuery(TimelineQuery):
    channel: ChannelValue | None = None
    direction: DirectionValue | None = None
    staff_id: ParamId | None = None
    customer_id: ParamId | None = None
    since: Timestamp | None = Field(None, description="Happened at or after this time.")
    until: Timestamp | None = Field(None, description="Happened before this time.")

    def selector_filters(self) -> dict:
        filters = self.model_dump(exclude={"cursor", "limit", "ordering"})
        filters["since"], filters["until"] = aware(self.since), aware(self.until)
        return {name: value for name, value in filters.items() if value is not None}


def _page(queryset, query: TimelineQuery) -> dict:
    page = keyset_answer(
        queryset,
        ordering=query.ordering,
        cursor=query.cursor,
        limit=query.limit,
        orderings=ORDERINGS,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/customers/{customer_id}/interactions",
    response={200: InteractionPageOut, **error_responses(404)},
    url_name="customer_interaction_list",
    summary="A customer's timeline",
)
def customer_interaction_list(
    request: HttpRequest, customer_id: ParamId, query: Query[TimelineQuery]
):
    """Every touch point with one customer, newest first, one keyset page at a time."""
    return _page(interaction_timeline_for_user(request.auth, customer_id), query)


@router.post(
    "/customers/{customer_id}/interactions",
    response={201: InteractionOut, **error_responses(403, 404, 409)},
    url_name="customer_interaction_create",
    summary="Log a touch point",
)
@idempotent
def customer_interaction_create(request: HttpRequest, customer_id: ParamId, payload: InteractionIn):
    """Record a visit, call, fax, email, SMS or chat with a customer you may interact with."""
    data = payload.model_dump(exclude_unset=True)
    if "occurred_at" in data:
        data["occurred_at"] = aware(data["occurred_at"])
    interaction = interaction_log(actor=request.auth, customer_id=customer_id, data=data)
    return Status(201, interaction)


@router.get(
    "/interactions",
    response={200: InteractionPageOut, **error_responses()},
    url_name="interaction_list",
    summary="List interactions",
)
def interaction_list(request: HttpRequest, query: Query[InteractionListQuery]):
    """Interactions on every customer you may see, newest first, narrowed by the filters."""
    return _page(interaction_list_for_user(request.auth, filters=query.selector_filters()), query)
