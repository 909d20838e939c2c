"""Customers in the REST API: list, read, create, change, delete, reveal, export (and the
background exports of long lists to Excel), reassign and history, the recycle bin, reading a
customer in it and restoring from it, plus the custom field definitions a client needs to fill
``custom_fields``.

Handlers only parse, call one selector or service with ``actor=request.auth``, and shape the
answer; who may see or change what is decided by the visibility rule inside those.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import Header, Query, Router, Schema, Status
from pydantic import BaseModel, BeforeValidator, Field, Strict

from guanxi.api.errors import ApiError, ErrorOut, StaleVersionOut, error_responses
from guanxi.api.idempotency import idempotent
from guanxi.api.pagination import keyset_answer
from guanxi.api.responses import prevalidated_response
from guanxi.api.schemas import (
    MAX_ADDRESSES,
    MAX_CUSTOM_FIELDS,
    MAX_EMAILS,
    MAX_PHONES,
    MAX_TAGS,
    MAX_VERSION,
    BodyId,
    Cursor,
    InputSchema,
    Limit,
    Omittable,
    ParamId,
    RefOut,
    Timestamp,
    UserRefOut,
    Version,
    aware,
    column_length,
    column_text,
)
from guanxi.audit.models import AuditEvent
from guanxi.core.keyset import DEFAULT_ORDERINGS
from guanxi.core.masking import mask_numbers_in_text, text_as_seen_by

from . import services
from .export_jobs import (
    EXPORT_KEPT_DAYS,
    access_customer_export_job,
    customer_export_is_long,
    customer_export_job_create,
    customer_export_removed,
    customer_export_workbook,
)
from .exports import (
    MEDIA_TYPES,
    ExportFormat,
    ExportLayout,
    customers_export_csv_stream,
    customers_export_xlsx,
    export_filename,
)
from .history import EntrySource, entry_sources, stored_changes
from .masked_phone_search import numbers_named_in_full
from .models import Address, Customer, CustomerExportJob, Email, MarketingConsent, Phone, Tag
from .selectors import (
    RECYCLE_BIN_ORDERINGS,
    access_customer,
    custom_field_definitions_for_user,
    customer_detail_for_user,
    customer_history_for_user,
    customer_list_for_user,
    customer_summaries,
    deleted_customer_detail_for_user,
    deleted_customers_for_user,
    organisations_in_sight,
    with_deletions,
)
from .visibility import VIEW

router = Router(tags=["customers"])

StrictBool = Annotated[bool, Strict()]
PartyTypeValue = Literal[tuple(Customer.PartyType.values)]
KindValue = Literal[tuple(Customer.Kind.values)]
LevelValue = Literal[tuple(Customer.RelationshipLevel.values)]
StageValue = Literal[tuple(Customer.LifecycleStage.values)]
SourceValue = Literal[tuple(Customer.SourceChannel.values)]
OrderingValue = Literal[tuple(DEFAULT_ORDERINGS)]


# ---------------------------------------------------------------------------------------------
# Input


class PhoneIn(InputSchema):
    """A phone number; a plain string is short for ``{"number": "..."}``."""

    # No column's limit: the number is stored as read (+8613800138000), not as typed, and the
    # service refuses one too long written out.
    number: str
    label: Literal[tuple(Phone.Label.values)] | None = None
    is_primary: StrictBool = False
    id: BodyId | None = Field(
        None,
        description="With a `number` sent back as its `number_masked`: the `id` of the stored "
        "number it stands for. Needed when two of the customer's numbers are masked alike and "
        "not both are sent back; otherwise the mask alone names it.",
    )


EmailText = column_text(Email, "address", stripped=True)


class EmailIn(InputSchema):
    """An email address; a plain string is short for ``{"address": "..."}``."""

    address: EmailText
    label: Literal[tuple(Email.Label.values)] | None = None
    is_primary: StrictBool = False


def _shorthand(key: str):
    def expand(value: Any) -> Any:
        return {key: value} if isinstance(value, str) else value

    return expand


# The shorthand is declared as the items' input type, so that the schema offers both forms: a
# client generated from it would otherwise refuse to send the plain string the API takes.
PhoneItem = Annotated[
    PhoneIn, BeforeValidator(_shorthand("number"), json_schema_input_type=str | PhoneIn)
]
EmailItem = Annotated[
    EmailIn, BeforeValidator(_shorthand("address"), json_schema_input_type=EmailText | EmailIn)
]


class AddressIn(InputSchema):
    label: Literal[tuple(Address.Label.values)] | None = None
    street: column_text(Address, "street", stripped=True) | None = None
    city: column_text(Address, "city", stripped=True) | None = None
    region: column_text(Address, "region", stripped=True) | None = None
    postcode: column_text(Address, "postcode", stripped=True) | None = None
    country: column_text(Address, "country", stripped=True) | None = Field(
        None, description="Two-letter ISO country code."
    )


class ConsentIn(InputSchema):
    channel: Literal[tuple(MarketingConsent.Channel.values)]
    granted: StrictBool
    method: Literal[tuple(MarketingConsent.Method.values)] = Field(
        description="How the customer gave (or refused) consent."
    )
    recorded_at: Timestamp | None = Field(None, description="When; defaults to now.")
    evidence: column_text(MarketingConsent, "evidence") | None = None


class CustomerFieldsIn(InputSchema):
    """Null clears a field that may be empty, the phones, emails, addresses and tags included
    (all of them, as an empty list does), and changes no consent or custom field; the party
    type, name, kind, relationship level and lifecycle stage have no empty value, so they may be
    left out but not sent as null."""

    party_type: Omittable[PartyTypeValue] = None
    name: Omittable[column_text(Customer, "name", stripped=True)] = None
    organization_id: BodyId | None = Field(
        None, description="The organisation a person belongs to."
    )
    company: column_text(Customer, "company", stripped=True) | None = Field(
        None, description="Company name for people not linked to one."
    )
    job_title: column_text(Customer, "job_title", stripped=True) | None = None
    kind: Omittable[KindValue] = None
    relationship_level: Omittable[LevelValue] = None
    lifecycle_stage: Omittable[StageValue] = None
    industry: column_text(Customer, "industry", stripped=True) | None = None
    region: column_text(Customer, "region", stripped=True) | None = None
    # One choice list with the empty value in it: a union of two would name its members
    # ("source_channel.literal['']") in the errors instead of the field.
    source_channel: Literal[(*Customer.SourceChannel.values, "")] | None = None
    owner_id: BodyId | None = Field(
        None, description="Account manager; null leaves the customer in the unowned pool."
    )
    birth_date: dt.date | None = None
    website: column_text(Customer, "website") | None = None
    notes: str | None = None
    external_id: column_text(Customer, "external_id") | None = Field(
        None, description="The customer's key in another system."
    )
    phones: list[PhoneItem] | None = Field(
        None,
        max_length=MAX_PHONES,
        description="Replaces all phone numbers. A number sent back as its `number_masked` "
        "keeps the stored number it masks.",
    )
    emails: list[EmailItem] | None = Field(
        None, max_length=MAX_EMAILS, description="Replaces all email addresses."
    )
    addresses: list[AddressIn] | None = Field(
        None, max_length=MAX_ADDRESSES, description="Replaces all addresses."
    )
    tags: list[column_text(Tag, "name", stripped=True)] | None = Field(
        None, max_length=MAX_TAGS, description="Replaces all tags."
    )
    # One per channel: the service refuses a channel listed twice.
    consents: list[ConsentIn] | None = Field(
        None,
        max_length=len(MarketingConsent.Channel),
        description="Sets consent for the channels listed; others stay as they are.",
    )
    custom_fields: dict[str, Any] | None = Field(
        None,
        max_length=MAX_CUSTOM_FIELDS,
        description="Values by custom field key (see GET /custom-fields); null or an empty "
        "string removes a value, keys left out stay as they are.",
    )
    id_number: str | None = Field(
        None,
        description="National ID number; stored encrypted, shown masked. Empty clears it; "
        "the `id_number_masked` sent back keeps it.",
    )

    def service_data(self) -> dict[str, Any]:
        """What the client sent, as the service's input mapping. Fields left out are left out,
        so a PATCH touches only what it names."""
        data = self.model_dump(exclude_unset=True, exclude={"version"})
        for consent in data.get("consents") or []:
            consent["recorded_at"] = aware(consent.get("recorded_at"))
        return data


class CustomerCreateIn(CustomerFieldsIn):
    name: column_text(Customer, "name", stripped=True)


class CustomerPatchIn(CustomerFieldsIn):
    version: Version | None = Field(
        None,
        description="The version you read. Required unless sent as the If-Match header.",
    )


class RestoreIn(InputSchema):
    version: Version | None = Field(
        None,
        description="The version the recycle bin showed. Required unless sent as the If-Match "
        "header.",
    )


class ReassignIn(InputSchema):
    from_owner_id: BodyId | None = Field(
        description="Current account manager; null takes customers from the unowned pool."
    )
    to_owner_id: BodyId | None = Field(
        description="New account manager; null sends the customers to the unowned pool "
        "(managers and administrators). Required, so that leaving it out never empties "
        "someone's book by accident."
    )
    customer_ids: list[BodyId] | None = Field(
        None,
        max_length=10000,
        description="Only these customers; leave out to move all of from_owner_id's.",
    )


# ---------------------------------------------------------------------------------------------
# Output


class PhoneOut(Schema):
    id: int
    number_masked: str = Field(description="138****5678: never the full number here.")
    label: str
    is_primary: bool

    @staticmethod
    def resolve_number_masked(obj: Phone | dict) -> str:
        # A dict when the list API built the row itself (see ``customer_summaries``).
        return obj["number_masked"] if isinstance(obj, dict) else obj.masked


class EmailOut(Schema):
    id: int
    address: str
    label: str
    is_primary: bool


class AddressOut(Schema):
    id: int
    label: str
    street: str
    city: str
    region: str
    postcode: str
    country: str


class ConsentOut(Schema):
    channel: str
    granted: bool
    recorded_at: dt.datetime
    method: str
    evidence: str
    recorded_by: UserRefOut | None


class CustomerSummaryOut(Schema):
    id: int
    party_type: str
    name: str
    organization: RefOut | None
    company: str
    job_title: str
    kind: str
    relationship_level: str
    lifecycle_stage: str
    industry: str
    region: str
    source_channel: str
    owner: UserRefOut | None
    phones: list[PhoneOut]
    emails: list[EmailOut]
    tags: list[str]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    last_contacted_at: dt.datetime | None

    @staticmethod
    def resolve_organization(obj: Customer | dict) -> Customer | dict | None:
        # Only an organisation the reader may see (``selectors.organisations_in_sight``): of
        # one out of their sight, neither name nor number is theirs to learn.
        if isinstance(obj, dict):  # built by ``customer_summaries``
            return obj["organization"]
        return getattr(obj, "organization_in_sight", None)

    @staticmethod
    def resolve_tags(obj: Customer | dict) -> list[str]:
        if isinstance(obj, dict):  # built by ``customer_summaries``
            return obj["tags"]
        return [tag.name for tag in obj.tags.all()]


class CustomerDetailOut(CustomerSummaryOut):
    birth_date: dt.date | None
    website: str
    notes: str = Field(
        description="Phone and ID numbers typed into the notes, masked as the customer's "
        "card masks them for whoever may not see numbers in full (for everyone in the recycle "
        "bin). Notes sent back as read keep the stored numbers; notes changed around a number "
        "shown masked are refused (422)."
    )
    external_id: str | None
    addresses: list[AddressOut]
    consents: list[ConsentOut]
    custom_fields: dict[str, Any]
    id_number_masked: str
    created_by: UserRefOut | None

    @staticmethod
    def resolve_notes(obj: Customer, context) -> str:
        return text_as_seen_by(context["request"].auth, obj.notes)


class CustomerPageOut(Schema):
    items: list[CustomerSummaryOut]
    next_cursor: str | None


class _Deletion(Schema):
    """What the recycle bin tells of a deleted customer beside the customer itself."""

    deleted_at: dt.datetime
    deleted_by: UserRefOut | None = Field(
        description="Who deleted it, or merged it into another customer; null when no signed-in "
        "user did."
    )
    merged_into: RefOut | None = Field(
        description="While the merge that took it away stands, the customer kept: it cannot be "
        "restored on its own; undo the merge (`merge_id`) instead."
    )
    merge_id: int | None = Field(description="That merge, for `POST /merges/{merge_id}/undo`.")


class _BinRow(Schema):
    id: int
    party_type: str
    name: str
    kind: str
    owner: UserRefOut | None
    version: int = Field(description="Send it back to restore the customer.")


# The deletion's fields after the customer's (bases are read from the last).
class DeletedCustomerOut(_Deletion, _BinRow):
    pass


class DeletedCustomerDetailOut(_Deletion, CustomerDetailOut):
    # The recycle bin is the administrators', who see every organisation, in the bin or not.
    @staticmethod
    def resolve_organization(obj: Customer) -> Customer | None:
        return obj.organization

    # Masked for everyone, as the recycle bin masks the numbers of the card and the history.
    @staticmethod
    def resolve_notes(obj: Customer) -> str:
        return mask_numbers_in_text(obj.notes)


class DeletedCustomerPageOut(Schema):
    items: list[DeletedCustomerOut]
    next_cursor: str | None


class RevealedPhoneOut(Schema):
    id: int
    number: str
    label: str


class RevealOut(Schema):
    id_number: str
    phones: list[RevealedPhoneOut]


class ReassignOut(Schema):
    moved: int


class AuditEventOut(Schema):
    id: int
    occurred_at: dt.datetime
    action: str
    object_type: str
    object_id: int | None
    summary: str
    changes: dict[str, Any] = Field(
        description="Each field changed, with its value before and after. Where a value is the "
        'id of another customer the caller may not see, it is "[hidden]": the other customer '
        "of a merge or of a possible duplicate decided to be a different customer, a "
        "person's organisation, or the customer an import moved an order or contact from or "
        "to. An event stored with changes that are no such mapping (a "
        'list, a text), written by hand or before the services did, gives them under "changes".'
    )
    actor: UserRefOut | None
    via: str
    remote_addr: str | None
    customer_id: int = Field(
        description="The customer it happened on: this one, or one merged into it."
    )
    merged_customer: RefOut | None = Field(
        None,
        description="The customer merged into this one that it happened on; null for the "
        "customer's own events. Such an event's summary is empty where it names another "
        "customer the caller may not see.",
    )

    @staticmethod
    def resolve_changes(event: AuditEvent) -> dict[str, Any]:
        # A row whose changes are no mapping of fields (written by hand, or before the
        # services) is read as the history page reads it, rather than failing the schema.
        return stored_changes(event)


class HistoryPageOut(Schema):
    items: list[AuditEventOut]
    next_cursor: str | None


ExportJobStatus = Literal["waiting", "writing", "ready", "failed", "removed"]


class CustomerExportJobOut(Schema):
    id: int
    status: ExportJobStatus = Field(
        description="`waiting` to start, `writing` the workbook, `ready` to download, `failed` "
        "(see `reason`), or `removed` once the workbook has been kept its 7 days."
    )
    count: int | None = Field(
        description="Customers in the workbook; null until it has been written."
    )
    reason: str | None = Field(description="Why the export failed; null unless it did.")
    created_at: dt.datetime
    finished_at: dt.datetime | None = Field(
        description="When the workbook was written or the export failed; null before."
    )
    url: str = Field(description="This export's address, to ask for its status again.")
    file_url: str | None = Field(
        description="The workbook's address while it is ready to download; null otherwise."
    )
    layout: Literal[tuple(ExportLayout.values)] = Field(
        description="`importable` or `readable`, as asked for (see `GET /customers/export`)."
    )
    language: str = Field(
        description="The language the workbook is written in, that of the request asking for "
        "it: its sheets' titles and, for reading, its headers and choices."
    )


class CustomerExportNotReadyOut(ErrorOut):
    status: ExportJobStatus


class CustomFieldOut(Schema):
    key: str
    label: str
    label_zh_hans: str
    field_type: str
    choices: list[Any]
    required: bool


# ---------------------------------------------------------------------------------------------
# Query parameters


class CustomerFilters(BaseModel):
    q: str | None = Field(
        None, max_length=200, description="Words to find in names, pinyin, phones, emails, tags."
    )
    kind: KindValue | None = None
    lifecycle_stage: StageValue | None = None
    relationship_level: LevelValue | None = None
    source_channel: SourceValue | None = None
    party_type: PartyTypeValue | None = None
    industry: str | None = Field(None, max_length=column_length(Customer, "industry"))
    region: str | None = Field(None, max_length=column_length(Customer, "region"))
    owner_id: ParamId | None = None
    unowned: bool = Field(False, description="Only customers without an account manager.")
    owner_inactive: bool = Field(
        False,
        description="Only customers whose account manager is no longer active (left before "
        "their customers were handed over), to hand them to someone who works them.",
    )
    tag: str | None = Field(None, max_length=column_length(Tag, "name"))
    organization_id: ParamId | None = Field(None, description="People of this organisation.")
    updated_since: Timestamp | None = Field(
        None,
        description="Only customers changed at or after this moment (an ISO 8601 date-time "
        "between the years 1900 and 2999; without a UTC offset, in the server's time zone).",
    )

    def selector_filters(self) -> dict[str, Any]:
        filters = self.model_dump(
            exclude={"cursor", "limit", "ordering", "reveal", "format", "layout"}
        )
        filters["updated_since"] = aware(filters["updated_since"])
        return {name: value for name, value in filters.items() if value not in (None, False)}


class CustomerListQuery(CustomerFilters):
    cursor: Cursor | None = None
    limit: Limit = 50
    ordering: OrderingValue = "-id"


class CustomerExportQuery(CustomerFilters):
    format: Literal[tuple(ExportFormat.values)] = Field(
        ExportFormat.CSV.value, description="`csv` (UTF-8 with a byte order mark) or `xlsx`."
    )
    reveal: bool = Field(
        False, description="Full phone and ID numbers (needs the view-sensitive-data permission)."
    )
    layout: Literal[tuple(ExportLayout.values)] = Field(
        ExportLayout.IMPORTABLE.value,
        description="`importable`: headed by the import's field keys (`sales_region`, …; the "
        "customer's first address under `address`, `city`, `region`, `postcode`, `country`, "
        "its `region` being the province) with choices as their codes (`signed`), to edit and "
        "import again. `readable`: headed by the "
        "columns' names with choices named (签约客户 for `signed`), in the language of "
        "`Accept-Language`, else your own; the import takes this one back as well.",
    )


class DeletedCustomerListQuery(BaseModel):
    q: str | None = Field(
        None, max_length=200, description="Words to find in names, pinyin, phones, emails, tags."
    )
    cursor: Cursor | None = None
    limit: Limit = 50


class HistoryQuery(BaseModel):
    cursor: Cursor | None = None
    limit: Limit = 50


# ---------------------------------------------------------------------------------------------
# Helpers


def _detail_out(request: HttpRequest, customer: Customer) -> CustomerDetailOut:
    """Shape a customer a service just wrote (and so the actor may see) in one go."""
    prefetch_related_objects(
        [customer],
        "owner",
        organisations_in_sight(request.auth),
        "created_by",
        "phones",
        "emails",
        "addresses",
        "tags",
        Prefetch("consents", queryset=MarketingConsent.objects.select_related("recorded_by")),
    )
    return CustomerDetailOut.from_orm(customer, context={"request": request})


_EXPORT_JOB_STATUSES: dict[str, str] = {
    CustomerExportJob.Status.QUEUED: "waiting",
    CustomerExportJob.Status.RUNNING: "writing",
    CustomerExportJob.Status.READY: "ready",
    CustomerExportJob.Status.FAILED: "failed",
    CustomerExportJob.Status.EXPIRED: "removed",
}


def _export_job_status(job: CustomerExportJob) -> str:
    # A workbook past its days is no longer offered even before the hourly clean-up has
    # deleted it, as on the web.
    if customer_export_removed(job):
        return "removed"
    return _EXPORT_JOB_STATUSES[job.status]


def _export_job_out(job: CustomerExportJob) -> CustomerExportJobOut:
    status = _export_job_status(job)
    reason = None
    if status == "failed":
        # Ended by the clean-up after its worker died: no reason was stored.
        reason = job.message or _("The export did not finish.")
    return CustomerExportJobOut(
        id=job.pk,
        status=status,
        count=job.rows,
        reason=reason,
        created_at=job.created_at,
        finished_at=job.finished_at,
        # Paths rather than absolute URLs: they stay right behind a reverse proxy that does not
        # pass on the host and scheme it was reached at.
        url=reverse("api:customer_export_job", kwargs={"job_id": job.pk}),
        file_url=(
            reverse("api:customer_export_file", kwargs={"job_id": job.pk})
            if status == "ready"
            else None
        ),
        layout=job.layout,
        language=job.language,
    )


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected_version(version: int | None, if_match: str | None) -> int:
    """The version the client based its change on, from the body/query or If-Match."""
    header_version = None
    if if_match is not None:
        text = if_match.strip().removeprefix("W/").strip('"')
        # A version no customer can have (see MAX_VERSION, to which ``version`` in a body or
        # query is held) is as malformed as one that is no number.
        if not (
            text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_VERSION
        ):
            message = _('Send the ETag you read, such as "3".')
            raise ApiError(422, message, {"If-Match": message})
        header_version = int(text)
    if version is not None and header_version is not None and version != header_version:
        message = _("If-Match and version disagree; send one of them.")
        raise ApiError(422, message, {"If-Match": message})
    expected = version if version is not None else header_version
    if expected is None:
        message = _(
            "Send the version you read (or an If-Match header), so that changes made "
            "meanwhile are not overwritten."
        )
        raise ApiError(422, message, {"version": message})
    return expected


IfMatch = Annotated[
    str | None,
    Header(
        None,
        alias="If-Match",
        max_length=100,
        description="The ETag of the customer as read; an alternative to `version`.",
    ),
]


# ---------------------------------------------------------------------------------------------
# Operations. Fixed paths come before /customers/{customer_id}, which would otherwise match them.


def _count_whole_numbers(request: HttpRequest, q: str | None) -> None:
    """Counts the whole phone numbers of ``q`` (see ``services.whole_number_lookups_count``):
    over the limit, the API's error handler answers 429."""
    services.whole_number_lookups_count(
        actor=request.auth, numbers=numbers_named_in_full(q or ""), field="q"
    )


