"""Every list a request takes has an upper limit: the OpenAPI document states it as ``maxItems``,
a longer list is refused before anything is read or written, 422 naming the list in the words
every list's limit is said in ("At most 100 items."), and a list exactly at the limit goes
through. A ticket sent many orders that are not its customer's is told the first few of them
and how many others, not all of them.

The limits are read from the schema, so the test walks every request body and query: a list
added to one without a limit fails here.
"""

import datetime as dt

import pytest

from guanxi.api.api import api
from guanxi.api.schemas import (
    MAX_ADDRESSES,
    MAX_EMAILS,
    MAX_ORDER_LINES,
    MAX_PHONES,
    MAX_TAGS,
    MAX_TICKET_ORDERS,
)
from guanxi.customers.models import Customer, MarketingConsent
from guanxi.orders.models import Order
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db

SCHEMA = api.get_openapi_schema()
COMPONENTS = SCHEMA["components"]["schemas"]


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _unbounded(where: str, schema: dict, seen: set[str], lacks_limit) -> list[str]:
    """The parts of ``schema`` (its fields, their alternatives, items and values, however
    deeply nested) that ``lacks_limit`` says state no limit."""
    ref = schema.get("$ref", "")
    if ref:
        name = ref.rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        return _unbounded(name, COMPONENTS[name], seen, lacks_limit)
    found = [where] if lacks_limit(schema) else []
    for option in schema.get("anyOf", []):
        found += _unbounded(where, option, seen, lacks_limit)
    if "items" in schema:
        found += _unbounded(f"{where}[]", schema["items"], seen, lacks_limit)
    for name, field in schema.get("properties", {}).items():
        found += _unbounded(f"{where}.{name}", field, seen, lacks_limit)
    if isinstance(schema.get("additionalProperties"), dict):
        found += _unbounded(f"{where}.*", schema["additionalProperties"], seen, lacks_limit)
    return found


def unbounded_in_requests(lacks_limit) -> tuple[list[str], set[str], int]:
    """The parts of every query and request body of the API that ``lacks_limit`` says state no
    limit; the schemas walked through; how many request bodies there are."""
    unbounded, seen, bodies = [], set(), 0
    for path, operations in SCHEMA["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} ?{parameter['name']}"
                unbounded += _unbounded(where, parameter["schema"], seen, lacks_limit)
            if "requestBody" in operation:
                bodies += 1
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                unbounded += _unbounded(f"{method.upper()} {path}", body, seen, lacks_limit)
    return unbounded, seen, bodies


def test_every_list_a_request_takes_states_its_limit():
    unbounded, seen, bodies = unbounded_in_requests(
        lambda schema: schema.get("type") == "array" and "maxItems" not in schema
    )
    assert bodies > 20 and {"CustomerPatchIn", "OrderCreateIn", "TicketPatchIn"} <= seen
    assert unbounded == [], "give these lists a max_length (see guanxi.api.schemas)"


# ---------------------------------------------------------------------------------------------
# Each list over and at its limit, through the API


def _orders_of(customer: Customer, count: int) -> list[int]:
    Order.objects.bulk_create(
        Order(customer=customer, ordered_on=dt.date(2026, 1, 5), amount="10.00", currency="CNY")
        for _ in range(count)
    )
    return list(
        Order.objects.filter(customer=customer).order_by("pk").values_list("pk", flat=True)
    )[:count]


def _customer_create(company, admin):
    return "post", "/customers", {"name": "Many Things"}, 201


def _customer_patch(company, admin):
    customer = company.rep_customer
    return "patch", f"/customers/{customer.pk}", {"version": customer.version}, 200


def _order_create(company, admin):
    body = {"customer_id": company.rep_customer.pk, "ordered_on": "2026-01-05"}
    return "post", "/orders", body, 201


def _ticket_create(company, admin):
    body = {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Late"}
    return "post", "/tickets", body, 201


def _ticket_patch(company, admin):
    ticket = services.ticket_create(
        actor=company.admin,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Late"},
    )
    return "patch", f"/tickets/{ticket.pk}", {"version": ticket.version}, 200


def _phones(company, count):
    return [f"138{n:08d}" for n in range(count)]


def _emails(company, count):
    return [f"person{n}@example.cn" for n in range(count)]


def _addresses(company, count):
    return [{"city": f"City {n}"} for n in range(count)]


def _tags(company, count):
    return [f"tag {n}" for n in range(count)]


def _consents(company, count):
    channels = MarketingConsent.Channel.values * 2
    return [{"channel": c, "granted": True, "method": "web_form"} for c in channels[:count]]


def _lines(company, count):
    return [{"product": f"Part {n}", "unit_price": "1.00"} for n in range(count)]


def _order_ids(company, count):
    return _orders_of(company.rep_customer, count)


CHANNELS = len(MarketingConsent.Channel)
CASES = [
    # (request, list, its items, limit)
    (_customer_create, "phones", _phones, MAX_PHONES),
    (_customer_create, "emails", _emails, MAX_EMAILS),
    (_customer_create, "addresses", _addresses, MAX_ADDRESSES),
    (_customer_create, "tags", _tags, MAX_TAGS),
    (_customer_create, "consents", _consents, CHANNELS),
    (_customer_patch, "phones", _phones, MAX_PHONES),
    (_customer_patch, "emails", _emails, MAX_EMAILS),
    (_customer_patch, "addresses", _addresses, MAX_ADDRESSES),
    (_customer_patch, "tags", _tags, MAX_TAGS),
    (_customer_patch, "consents", _consents, CHANNELS),
    (_order_create, "lines", _lines, MAX_ORDER_LINES),
    (_ticket_create, "order_ids", _order_ids, MAX_TICKET_ORDERS),
    (_ticket_patch, "order_ids", _order_ids, MAX_TICKET_ORDERS),
]
IDS = [f"{request.__name__[1:]}.{field}" for request, field, _i, _l in CASES]


def _send(client, method, path, body):
    return getattr(client, method)(path, body)


def _rows() -> tuple[int, ...]:
    return Customer.objects.count(), Order.objects.count(), Ticket.objects.count()


def test_the_limits_are_more_than_anyone_sends_and_keep_a_request_small():
    assert (MAX_PHONES, MAX_EMAILS, MAX_ADDRESSES, MAX_TAGS) == (50, 50, 50, 100)
    assert (MAX_ORDER_LINES, MAX_TICKET_ORDERS) == (1000, 1000)
    # A customer's consents: one for each channel.
    assert CHANNELS == len(set(MarketingConsent.Channel.values)) >= 5


@pytest.mark.parametrize(("request_for", "field", "items", "limit"), CASES, ids=IDS)
def test_a_list_over_its_limit_is_refused_naming_it(
    api_as, company, request_for, field, items, limit
):
    admin = api_as("admin")
    method, path, body, _status = request_for(company, admin)
    sent = items(company, limit + 1)
    rows = _rows()
    answer = _send(admin, method, path, {**body, field: sent})
    assert answer.status_code == 422, answer.json()
    assert answer.json()["errors"] == [{"field": field, "message": f"At most {limit} items."}]
    assert _rows() == rows


@pytest.mark.parametrize(("request_for", "field", "items", "limit"), CASES, ids=IDS)
def test_a_list_at_its_limit_goes_through(api_as, company, request_for, field, items, limit):
    admin = api_as("admin")
    method, path, body, status = request_for(company, admin)
    answer = _send(admin, method, path, {**body, field: items(company, limit)})
    assert answer.status_code == status, answer.json()
    stored = answer.json()[field]
    assert len(stored) == limit


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "At most 100 items."),
        ("zh-hans", "最多 100 项。"),
        ("zh-hant", "最多 100 項。"),
    ],
)
def test_the_limit_is_said_in_the_requests_language(api_as, company, language, message):
    answer = api_as("admin").post(
        "/customers",
        {"name": "Many Tags", "tags": _tags(company, MAX_TAGS + 1)},
        headers={"Accept-Language": language},
    )
    assert answer.status_code == 422, answer.json()
    assert answer.json()["errors"] == [{"field": "tags", "message": message}]


