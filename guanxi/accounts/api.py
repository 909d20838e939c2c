"""Who is calling, the staff directory, and deactivating someone who leaves, in the REST
API."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from guanxi.api.errors import ErrorOut, error_responses
from guanxi.api.idempotency import idempotent
from guanxi.api.schemas import MAX_ID, InputSchema, ParamId, RefOut

from . import services
from .models import User
from .selectors import staff_directory_for_user
from .services import POOL

router = Router(tags=["accounts"])


class StaffOut(Schema):
    id: int
    username: str
    label: str
    role: str
    department: RefOut | None
    team: RefOut | None


class MeOut(StaffOut):
    may_view_sensitive: bool

    @staticmethod
    def resolve_may_view_sensitive(obj: User) -> bool:
        return obj.may_view_sensitive()


@router.get(
    "/me",
    response={200: MeOut, 401: ErrorOut},
    url_name="me",
    summary="Who am I",
)
def me(request: HttpRequest):
    """The user the token (or session) belongs to, and whether they may see sensitive data."""
    return request.auth


@router.get(
    "/users",
    response={200: list[StaffOut], 401: ErrorOut},
    url_name="user_list",
    summary="Staff directory",
)
def user_list(request: HttpRequest):
    """Active colleagues with their role, department and team (a company phone book: no email
    addresses or other personal details)."""
    return list(staff_directory_for_user(request.auth))


def _successor(value: Any) -> Any:
    """A colleague's id, "pool" or null; anything else is refused with one message for the
    field (a plain union would report each of its members under a made-up field name)."""
    if value is None or value == POOL:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    raise PydanticCustomError(
        "successor", _('Send a colleague\'s id (a number) or "pool" for the unowned pool.')
    )


class DeactivateIn(InputSchema):
    hand_over_to: Annotated[
        Annotated[int, Field(ge=1, le=MAX_ID)] | Literal["pool"] | None,
        BeforeValidator(_successor),
    ] = Field(
        None,
        description="Who takes over what the user still holds: a colleague's id, or "
        '`"pool"` for the unowned pool. Leave out (or null) only for someone who holds '
        "nothing; otherwise the request is refused, naming what they hold.",
    )


class HandedOverOut(Schema):
    customers: int
    open_tickets: int
    open_follow_ups: int


class DeactivatedOut(Schema):
    id: int
    username: str
    is_active: bool
    hand_over_to: int | Literal["pool"] | None
    handed_over: HandedOverOut


@router.post(
    "/users/{user_id}/deactivate",
    response={200: DeactivatedOut, **error_responses(403, 404, 409)},
    url_name="user_deactivate",
    summary="Deactivate someone who leaves, handing over what they hold",
)
@idempotent
def user_deactivate(request: HttpRequest, user_id: ParamId, payload: DeactivateIn):
    """Administrators only. In one step: their customers go to `hand_over_to` (a colleague
    who may change them, or the unowned pool), their open tickets to that colleague where
    they may work with the customer (otherwise back to the team's queue), their open churn
    follow-ups to the customers' new account manager (closed in the pool), each with its
    audit row; then they can no longer sign in, and their API tokens stop working. Refused
    with 422 and nothing changed when something would be left behind: `user_id` says why this
    user cannot be deactivated (it is the caller, or they are inactive already),
    `hand_over_to` says what they still hold or why that successor will not do, `roles` names
    each department they manage, team they lead and service-level policy whose general
    manager they are, with the admin page where someone else is chosen (escalations would go
    to nobody)."""
    handed = services.user_deactivate(
        actor=request.auth, user_id=user_id, hand_over_to=payload.hand_over_to
    )
    user = User.objects.get(pk=user_id)
    return DeactivatedOut(
        id=user.pk,
        username=user.username,
        is_active=user.is_active,
        hand_over_to=payload.hand_over_to,
        handed_over=HandedOverOut(
            customers=handed.customers,
            open_tickets=handed.open_tickets,
            open_follow_ups=handed.open_follow_ups,
        ),
    )