@router.get(
    "/customers",
    response={200: CustomerPageOut, **error_responses(429)},
    url_name="customer_list",
    summary="List customers",
)
def customer_list(request: HttpRequest, query: Query[CustomerListQuery]):
    """Customers you may see, newest first unless `ordering` says otherwise, one keyset page at
    a time: pass `next_cursor` back as `cursor` for the next page (null on the last page).

    Unless you may view sensitive data, whole phone numbers in `q` that you have not searched
    for in the last day are limited (README, "Sensitive data"): over the limit, 429 with a
    Retry-After header."""
    _count_whole_numbers(request, query.q)
    customers = customer_list_for_user(
        request.auth, filters=query.selector_filters()
    ).select_related("owner")
    page = keyset_answer(customers, ordering=query.ordering, cursor=query.cursor, limit=query.limit)
    # Organisations, phones, emails and tags are fetched for the page's rows afterwards, not
    # joined to every match: with a search, PostgreSQL would otherwise join thousands of rows
    # before it keeps the newest fifty.
    body = {
        "items": customer_summaries(list(page.items), viewer=request.auth),
        "next_cursor": page.next_cursor,
    }
    return prevalidated_response(request, body)


@router.post(
    "/customers",
    # 409: a request with the same Idempotency-Key got there first (see guanxi.api.idempotency).
    response={201: CustomerDetailOut, **error_responses(403, 409)},
    url_name="customer_create",
    summary="Create a customer",
)
@idempotent
def customer_create(request: HttpRequest, payload: CustomerCreateIn):
    """Create a customer with its phones, emails, addresses, tags, consents and custom fields.
    You become the account manager unless `owner_id` names someone you may assign."""
    customer = services.customer_create(actor=request.auth, data=payload.service_data())
    return Status(201, _detail_out(request, customer))


