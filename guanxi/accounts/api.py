"""Who is calling, and the staff directory, in the REST API."""

from django.http import HttpRequest
from ninja import Router, Schema

from guanxi.api.errors import ErrorOut
from guanxi.api.schemas import RefOut

from .models import User
from .selectors import staff_directory_for_user

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
