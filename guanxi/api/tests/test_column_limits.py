"""Text a request body sends to a database column is held to the column's length by the schema:
the OpenAPI document states the model's ``max_length`` as ``maxLength``, and longer text is
refused naming the field, in the request's language, before anything is written.

The limits are read from the models, so the test walks the models against the generated schema:
a text field added to a body for a column, or a body added, fails here until it states the
column's limit (or says here why it cannot).
"""

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from guanxi.analytics.models import Blacklist
from guanxi.api.api import api
from guanxi.customers.models import (
    Address,
    Customer,
    Email,
    MarketingConsent,
    Phone,
    Tag,
)
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Invoice, Order, OrderLine, Payment
from guanxi.service.models import Ticket, TicketMessage

SCHEMA = api.get_openapi_schema()
COMPONENTS = SCHEMA["components"]["schemas"]

# The model each request body (and each object nested in one) writes to; None for a body that
# holds only ids, versions and choices of an action.
BODY_MODELS: dict[str, type[models.Model] | None] = {
    "AddressDraftIn": Address,
    "AddressIn": Address,
    "AssignIn": Ticket,
    "BlacklistIn": Blacklist,
    "ConsentIn": MarketingConsent,
    "CustomerCreateIn": Customer,
    "CustomerDraftIn": Customer,
    "CustomerMergeIn": None,
    "CustomerPatchIn": Customer,
    "DeactivateIn": None,
    "DuplicateRejectIn": None,
    "EmailIn": Email,
    "InteractionIn": Interaction,
    "InvoiceIn": Invoice,
    "NoteIn": TicketMessage,
    "OrderCreateIn": Order,
    "OrderLineIn": OrderLine,
    "OrderPatchIn": Order,
    "PaymentIn": Payment,
    "PhoneIn": Phone,
    "ReassignIn": None,
    "ReplyIn": TicketMessage,
    "RestoreIn": None,
    "SendAgainIn": None,
    "StatusIn": Ticket,
    "TicketCreateIn": Ticket,
    "TicketMergeIn": None,
    "TicketPatchIn": Ticket,
    "VersionIn": None,
}

# Lists of text whose items are each stored in a column of another model.
ITEM_COLUMNS: dict[tuple[str, str], tuple[type[models.Model], str]] = {
    ("CustomerCreateIn", "tags"): (Tag, "name"),
    ("CustomerPatchIn", "tags"): (Tag, "name"),
    # The plain string that is short for {"address": ...}.
    ("CustomerCreateIn", "emails"): (Email, "address"),
    ("CustomerPatchIn", "emails"): (Email, "address"),
    ("CustomerDraftIn", "emails"): (Email, "address"),
}

# Columns whose text is not stored as sent, so their length says nothing of what may be sent.
NOT_STORED_AS_SENT = {
    # Read into its international form (+8613800138000): "+86 138-0013-8000" is longer. The
    # service refuses a number too long written out, naming it.
    (Phone, "number"),
    # Three letters, as the pattern says.
    (Order, "currency"),
    (Invoice, "currency"),
}
LISTS_NOT_STORED_AS_SENT = {
    ("CustomerCreateIn", "phones"),
    ("CustomerPatchIn", "phones"),
    ("CustomerDraftIn", "phones"),
}


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _options(schema: dict) -> list[dict]:
    """The alternatives of a field, references resolved, null left out."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return [found for option in schema["anyOf"] for found in _options(option)]
    return [] if schema.get("type") == "null" else [schema]


def _texts(options: list[dict]) -> list[dict]:
    return [o for o in options if o.get("type") == "string" and "enum" not in o]


def _body_components() -> set[str]:
    """The components the request bodies are made of, however deeply nested."""
    found: set[str] = set()

    def walk(schema):
        if isinstance(schema, dict):
            ref = schema.get("$ref", "")
            name = ref.rsplit("/", 1)[1] if ref else None
            if name and name not in found:
                found.add(name)
                walk(COMPONENTS[name])
            for value in schema.values():
                walk(value)
        elif isinstance(schema, list):
            for value in schema:
                walk(value)

    for operations in SCHEMA["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert any("$ref" in o for o in [body, *body.get("anyOf", [])]), operation
                walk(body)
    return found


def _column(model: type[models.Model], name: str) -> models.CharField | None:
    """The model's text column ``name`` with a length limit, or None."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, models.CharField) or field.max_length is None:
        return None
    if field.choices is not None or (model, name) in NOT_STORED_AS_SENT:
        return None
    return field


def _limits_to_check() -> tuple[list[tuple[str, str, list[dict], int]], list[str]]:
    """(component, field, its text options, the column's length) for every text field bound
    for a column, and the lists of text not said to be bound for one."""
    limits, unknown_lists = [], []
    for component, model in sorted(BODY_MODELS.items(), key=lambda item: item[0]):
        if model is None:
            continue
        for name, field in COMPONENTS[component]["properties"].items():
            column = _column(model, name)
            if column is not None:
                limits.append((component, name, _texts(_options(field)), column.max_length))
            for option in _options(field):
                if option.get("type") != "array" or not _texts(_options(option["items"])):
                    continue
                if (component, name) in LISTS_NOT_STORED_AS_SENT:
                    continue
                if (component, name) not in ITEM_COLUMNS:
                    unknown_lists.append(f"{component}.{name}")
                    continue
                item_model, item_field = ITEM_COLUMNS[(component, name)]
                limit = item_model._meta.get_field(item_field).max_length
                limits.append((component, f"{name}[]", _texts(_options(option["items"])), limit))
    return limits, unknown_lists