@router.get(
    "/customers/export",
    response={200: None, 202: CustomerExportJobOut, **error_responses(403, 429)},
    url_name="customer_export",
    summary="Export customers as CSV or Excel",
    openapi_extra={
        "responses": {
            200: {
                "description": (
                    "One customer per row, as an attachment. CSV is UTF-8 with a byte order mark "
                    "and times in ISO 8601; XLSX has ids as numbers and times as spreadsheet "
                    "dates in the server's time zone, on one sheet up to Excel's 1,048,576 rows "
                    "(header included) and on sheets 'Customers (2)', 'Customers (3)'… after, "
                    "each with the header. Text that a spreadsheet would evaluate starts with a "
                    "single quote."
                ),
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    MEDIA_TYPES[ExportFormat.XLSX]: {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            },
            202: {
                "description": (
                    "An XLSX export of a list longer than the site's threshold (20,000 "
                    "customers unless configured otherwise) is written in the background: the "
                    "export, with its `url` also in the `Location` header."
                ),
                "headers": {
                    "Location": {
                        "description": "The export's address (its `url`).",
                        "schema": {"type": "string"},
                    }
                },
            },
        }
    },
)
def customer_export(
    request: HttpRequest, query: Query[CustomerExportQuery], response: HttpResponse
):
    """The customers you may see, narrowed by the same filters as the list, in the chosen
    `format` and `layout`: `importable` (the default) to edit and import again, `readable`
    for people, which the import takes back too. Phone and ID numbers are masked unless
    `reveal=true` and you may view sensitive data. Every export is audited, with its layout.

    CSV streams from the first rows and is always sent at once. An XLSX workbook is complete
    only once every row is written (minutes for a million customers, longer than a reverse
    proxy waits), so for a list longer than the site's threshold (20,000 customers unless
    configured otherwise) the answer is instead 202 Accepted with the background export, its
    address in `Location`: ask `GET /customers/exports/{job_id}` until its status is `ready`,
    then download `GET /customers/exports/{job_id}/file` (kept 7 days, for you alone). Such an
    export is audited once, when its workbook is written.

    A whole phone number in `q` counts towards the limit of whole-number searches as the
    list's does (429 over it)."""
    filters = query.selector_filters()
    _count_whole_numbers(request, filters.get("q"))
    with translation.override(_readers_language(request)):
        return _customer_export(request, query, filters, response)


def _readers_language(request: HttpRequest) -> str | None:
    """The language an export is written in (a readable one's headers and choices, any
    workbook's sheet names and notes): the one the request asks for (its language cookie or
    Accept-Language), else the one the user chose, else the site's; a script rarely says which
    it wants."""
    asked = (
        "HTTP_ACCEPT_LANGUAGE" in request.META or settings.LANGUAGE_COOKIE_NAME in request.COOKIES
    )
    if asked or not request.auth.language:
        return translation.get_language()
    return request.auth.language


def _customer_export(
    request: HttpRequest, query: CustomerExportQuery, filters: dict, response: HttpResponse
):
    if query.format == ExportFormat.XLSX and customer_export_is_long(
        actor=request.auth, filters=filters
    ):
        job = customer_export_job_create(
            actor=request.auth, filters=filters, reveal=query.reveal, layout=query.layout
        )
        # Read again: a worker may have picked it up already.
        job.refresh_from_db()
        answer = _export_job_out(job)
        response["Location"] = answer.url
        return Status(202, answer)
    if query.format == ExportFormat.XLSX:
        workbook = customers_export_xlsx(
            actor=request.auth, filters=filters, reveal=query.reveal, layout=query.layout
        )
        return FileResponse(
            workbook,
            as_attachment=True,
            filename=export_filename(query.format),
            content_type=MEDIA_TYPES[ExportFormat.XLSX],
        )
    pieces = customers_export_csv_stream(
        actor=request.auth, filters=filters, reveal=query.reveal, layout=query.layout
    )
    response = StreamingHttpResponse(pieces, content_type=MEDIA_TYPES[ExportFormat.CSV])
    response["Content-Disposition"] = f'attachment; filename="{export_filename(query.format)}"'
    return response


@router.get(
    "/customers/exports/{job_id}",
    response={200: CustomerExportJobOut, **error_responses(404)},
    url_name="customer_export_job",
    summary="Status of a background export",
)
def customer_export_job(request: HttpRequest, job_id: ParamId):
    """A background XLSX export you asked for (see `GET /customers/export`): waiting, writing,
    ready with its count and `file_url`, failed with the reason, or removed after its 7 days.
    Anybody else, administrators included, gets 404: the workbook may hold phone and ID
    numbers in full that only you were allowed to see."""
    return _export_job_out(access_customer_export_job(request.auth, job_id))


@router.get(
    "/customers/exports/{job_id}/file",
    response={200: None, 409: CustomerExportNotReadyOut, **error_responses(404)},
    url_name="customer_export_file",
    summary="Download a background export's workbook",
    openapi_extra={
        "responses": {
            200: {
                "description": "The workbook, as an attachment, as an immediate XLSX export.",
                "content": {
                    MEDIA_TYPES[ExportFormat.XLSX]: {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        }
    },
)
def customer_export_file(request: HttpRequest, job_id: ParamId):
    """The workbook of a background export you asked for, once its status is `ready`; before
    that (or after a failure) 409 with the `status`. Downloading is not audited again: the
    export was audited once, when the workbook was written, and fetching the same file again
    shows nothing that row does not record.

    A workbook removed after its 7 days answers 404, as the web download does, not 410: the
    export itself still answers with status `removed`, which is how a client tells a removed
    workbook from one that never was, and a workbook past its days gets the same answer
    whether or not the hourly clean-up has deleted it yet. Anybody else's export is 404 too."""
    job = access_customer_export_job(request.auth, job_id)
    status = _export_job_status(job)
    if status == "removed":
        raise ApiError(
            404,
            ngettext(
                "The workbook was kept %(days)s day and has been removed. Export the list "
                "again to get it.",
                "The workbook was kept %(days)s days and has been removed. Export the list "
                "again to get it.",
                EXPORT_KEPT_DAYS,
            )
            % {"days": EXPORT_KEPT_DAYS},
        )
    if status == "failed":
        reason = job.message or _("The export did not finish.")
        raise ApiError(
            409,
            _("The export failed, so there is no workbook: %(reason)s") % {"reason": reason},
            status=status,
        )
    if status != "ready":
        raise ApiError(
            409,
            _(
                "The workbook is not ready yet (status: %(status)s). Ask for the export's "
                "status until it is ready."
            )
            % {"status": status},
            status=status,
        )
    return customer_export_workbook(job)


@router.post(
    "/customers/reassign",
    response={200: ReassignOut, **error_responses(403, 409)},
    url_name="customers_reassign",
    summary="Hand customers to another account manager",
)
@idempotent
def customers_reassign(request: HttpRequest, payload: ReassignIn):
    """Move all of one account manager's customers (someone is leaving), or just
    `customer_ids`, to another, or to the unowned pool. Their open churn follow-ups go with
    them (closed in the pool). Administrators and managers only, within what they may
    change."""
    moved = services.customers_reassign(
        actor=request.auth,
        from_owner_id=payload.from_owner_id,
        to_owner_id=payload.to_owner_id,
        customer_ids=payload.customer_ids,
    )
    return ReassignOut(moved=moved)


@router.get(
    "/customers/deleted",
    response={200: DeletedCustomerPageOut, **error_responses(403, 429)},
    url_name="customer_deleted_list",
    summary="List the recycle bin",
)
def customer_deleted_list(request: HttpRequest, query: Query[DeletedCustomerListQuery]):
    """Deleted customers, newest deletion first, with who deleted them (administrators only),
    one keyset page at a time as the other lists. `q` searches them as the customer list does.
    Restore one with `POST /customers/{customer_id}/restore`."""
    _count_whole_numbers(request, query.q)
    customers = deleted_customers_for_user(request.auth, query=query.q or "").select_related(
        "owner"
    )
    page = keyset_answer(
        customers,
        ordering="-deleted_at",
        cursor=query.cursor,
        limit=query.limit,
        orderings=RECYCLE_BIN_ORDERINGS,
    )
    return {"items": with_deletions(list(page.items)), "next_cursor": page.next_cursor}


@router.get(
    "/customers/deleted/{customer_id}",
    response={200: DeletedCustomerDetailOut, **error_responses(403, 404)},
    url_name="customer_deleted_detail",
    summary="Read one customer in the recycle bin",
)
def customer_deleted_detail(request: HttpRequest, customer_id: ParamId, response: HttpResponse):
    """A customer in the recycle bin as `GET /customers/{customer_id}` gives one in use, phone
    and ID numbers masked, with who deleted it and when (administrators only, as the recycle
    bin), to decide whether to restore it: send its `version` to
    `POST /customers/{customer_id}/restore`. A customer not in the recycle bin is not found
    (404) here; one in use is read at `GET /customers/{customer_id}`. The `ETag` header
    carries the version, for `If-Match` on the restore."""
    customer = deleted_customer_detail_for_user(request.auth, customer_id)
    response["ETag"] = _etag(customer.version)
    return customer


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerDetailOut, **error_responses(404)},
    url_name="customer_detail",
    summary="Read one customer",
)
def customer_detail(request: HttpRequest, customer_id: ParamId, response: HttpResponse):
    """Everything about one customer, with phone and ID numbers masked. The `ETag` header
    carries the version to send back with a change."""
    customer = customer_detail_for_user(request.auth, customer_id)
    response["ETag"] = _etag(customer.version)
    return customer


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerDetailOut, 409: StaleVersionOut, **error_responses(403, 404)},
    url_name="customer_update",
    summary="Change a customer",
)
def customer_update(
    request: HttpRequest,
    customer_id: ParamId,
    payload: CustomerPatchIn,
    response: HttpResponse,
    if_match: IfMatch = None,
):
    """Change the fields you send and nothing else. Send the `version` you read (or its ETag as
    `If-Match`); if someone saved in between, the answer is 409 with `current_version` and
    nothing is written."""
    expected = _expected_version(payload.version, if_match)
    customer = services.customer_update(
        actor=request.auth,
        customer_id=customer_id,
        expected_version=expected,
        data=payload.service_data(),
    )
    response["ETag"] = _etag(customer.version)
    return _detail_out(request, customer)


