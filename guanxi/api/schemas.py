"""Schema pieces shared by the API's routers."""

import datetime as dt
from typing import Annotated

from django.utils import timezone
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, Strict

# Database ids are positive 64-bit integers; anything outside is refused by the schema instead
# of reaching a query (SQLite cannot even bind a larger integer).
MAX_ID = 2**63 - 1
# In a JSON body an id must be a number, not "12" or true.
BodyId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
# Path and query parameters arrive as text and are converted.
ParamId = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Field(ge=1, le=200, description="Rows per page (1 to 200).")]
Cursor = Annotated[
    str,
    Field(
        max_length=1000,
        description="The `next_cursor` of the previous page; leave out for the first page.",
    ),
]


class InputSchema(BaseModel):
    """Request bodies refuse unknown fields: a misspelt field name would otherwise be ignored
    silently and the client would believe it had changed something."""

    model_config = ConfigDict(extra="forbid")


class RefOut(Schema):
    id: int
    name: str


class UserRefOut(Schema):
    id: int
    username: str
    label: str


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Read a date-time sent without a UTC offset in the server's time zone."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value
