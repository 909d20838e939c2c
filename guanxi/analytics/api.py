"""A customer's value figures and blacklist entry in the REST API.

Reads go through the caller's view of the customer (404 when out of sight); putting a customer
on the blacklist or taking them off needs the right to change them (403 otherwise), and both
are audited by the services.
"""

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StringConstraints

from guanxi.api.errors import error_responses
from guanxi.api.idempotency import idempotent
from guanxi.api.schemas import InputSchema, ParamId, UserRefOut

from . import services
from .selectors import customer_value_card_for_user

router = Router(tags=["customer value"])


class BlacklistOut(Schema):
    reason: str
    added_by: UserRefOut | None
    added_at: dt.datetime


class CustomerValueOut(Schema):
    as_of: dt.date
    purchase_days: int
    first_purchase: dt.date | None
    last_purchase: dt.date | None
    total_amount: float
    gross_margin: float
    cost_to_serve: float
    profit: float
    r_score: int
    f_score: int
    m_score: int
    rfm_segment: str
    p_alive: float | None = Field(description="Probability the customer is still active.")
    expected_purchases: float | None
    clv: float | None = Field(description="Discounted lifetime value over the set horizon.")
    pareto_tier: str = Field(description="gold, iron or lead; empty when not tiered.")
    volume_tier: str
    value_quadrant: str
    lifecycle_stage: str
    churn_flag: bool
    churn_reason: str
    value_at_risk: float
    credit_rating: str


class CustomerValueCardOut(Schema):
    value: CustomerValueOut | None = Field(
        description="The current analytics run's figures; null before the first refresh and "
        "for customers created since."
    )
    blacklist: BlacklistOut | None


class BlacklistIn(InputSchema):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def _card(request: HttpRequest, customer_id: int) -> dict:
    card = customer_value_card_for_user(request.auth, customer_id)
    value = None
    if card.value is not None:
        value = {
            "as_of": card.run.as_of,
            **{name: getattr(card.value, name) for name in CustomerValueOut.model_fields
               if name != "as_of"},
        }  # fmt: skip
    blacklist = None
    if card.blacklist is not None:
        entry = card.blacklist
        blacklist = {"reason": entry.reason, "added_by": entry.added_by, "added_at": entry.added_at}
    return {"value": value, "blacklist": blacklist}


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
    response={201: CustomerValueCardOut, **error_responses(403, 404)},
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
    response={204: None, **error_responses(403, 404)},
    url_name="customer_blacklist_remove",
    summary="Take a customer off the blacklist",
)
def customer_blacklist_remove(request: HttpRequest, customer_id: ParamId):
    """422 when the customer is not on the blacklist."""
    services.blacklist_remove(actor=request.auth, customer_id=customer_id)
    return Status(204, None)