@router.delete(
    "/customers/{customer_id}",
    response={204: None, 409: StaleVersionOut, **error_responses(403, 404)},
    url_name="customer_delete",
    summary="Delete a customer",
)
def customer_delete(
    request: HttpRequest,
    customer_id: ParamId,
    version: Annotated[int | None, Query(None, ge=1, le=MAX_VERSION)] = None,
    if_match: IfMatch = None,
):
    """Move a customer to the recycle bin (administrators and managers). Send the `version` you
    read as a query parameter, or its ETag as `If-Match`."""
    expected = _expected_version(version, if_match)
    # A customer the caller cannot see is "not found" before any question of role arises.
    access_customer(request.auth, customer_id, VIEW)
    services.customer_delete(actor=request.auth, customer_id=customer_id, expected_version=expected)
    return Status(204, None)


@router.post(
    "/customers/{customer_id}/restore",
    # 409 without current_version when a request with the Idempotency-Key got there first.
    response={200: CustomerDetailOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="customer_restore",
    summary="Restore a customer from the recycle bin",
)
@idempotent
def customer_restore(
    request: HttpRequest,
    customer_id: ParamId,
    payload: RestoreIn,
    response: HttpResponse,
    if_match: IfMatch = None,
):
    """Bring a deleted customer back into every list, search and duplicate check
    (administrators only). Send the `version` the recycle bin showed (or `If-Match`): if the
    customer changed since (restored and deleted again), the answer is 409 and nothing is
    restored. A customer no longer in the recycle bin, one merged into another while the merge
    stands (undo the merge instead) and a person whose organisation is in the recycle bin too
    are refused with 422 naming `customer_id`."""
    expected = _expected_version(payload.version, if_match)
    customer = services.customer_restore(
        actor=request.auth, customer_id=customer_id, expected_version=expected
    )
    response["ETag"] = _etag(customer.version)
    return _detail_out(request, customer)


@router.post(
    "/customers/{customer_id}/reveal",
    response={200: RevealOut, **error_responses(403, 404, 409)},
    url_name="customer_reveal",
    summary="Show ID and phone numbers in full",
)
@idempotent(sensitive=True)
def customer_reveal(request: HttpRequest, customer_id: ParamId):
    """The full ID number and phone numbers, for users with the view-sensitive-data permission.
    Every call is written to the customer's history."""
    access_customer(request.auth, customer_id, VIEW)
    revealed = services.customer_reveal_sensitive(actor=request.auth, customer_id=customer_id)
    return RevealOut.model_validate(revealed)


@router.get(
    "/customers/{customer_id}/history",
    response={200: HistoryPageOut, **error_responses(404)},
    url_name="customer_history",
    summary="Audit history of a customer",
)
def customer_history(request: HttpRequest, customer_id: ParamId, query: Query[HistoryQuery]):
    """Who changed, exported or revealed what and when, newest first, with field-level before
    and after values (sensitive fields only say that they changed). The history of the
    customers merged into this one is part of it, each of their events naming its customer."""
    history = customer_history_for_user(request.auth, customer_id)
    page = keyset_answer(
        history.events(),
        ordering="-id",
        cursor=query.cursor,
        limit=query.limit,
        orderings={"-id": "id"},
    )
    sources = entry_sources(page.items, viewer=request.auth, history=history)
    items = [
        _history_item(event, source) for event, source in zip(page.items, sources, strict=True)
    ]
    return {"items": items, "next_cursor": page.next_cursor}


def _history_item(event: AuditEvent, source: EntrySource) -> AuditEventOut:
    merged = source.merged_customer
    return AuditEventOut.from_orm(event).model_copy(
        update={
            "summary": source.summary,
            "changes": source.changes,
            "merged_customer": RefOut(id=merged[0], name=merged[1]) if merged else None,
        }
    )


@router.get(
    "/custom-fields",
    response={200: list[CustomFieldOut], 401: ErrorOut},
    url_name="custom_field_list",
    summary="Custom field definitions",
)
def custom_field_list(request: HttpRequest):
    """The custom fields every customer has, and what each accepts."""
    return list(custom_field_definitions_for_user(request.auth))
