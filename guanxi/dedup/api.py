"""Duplicates in the REST API: check a customer before creating it, work through the review
queue, merge two customers and undo a merge.

Handlers parse, call one selector or service with ``actor=request.auth``, and shape the answer;
what the caller may see or change is decided by the visibility rule inside those.
"""

import datetime as dt
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Body, Query, Router, Schema
from pydantic import BaseModel, Field

from guanxi.api.errors import ApiError, ErrorOut, StaleVersionOut, error_responses
from guanxi.api.idempotency import idempotent
from guanxi.api.pagination import keyset_answer
from guanxi.api.schemas import (
    BodyId,
    Cursor,
    InputSchema,
    Limit,
    ParamId,
    UserRefOut,
    Version,
    column_text,
)
from guanxi.core.locking import ActorDeactivated
from guanxi.customers.models import Address, Customer, Email, Phone
from guanxi.customers.selectors import access_customer, organisations_in_sight
from guanxi.customers.services import whole_number_lookups_count
from guanxi.customers.visibility import VIEW

from . import services
from .drafts import draft_record, numbers_typed_in_full
from .models import CustomerMerge, DuplicatePair
from .selectors import (
    access_duplicate_pair,
    duplicate_pairs_for_user,
    likely_duplicates,
    pair_score_field,
    pair_score_for_user,
    reasons_for_user,
)

router = Router(tags=["duplicates"])
QUEUE_ORDERINGS = {"-score": "score", "-id": "id"}


# ---------------------------------------------------------------------------------------------
# Schemas


class AddressDraftIn(InputSchema):
    street: column_text(Address, "street", stripped=True) | None = None
    city: column_text(Address, "city", stripped=True) | None = None
    region: column_text(Address, "region", stripped=True) | None = None
    postcode: column_text(Address, "postcode", stripped=True) | None = None


class CustomerDraftIn(InputSchema):
    """What is known so far of a customer about to be created."""

    name: column_text(Customer, "name", stripped=True)
    party_type: Literal[tuple(Customer.PartyType.values)] = "person"
    company: column_text(Customer, "company", stripped=True) | None = None
    organization_id: BodyId | None = None
    phones: list[str] = Field(default_factory=list, max_length=20)
    emails: list[column_text(Email, "address", stripped=True)] = Field(
        default_factory=list, max_length=20
    )
    birth_date: dt.date | None = None
    id_number: str | None = Field(
        None,
        max_length=40,
        description="Compared by its keyed hash only, and only when you may view sensitive "
        "data (to anyone else a match would confirm a guess at a customer's full number); "
        "never stored.",
    )
    addresses: list[AddressDraftIn] = Field(default_factory=list, max_length=10)


class ReasonOut(Schema):
    field: str
    level: str
    weight: float = Field(description="Evidence in bits: positive for 'same', negative against.")


class CustomerBriefOut(Schema):
    id: int
    name: str
    party_type: str
    company: str
    owner: UserRefOut | None
    phones_masked: list[str]
    emails: list[str]
    version: int

    @staticmethod
    def resolve_company(obj: Customer) -> str:
        # The organisation's name only where the reader may see it
        # (``organisations_in_sight``), as on the customer's own page.
        return obj.company_in_sight or ""

    @staticmethod
    def resolve_phones_masked(obj: Customer) -> list[str]:
        return [p.masked for p in obj.phones.all()]

    @staticmethod
    def resolve_emails(obj: Customer) -> list[str]:
        return [e.address for e in obj.emails.all()]


class LikelyDuplicateOut(Schema):
    customer: CustomerBriefOut
    score: float = Field(description="Probability, 0 to 1, that this is the same customer.")
    reasons: list[ReasonOut]


class PairOut(Schema):
    id: int
    left: CustomerBriefOut
    right: CustomerBriefOut
    score: float = Field(
        description="Probability, 0 to 1, that the two are one customer; without the ID "
        "numbers' evidence unless you may view sensitive data."
    )
    status: str
    source: str
    inferred: bool = Field(description="Follows from two other pairs rather than its own fields.")
    reasons: list[ReasonOut]
    found_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: UserRefOut | None

    @staticmethod
    def resolve_score(obj: DuplicatePair, context) -> float:
        return pair_score_for_user(context["request"].auth, obj)

    @staticmethod
    def resolve_inferred(obj: DuplicatePair) -> bool:
        return bool(obj.details.get("inferred"))

    @staticmethod
    def resolve_reasons(obj: DuplicatePair, context) -> list[dict]:
        return reasons_for_user(context["request"].auth, obj.details.get("fields"))


