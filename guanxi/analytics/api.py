"""A customer's value figures and blacklist entry in the REST API.

Reads go through the caller's view of the customer (404 when out of sight); putting a customer
on the blacklist or taking them off needs the right to change them (403 otherwise), and both
are audited by the services. Both are changes to the customer (a new version); taking them
off takes the version the caller read, as the customer's other writes do.
"""

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, StringConstraints

from guanxi.api.errors import StaleVersionOut, error_responses
from guanxi.api.idempotency import idempotent
from guanxi.api.schemas import MAX_VERSION, InputSchema, ParamId, UserRefOut

# The version checked is the customer's, so it is read as the customer API reads it.
from guanxi.customers.api import IfMatch, _expected_version

from . import services
from .selectors import customer_value_card_for_user

router = Router(tags=["customer value"])


class BlacklistOut(Schema):
    reason: str
    added_by: UserRefOut | None
    added_at: dt.datetime


class CustomerValueOut(Schema):
    as_of: dt.date
    # The nightly refresh alone recomputes the figures: a client needs to know how old they
    # are and whether the customer has changed since in a way they do not count, which the
    # customer page tells by the same rule (``selectors.customer_value_card``).
    computed_at: dt.datetime = Field(
        description="When the analytics refresh that computed these figures started reading "
        "the data: orders, contacts, tickets and merges after it are not in them."
    )
    # The selector's ``OUTDATED_BY_MERGE`` and ``OUTDATED_BY_PURCHASE``.
    outdated_by: Literal["merge", "purchase"] | None = Field(
        description="Why the figures no longer describe the customer, who changed since "
        "computed_at in a way they would tell, until the next refresh recomputes them: merge "
        "(another customer was merged into this one, so the figures lack its orders, contacts "
        "and tickets) or purchase (the refresh counted no purchase, and the customer has "
        "bought since: the figures say it never bought). Null when they still describe it. "
        "The customer page shows no figures in either case, saying why."
    )
    # The purchase dates count every currency, as the churn warnings do; the money figures and
    # the purchase days they go with count the settings currency alone, unconverted.
    purchase_days: int = Field(
        description="Days with a completed order in the settings currency, which the money "
        "figures and the lifetime-value models count."
    )
    first_purchase: dt.date | None = Field(
        description="The day of the first completed order in any currency; null without one."
    )
    last_purchase: dt.date | None = Field(
        description="The day of the last completed order in any currency, as the churn "
        "warnings judge it; null without one."
    )
    total_amount: float
    gross_margin: float
    cost_to_serve: float
    profit: float
    r_score: int
    f_score: int
    m_score: int
    rfm_segment: str
    # Kept as the model gives it, for clients that compute with it; the description says
    # what a 1 means for a single purchase, which ``purchase_days`` tells apart.
    p_alive: float | None = Field(
        description="Probability the customer is still active, by the purchase model (BG/NBD); "
        "null without a prediction. It is exactly 1 for every customer with a single purchase "
        "day (purchase_days 1): the model counts no one as lost before a repeat purchase, so "
        'for them it tells nothing (the customer page says "one purchase only" instead).'
    )
    expected_purchases: float | None
    clv: float | None = Field(description="Discounted lifetime value over the set horizon.")
    pareto_tier: str = Field(
        description="gold, iron or lead; empty when not tiered: nothing bought in the settings "
        "currency and nothing lost, whether the customer never bought or bought only in other "
        "currencies (rfm_segment other_currencies)."
    )
    volume_tier: str
    value_quadrant: str
    lifecycle_stage: str = Field(
        description="The customer's step on the loyalty ladder, by their purchases in every "
        "currency, contacts and service desk tickets: suspect (never in contact: no contact, "
        "ticket or purchase), expectation (in contact, but no purchase in the last purchase "
        "cycle, lifecycle_cycle_days of the value settings), first_purchase (one purchase day "
        "in the open cycle), repeat_purchase (two or more), advocate (a repeat buyer who sent "
        "praise to the service desk in the last lifecycle_cycle_days days; a duplicate merged "
        "into another ticket counts as that ticket)."
    )
    churn_flag: bool
    churn_reason: str = Field(
        description="Why the customer is flagged; empty without a warning. Purchase signals: "
        "p_alive_low (probably no longer active, by the purchase model), overdue (silent for "
        "longer than the set margin times their own mean gap between purchases), no_repeat "
        "(a single purchase day, and no second one after the set margin times the set "
        "percentile of the days the customers who did buy again took from their first "
        "purchase to their second; never with fewer than 20 such customers), or two of them "
        "joined: p_alive_low+overdue, p_alive_low+no_repeat. Service signals, which take the "
        "place of a purchase reason: complaints (an open one, or repeated ones, in the last 90 "
        "days), poor_survey (the latest survey of the last 180 days scored 2 or less out of "
        "5), complaints+poor_survey."
    )
    value_at_risk: float | None = Field(
        description="What the customer is worth if lost: the lifetime value, or without one "
        "the margin earned so far, in the settings currency; 0 without a warning. Null when a "
        "warned customer bought only in other currencies: the figures do not convert "
        "currencies, so it is unknown. See value_at_risk_partial for one who bought in other "
        "currencies as well."
    )
    value_at_risk_partial: bool = Field(
        description="True when a warned customer bought in other currencies as well as the "
        "settings currency: value_at_risk counts the settings-currency part alone, so the "
        'customer is worth at least that much (the pages show it as "at least"). False '
        "otherwise, an unknown value_at_risk included."
    )
    credit_rating: str


