"""Schema pieces shared by the API's routers."""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from guanxi.core.limits import column_length
from guanxi.customers import validation
from guanxi.service import models as service_models

# Database ids are positive 64-bit integers; anything outside is refused by the schema instead
# of reaching a query (SQLite cannot even bind a larger integer).
MAX_ID = 2**63 - 1
# In a JSON body an id must be a number, not "12" or true.
BodyId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
# Path and query parameters arrive as text and are converted.
ParamId = Annotated[int, Field(ge=1, le=MAX_ID)]
# A record's version starts at 1 and is held in a 32-bit column: a number outside is no version
# any record can have, whether sent in a body, a query or If-Match.
MAX_VERSION = 2**31 - 1
Version = Annotated[int, Strict(), Field(ge=1, le=MAX_VERSION)]

# The most items a list in a request body may hold, stated in the OpenAPI schema as
# ``maxItems``. Nobody's records come near them: they only keep what one request writes or looks
# up small, so that a client's bug or a hostile caller sending tens of thousands is refused at
# once, naming the list ("At most 100 items.", as every list's limit is said), instead of
# writing them or answering an error for each. Each item of these is a row to write, to check
# against the customer's others or to look up.
# A customer's phones, emails, addresses and tags: the checks every write of a customer goes
# through hold them to these (the web form and the import as well as the API), so that whatever
# the API answers for a customer it takes back.
MAX_PHONES = validation.MAX_PHONES
MAX_EMAILS = validation.MAX_EMAILS
MAX_ADDRESSES = validation.MAX_ADDRESSES
MAX_TAGS = validation.MAX_TAGS
# The keys of a customer's custom fields, stated as ``maxProperties``.
MAX_CUSTOM_FIELDS = validation.MAX_CUSTOM_FIELDS
# An order of a whole catalogue.
MAX_ORDER_LINES = 1_000
# A ticket's orders: a merge of tickets is held to the same limit.
MAX_TICKET_ORDERS = service_models.MAX_TICKET_ORDERS
# A customer's consents are capped at one per channel where they are declared (a channel listed
# twice is refused anyway), and the lists of a duplicate check's draft and of a reassignment
# state their own limits there too.
Limit = Annotated[int, Field(ge=1, le=200, description="Rows per page (1 to 200).")]
Cursor = Annotated[
    str,
    Field(
        max_length=1000,
        description="The `next_cursor` of the previous page; leave out for the first page.",
    ),
]


def _timestamp_in_range(value: dt.datetime) -> dt.datetime:
    # The years a custom date field takes too (``validation.DATE_YEARS``).
    first, last = validation.DATE_YEARS
    if not first <= value.year <= last:
        raise PydanticCustomError(
            "timestamp_out_of_range",
            _("Give a date between the years %(first)d and %(last)d.")
            % {"first": first, "last": last},
        )
    return value


Timestamp = Annotated[dt.datetime, AfterValidator(_timestamp_in_range)]


def _refuse_null(value):
    if value is None:
        raise PydanticCustomError(
            "null_refused", _("This field cannot be null; leave it out instead.")
        )
    return value


T = TypeVar("T")
# A field a request may leave out but may not send as null, declared ``name: Omittable[T] =
# None``. The None default only marks the field as optional: it is never validated, the
# handler reads what was sent with ``model_dump(exclude_unset=True)``, and ninja writes no null
# default into the OpenAPI schema, which therefore says "optional, not nullable", as the API
# behaves. A field declared ``T | None`` is one where null means something (it clears a value).
Omittable = Annotated[T, BeforeValidator(_refuse_null)]


def column_text(
    model: type[Model],
    field: str,
    *,
    min_length: int | None = None,
    stripped: bool = False,
    stored_as: Callable[[str], str] | None = None,
) -> Any:
    """Text bound for the column ``field`` of ``model``, as a body field's type.

    Its limit is read from the model, not written out again, so that the schema states the
    limit the services enforce and the two cannot drift apart; longer text is refused by the
    schema, naming the field, in the words it uses for every other limit.

    ``stripped`` for text the service stores without the white space at its ends: the limit
    is then counted without it, as the service counts it, so that text the web form and an
    import would store is not refused for the spaces a client padded it with.

    ``stored_as`` for text the service stores otherwise changed (a ticket's subject, collapsed
    onto one line): the limits are counted on what it makes of the text, so that the schema
    refuses no text the service would accept. The text itself reaches the service as sent.
    """
    max_length = column_length(model, field)
    if stored_as is None:
        return Annotated[
            str,
            StringConstraints(
                strip_whitespace=stripped, min_length=min_length, max_length=max_length
            ),
        ]

    def check_stored_length(value: str) -> str:
        # Raised with pydantic's own types and context, so that the message is the one every
        # other limit is refused with (see ``errors.schema_message``).
        length = len(stored_as(value))
        if length > max_length:
            raise PydanticCustomError(
                "string_too_long", "At most {max_length} characters.", {"max_length": max_length}
            )
        if min_length is not None and length < min_length:
            raise PydanticCustomError(
                "string_too_short", "At least {min_length} characters.", {"min_length": min_length}
            )
        return value

    stated = {"type": "string", "maxLength": max_length}
    if min_length is not None:
        stated["minLength"] = min_length
    return Annotated[
        str,
        AfterValidator(check_stored_length),
        WithJsonSchema(stated),
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