class PairPageOut(Schema):
    items: list[PairOut]
    next_cursor: str | None


class QueueQuery(BaseModel):
    status: Literal[tuple(DuplicatePair.Status.values)] = "open"
    ordering: Literal[tuple(QUEUE_ORDERINGS)] = "-score"
    cursor: Cursor | None = None
    limit: Limit = 50


class CustomerMergeIn(InputSchema):
    merged_id: BodyId = Field(description="The customer merged into this one and then removed.")
    version: Version = Field(description="The version of this customer you read.")
    merged_version: Version = Field(description="The version of the other customer you read.")


class DuplicateRejectIn(InputSchema):
    left_id: BodyId | None = Field(
        None, description="The pair's left customer as you read it; send right_id with it."
    )
    right_id: BodyId | None = Field(
        None, description="The pair's right customer as you read it; send left_id with it."
    )


class CustomerRefOut(Schema):
    id: int
    name: str


class MergeOut(Schema):
    id: int
    survivor: CustomerRefOut
    merged: CustomerRefOut
    merged_at: dt.datetime
    merged_by: UserRefOut | None
    filled_fields: list[str]
    moved_rows: int
    undone_at: dt.datetime | None
    undone_by: UserRefOut | None

    @staticmethod
    def resolve_filled_fields(obj: CustomerMerge) -> list[str]:
        return sorted(obj.details.get("filled", {}))

    @staticmethod
    def resolve_moved_rows(obj: CustomerMerge) -> int:
        return sum(len(ids) for ids in obj.details.get("moved", {}).values())


def _with_contacts(prefix: str = ""):
    return [
        Prefetch(f"{prefix}phones", queryset=Phone.objects.all()),
        f"{prefix}emails",
    ]


# ---------------------------------------------------------------------------------------------
# Operations


@router.post(
    "/customers/duplicates",
    response={200: list[LikelyDuplicateOut], **error_responses(429)},
    url_name="customer_duplicates_check",
    summary="Find likely duplicates of a customer before creating it",
)
def customer_duplicates_check(request: HttpRequest, payload: CustomerDraftIn):
    """The customers you may see that are probably the one described, best first, with the
    evidence for each. Nothing is written, so no Idempotency-Key is needed.

    Unless you may view sensitive data, whole phone numbers in `phones` count towards the
    limit of whole-number searches (README, "Sensitive data"): over it, 429 with a Retry-After
    header."""
    whole_number_lookups_count(
        actor=request.auth, numbers=numbers_typed_in_full(payload.model_dump()), field="phones"
    )
    record = draft_record(
        payload.model_dump(), actor=request.auth, refuse_unknown_organization=True
    )
    found = likely_duplicates(record, visible_to=request.auth, threshold=0.5, limit=10)
    customers = Customer.objects.select_related("owner").prefetch_related(
        organisations_in_sight(request.auth), *_with_contacts()
    )
    by_id = customers.in_bulk([d.customer_id for d in found])
    return [
        {
            "customer": by_id[d.customer_id],
            "score": d.score,
            "reasons": reasons_for_user(request.auth, d.explanation),
        }
        for d in found
        if d.customer_id in by_id
    ]


@router.get(
    "/duplicates",
    response={200: PairPageOut, **error_responses()},
    url_name="duplicate_list",
    summary="The review queue of possible duplicates",
)
def duplicate_list(request: HttpRequest, query: Query[QueueQuery]):
    """Pairs of customers that may be one, among the customers you may see, most likely first
    (or newest first with `ordering=-id`). Unless you may view sensitive data, the likelihood
    is the one without the ID numbers' evidence, and pairs below the review threshold without
    it are not listed."""
    # Everything a pair's answer shows comes with the page: the company of a person is their
    # organisation's name, read one customer at a time otherwise.
    pairs = duplicate_pairs_for_user(request.auth, status=query.status).prefetch_related(
        organisations_in_sight(request.auth, "left__organization"),
        organisations_in_sight(request.auth, "right__organization"),
        *_with_contacts("left__"),
        *_with_contacts("right__"),
    )
    page = keyset_answer(
        pairs,
        ordering=query.ordering,
        cursor=query.cursor,
        limit=query.limit,
        orderings={**QUEUE_ORDERINGS, "-score": pair_score_field(request.auth)},
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/duplicates/{pair_id}/reject",
    response={200: PairOut, **error_responses(403, 404, 409)},
    url_name="duplicate_reject",
    summary="Mark a possible duplicate as two different customers",
)
@idempotent
def duplicate_reject(
    request: HttpRequest, pair_id: ParamId, payload: Body[DuplicateRejectIn | None] = None
):
    """The pair leaves the queue and is not proposed again. You must be allowed to change both
    customers. Send the `left_id` and `right_id` you read of the pair: once one of its
    customers is merged into a third one the pair names that third customer, which you did not
    compare, and the answer is 409 naming the field that no longer matches; nothing is
    decided."""
    access_duplicate_pair(request.auth, pair_id)
    seen = payload or DuplicateRejectIn()
    if (seen.left_id is None) != (seen.right_id is None):
        missing = "right_id" if seen.right_id is None else "left_id"
        message = _("Send left_id and right_id together, or neither.")
        raise ApiError(422, message, {missing: message})
    customer_ids = None if seen.left_id is None else (seen.left_id, seen.right_id)
    try:
        pair = services.duplicate_pair_reject(
            actor=request.auth, pair_id=pair_id, customer_ids=customer_ids
        )
    except services.PairMovedError as moved:
        message = _(
            "The pair no longer names the customer you sent as %(field)s: one of its customers "
            "was merged into another since. Read the pair again; nothing was decided."
        ) % {"field": moved.field}
        raise ApiError(409, message, {moved.field: message}) from None
    return _pair_out(request.auth, pair.pk)