class CustomerValueCardOut(Schema):
    value: CustomerValueOut | None = Field(
        description="The current analytics run's figures; null before the first refresh and "
        "for customers created since."
    )
    blacklist: BlacklistOut | None
    customer_version: int = Field(
        description="The customer's version, to send when taking them off the blacklist."
    )


class BlacklistIn(InputSchema):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


# The fields of ``CustomerValueOut`` that come from the run and the card, not the figures' row.
RUN_FIELDS = ("as_of", "computed_at", "outdated_by")


def _card(request: HttpRequest, customer_id: int) -> dict:
    card = customer_value_card_for_user(request.auth, customer_id)
    value = None
    if card.value is not None:
        value = {
            "as_of": card.run.as_of,
            "computed_at": card.run.started_at,
            "outdated_by": card.outdated_by or None,
            **{name: getattr(card.value, name) for name in CustomerValueOut.model_fields
               if name not in RUN_FIELDS},
        }  # fmt: skip
    blacklist = None
    if card.blacklist is not None:
        entry = card.blacklist
        blacklist = {"reason": entry.reason, "added_by": entry.added_by, "added_at": entry.added_at}
    return {"value": value, "blacklist": blacklist, "customer_version": card.customer_version}


@router.get(
    "/customers/{customer_id}/value",
    response={200: CustomerValueCardOut, **error_responses(404)},
    url_name="customer_value",
    summary="A customer's value figures",
)
def customer_value(request: HttpRequest, customer_id: ParamId):
    """Tier, RFM, lifetime value, churn warning and credit rating from the current analytics
    run, and the blacklist entry if there is one."""
    return _card(request, customer_id)


@router.post(
    "/customers/{customer_id}/blacklist",
    response={201: CustomerValueCardOut, **error_responses(403, 404, 409)},
    url_name="customer_blacklist_add",
    summary="Put a customer on the blacklist",
)
@idempotent
def customer_blacklist_add(request: HttpRequest, customer_id: ParamId, payload: BlacklistIn):
    """From now on, a new order for the customer waits for a manager's approval. 422 when the
    customer is on the blacklist already."""
    services.blacklist_add(actor=request.auth, customer_id=customer_id, reason=payload.reason)
    return Status(201, _card(request, customer_id))


@router.delete(
    "/customers/{customer_id}/blacklist",
    response={204: None, 409: StaleVersionOut, **error_responses(403, 404)},
    url_name="customer_blacklist_remove",
    summary="Take a customer off the blacklist",
)
def customer_blacklist_remove(
    request: HttpRequest,
    customer_id: ParamId,
    version: Annotated[int | None, Query(None, ge=1, le=MAX_VERSION)] = None,
    if_match: IfMatch = None,
):
    """Send the customer's `version` you read (the value card's `customer_version`, or the
    customer's) as a query parameter, or its ETag as `If-Match`: 409 when the customer changed
    since (the entry may have been taken off and put back with another reason), 422 without
    one, and when the customer is not on the blacklist."""
    expected = _expected_version(version, if_match)
    services.blacklist_remove(
        actor=request.auth, customer_id=customer_id, expected_version=expected
    )
    return Status(204, None)