LIMITS, UNKNOWN_LISTS = _limits_to_check()


def test_every_body_is_matched_with_the_model_it_writes_to():
    assert _body_components() == set(BODY_MODELS)


def test_every_list_of_text_says_where_its_items_are_stored():
    assert UNKNOWN_LISTS == [], "say in ITEM_COLUMNS which column their items are stored in"


@pytest.mark.parametrize(
    ("component", "name", "texts", "limit"), LIMITS, ids=[f"{c}.{n}" for c, n, _t, _l in LIMITS]
)
def test_the_schema_states_the_columns_length(component, name, texts, limit):
    assert texts, f"{component}.{name} takes no text"
    assert all(text.get("maxLength") == limit for text in texts), (component, name, texts)


def test_the_walk_finds_the_columns_of_every_kind_of_body():
    checked = {(component, name) for component, name, _t, _l in LIMITS}
    assert {
        ("CustomerCreateIn", "name"),
        ("CustomerPatchIn", "website"),
        ("CustomerPatchIn", "tags[]"),
        ("EmailIn", "address"),
        ("AddressIn", "street"),
        ("ConsentIn", "evidence"),
        ("InteractionIn", "subject"),
        ("TicketCreateIn", "requester_email"),
        ("OrderLineIn", "product"),
        ("InvoiceIn", "number"),
    } <= checked


def _length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def _too_long(model: type[models.Model], name: str) -> str:
    return "x" * (_length(model, name) + 1)


def _customer_create(admin, company):
    return "post", "/customers", {"name": "Limit Test"}, Customer.objects.count


def _customer_patch(admin, company):
    customer = company.rep_customer
    address = f"/customers/{customer.pk}"
    return "patch", address, {"version": customer.version}, lambda: admin.get(address).json()


def _interaction(admin, company):
    return (
        "post",
        f"/customers/{company.rep_customer.pk}/interactions",
        {"channel": "phone", "subject": "Called"},
        Interaction.objects.count,
    )


def _ticket(admin, company):
    return (
        "post",
        "/tickets",
        {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Broken lid"},
        Ticket.objects.count,
    )


def _order(admin, company):
    return (
        "post",
        "/orders",
        {"customer_id": company.rep_customer.pk, "ordered_on": "2026-01-05", "amount": "10.00"},
        Order.objects.count,
    )


CASES = [
    # (request, sent, field, (model, column))
    (_customer_create, {"name": _too_long(Customer, "name")}, "name", (Customer, "name")),
    (
        _customer_patch,
        {"company": _too_long(Customer, "company")},
        "company",
        (Customer, "company"),
    ),
    (
        _customer_patch,
        {"job_title": _too_long(Customer, "job_title")},
        "job_title",
        (Customer, "job_title"),
    ),
    (
        _customer_patch,
        {"website": "https://" + _too_long(Customer, "website") + ".cn"},
        "website",
        (Customer, "website"),
    ),
    (
        _customer_patch,
        {"external_id": _too_long(Customer, "external_id")},
        "external_id",
        (Customer, "external_id"),
    ),
    (
        _customer_patch,
        {"addresses": [{"city": "上海", "street": _too_long(Address, "street")}]},
        "addresses[0].street",
        (Address, "street"),
    ),
    (_customer_patch, {"tags": [_too_long(Tag, "name")]}, "tags[0]", (Tag, "name")),
    (
        _customer_patch,
        {"emails": [_too_long(Email, "address")]},
        "emails[0].address",
        (Email, "address"),
    ),
    (
        _interaction,
        {"subject": _too_long(Interaction, "subject")},
        "subject",
        (Interaction, "subject"),
    ),
    (
        _ticket,
        {"requester_email": _too_long(Ticket, "requester_email")},
        "requester_email",
        (Ticket, "requester_email"),
    ),
    (
        _order,
        {"external_id": _too_long(Order, "external_id")},
        "external_id",
        (Order, "external_id"),
    ),
]
MESSAGES = {"en": "At most {n} characters.", "zh-hans": "最多 {n} 个字符。"}


@pytest.mark.parametrize("language", MESSAGES)
@pytest.mark.parametrize(
    "case", CASES, ids=[f"{case[0].__name__.lstrip('_')} {case[2]}" for case in CASES]
)
def test_text_longer_than_its_column_is_refused_naming_the_field(api_as, company, language, case):
    request, sent, field, (model, column) = case
    admin = api_as("admin")
    method, address, base, state = request(admin, company)
    before = state()
    answer = getattr(admin, method)(
        address, {**base, **sent}, headers={"Accept-Language": language}
    )
    assert answer.status_code == 422, answer.json()
    message = MESSAGES[language].format(n=_length(model, column))
    assert answer.json()["errors"] == [{"field": field, "message": message}], answer.json()
    assert state() == before