def _pair_out(user, pair_id: int) -> DuplicatePair:
    return (
        DuplicatePair.objects.select_related("left__owner", "right__owner")
        .prefetch_related(
            organisations_in_sight(user, "left__organization"),
            organisations_in_sight(user, "right__organization"),
            *_with_contacts("left__"),
            *_with_contacts("right__"),
        )
        .get(pk=pair_id)
    )


@router.post(
    "/customers/{customer_id}/merge",
    # 409 without current_version when a request with the Idempotency-Key got there first.
    response={200: MergeOut, 409: StaleVersionOut | ErrorOut, **error_responses(403, 404)},
    url_name="customer_merge",
    summary="Merge another customer into this one",
)
@idempotent
def customer_merge(request: HttpRequest, customer_id: ParamId, payload: CustomerMergeIn):
    """This customer keeps its id and gains the other's history (interactions and everything
    else pointing at it), contact details, tags, newer consents, and the values of fields it
    lacks; the other goes to the recycle bin. You must be allowed to change both. Send the
    versions you read of both (`version` of this one, `merged_version` of the other): after a
    change to either the answer is 409 naming it, and nothing is merged. The answer's `id`
    undoes the merge at `/merges/{id}/undo`."""
    access_customer(request.auth, customer_id, VIEW)  # out of sight: a 404 about the path
    try:
        merge = services.customers_merge(
            actor=request.auth,
            survivor_id=customer_id,
            merged_id=payload.merged_id,
            survivor_version=payload.version,
            merged_version=payload.merged_version,
        )
    except ActorDeactivated:
        # About the caller, not about either customer.
        raise
    except (Customer.DoesNotExist, PermissionDenied) as refused:
        # The customer in the path can be gone too by the time it is locked (merged into
        # another meanwhile): its 404 or 403 is the path's, naming nothing in the body.
        if getattr(refused, "customer_id", None) == customer_id:
            if isinstance(refused, PermissionDenied):
                raise PermissionDenied(_("You may not change this customer.")) from None
            raise
        if isinstance(refused, PermissionDenied):
            message = _("You may not change the customer you sent as merged_id.")
            raise ApiError(403, message, {"merged_id": message}) from None
        message = _("No such customer.")
        raise ApiError(404, message, {"merged_id": message}) from None
    return _merge_out(merge.pk)


@router.post(
    "/merges/{merge_id}/undo",
    response={200: MergeOut, **error_responses(403, 404, 409)},
    url_name="merge_undo",
    summary="Undo a merge",
)
@idempotent
def merge_undo(request: HttpRequest, merge_id: ParamId):
    """The merged customer comes back with its history; the kept customer loses what the merge
    gave it, except what people changed since. Who merged, a manager or an administrator may
    undo, if they may change both customers.

    Nothing is undone, with 422, when `merge` cannot be undone (undone or the customer restored
    already, the kept customer merged again since, rows of the two linked to each other since),
    or when another customer was given the merged customer's `external_id` as the undo ran:
    undone again, the customer comes back without it. 409 when a request with the same
    Idempotency-Key was still being processed and its answer can no longer be replayed."""
    merge = services.customer_merge_undo(actor=request.auth, merge_id=merge_id)
    return _merge_out(merge.pk)


def _merge_out(merge_id: int) -> CustomerMerge:
    return CustomerMerge.objects.select_related("survivor", "merged", "merged_by", "undone_by").get(
        pk=merge_id
    )