# ---------------------------------------------------------------------------------------------
# Orders that are not the customer's


def _ticket_with_orders(api_as, company, order_ids, language="en"):
    return api_as("admin").post(
        "/tickets",
        {
            "customer_id": company.rep_customer.pk,
            "type": "complaint",
            "subject": "Late",
            "order_ids": order_ids,
        },
        headers={"Accept-Language": language},
    )


def _others(company, count: int) -> list[int]:
    """``count`` orders of another customer, oldest first."""
    return _orders_of(company.west_customer, count)


def test_a_few_orders_not_the_customers_are_all_named(api_as, company):
    theirs = _others(company, 3)
    answer = _ticket_with_orders(api_as, company, theirs)
    assert answer.status_code == 422, answer.json()
    named = ", ".join(str(i) for i in theirs)
    assert answer.json()["errors"] == [
        {"field": "order_ids", "message": f"Orders {named} are not this customer's."}
    ]


def test_orders_not_the_customers_are_named_up_to_ten(api_as, company):
    theirs = _others(company, 10)
    answer = _ticket_with_orders(api_as, company, theirs)
    named = ", ".join(str(i) for i in theirs)
    assert answer.json()["errors"] == [
        {"field": "order_ids", "message": f"Orders {named} are not this customer's."}
    ]


@pytest.mark.parametrize(
    ("count", "others"), [(11, "1 other"), (12, "2 others"), (MAX_TICKET_ORDERS, "990 others")]
)
def test_more_orders_not_the_customers_are_counted_not_named(api_as, company, count, others):
    theirs = _others(company, count)
    answer = _ticket_with_orders(api_as, company, theirs)
    assert answer.status_code == 422, answer.json()
    named = ", ".join(str(i) for i in theirs[:10])
    assert answer.json()["errors"] == [
        {"field": "order_ids", "message": f"Orders {named} and {others} are not this customer's."}
    ]
    assert not Ticket.objects.exists()


def test_unknown_ids_are_counted_among_the_others(api_as, company):
    own = _orders_of(company.rep_customer, 1)
    unknown = list(range(own[0] + 1000, own[0] + 1030))
    answer = _ticket_with_orders(api_as, company, [*own, *unknown])
    named = ", ".join(str(i) for i in unknown[:10])
    assert answer.json()["errors"] == [
        {"field": "order_ids", "message": f"Orders {named} and 20 others are not this customer's."}
    ]


@pytest.mark.parametrize(
    ("language", "template"),
    [
        ("zh-hans", "订单 {named} 及另外 {others} 个订单不属于此客户。"),
        ("zh-hant", "訂單 {named} 及另外 {others} 個訂單不屬於此客戶。"),
    ],
)
def test_the_others_are_counted_in_the_requests_language(api_as, company, language, template):
    theirs = _others(company, 25)
    answer = _ticket_with_orders(api_as, company, theirs, language)
    named = ", ".join(str(i) for i in theirs[:10])
    assert answer.json()["errors"] == [
        {"field": "order_ids", "message": template.format(named=named, others=15)}
    ]
