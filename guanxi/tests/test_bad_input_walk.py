"""Every route that takes input, sent bad input by the administrator.

The counterpart of ``test_authorization_walk``: that walk asks who may use each route, this one
asks what each route does with input it cannot use. Two walks:

- the REST API: every operation of the OpenAPI schema that takes a body or query or path
  parameters, with cases made from the schema itself (each required field left out, a value of
  the wrong JSON type, text beyond ``maxLength`` or 100,000 characters where there is none, NUL
  characters and lone surrogates, integers beyond 64 bits and negative ids, unknown choices,
  malformed dates, a body that is not JSON, ids in the path that do not exist or exceed bigint);
- the web forms: every named URL that accepts POST, with the fields of the form its page
  renders (or its view's form class) filled with NUL characters, over-long text and values of
  the wrong kind.

- the uploads: the import page sent files it cannot use (empty, random bytes, an .xlsx that is
  no workbook, repeated headers, a header alone, a program, a file over the limit, none) and
  files it must read (GBK, UTF-16, names with folders, NUL characters or 300 characters), and
  the ticket page's attachments;
- the inbound-mail webhook: a provider's post without the secret, of the wrong type, too large,
  or holding no email, and emails without a sender, in an unknown charset, with NUL characters
  or sent twice.

Every answer must be a 4xx (the API's in its error shape, naming the field at fault), a form
shown again with its errors, or a redirect; never a 500. A refused request must leave the
database as it was: the row count, highest id, highest version and last update of every table
of the project are compared before and after.

Each case runs in a savepoint that is rolled back afterwards, so a case the route accepts
(100,000 characters in a text field without a limit, say) cannot change what the next case
meets, and a database error that breaks the transaction (PostgreSQL's, on text with NUL or an
integer beyond bigint) is reported as the 500 it caused rather than failing every later case.
"""

from __future__ import annotations

import io
import json
import random
import re
import tempfile
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, models, transaction
from django.db.models.functions import Length
from django.test import Client
from django.utils import timezone

from guanxi.accounts.services import api_token_create
from guanxi.core.testing.factories import CustomerFactory
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customers_merge
from guanxi.orders.models import Invoice, Order
from guanxi.service.models import CustomerEmail

pytestmark = pytest.mark.django_db

BEYOND_64_BITS = 2**64 + 1
BEYOND_BIGINT = 2**63
MISSING_ID = 2**62  # fits every id column, and no row has it
NO_LIMIT_LENGTH = 100_000
NUL = "a\u0000b"
SURROGATE = "a\ud800b"


# ---------------------------------------------------------------------------------------------
# The state of the database, to prove a refused request left no trace


def _footprint_sql() -> str:
    quote = connection.ops.quote_name
    columns = []
    for model in apps.get_models():
        if not model.__module__.startswith("guanxi.") or not model._meta.managed:
            continue
        table = quote(model._meta.db_table)
        # Only the names of the project's own tables and columns go into the statement.
        columns.append(f"(SELECT COUNT(*) FROM {table})")  # noqa: S608
        for f in model._meta.concrete_fields:
            if f.primary_key or f.name in ("version", "updated_at", "status"):
                columns.append(f"(SELECT MAX({quote(f.column)}) FROM {table})")  # noqa: S608
    return "SELECT " + ", ".join(columns)


def footprint() -> tuple:
    """For every table of the project's own apps: its row count, its highest id, and its
    highest version, last update and status where it has them; in one statement, which keeps
    the walk quick."""
    with connection.cursor() as cursor:
        cursor.execute(_footprint_sql())
        return tuple(cursor.fetchone())


def overlong_values() -> list[str]:
    """Text stored beyond its column's length: SQLite does not enforce ``max_length``, so a
    value a route failed to check is found here instead of as PostgreSQL's error."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("guanxi."):
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField) and f.max_length:
                lookup = {f"{f.name}_len__gt": f.max_length}
                rows = model._base_manager.annotate(**{f"{f.name}_len": Length(f.name)})
                if rows.filter(**lookup).exists():
                    found.append(f"{model.__name__}.{f.name}")
    return found


def stored_garbage() -> list[str]:
    """A value outside its field's choices anywhere in the project's tables: what a route that
    did not check a choice would have stored. (Text with NUL characters is not looked for:
    SQLite cuts such text short in its string functions; PostgreSQL refuses to store it, which
    the walk on PostgreSQL meets as the server error it would cause.)"""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("guanxi.") or not model._meta.managed:
            continue
        rows = model._base_manager.all()
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.CharField | models.TextField):
                continue
            if f.choices:
                allowed = [value for value, _label in f.flatchoices] + [""]
                if (
                    rows.exclude(**{f"{f.name}__in": allowed})
                    .exclude(**{f"{f.name}__isnull": True})
                    .exists()
                ):
                    found.append(f"{model.__name__}.{f.name} holds an unknown choice")
    return found


class _RollBack(Exception):
    pass


@dataclass
class Outcome:
    status: int
    body: object
    changed: bool
    overlong: list[str] = field(default_factory=list)
    garbage: list[str] = field(default_factory=list)
    html: str = ""


def run_case(send, *, check_lengths: bool = False, check_garbage: bool = False) -> Outcome:
    """Send one request inside a savepoint, note what it did, and roll it back."""
    outcome = None
    try:
        with transaction.atomic():
            before = footprint()
            response = send()
            try:
                after = footprint()
                accepted = response.status_code < 400
                overlong = overlong_values() if check_lengths and accepted else []
                garbage = stored_garbage() if check_garbage and after != before else []
            except DatabaseError:  # the request broke the transaction: it answered 500
                after, overlong, garbage = None, [], []
            try:
                body = json.loads(response.content) if response.content else None
            except (ValueError, AttributeError):
                body = None
            html = ""
            if "html" in response.get("Content-Type", "") and not response.streaming:
                html = response.content.decode()
            outcome = Outcome(response.status_code, body, after != before, overlong, garbage, html)
            raise _RollBack
    except _RollBack:
        pass
    return outcome


# ---------------------------------------------------------------------------------------------
# The test world: one row of everything a path can name


# A custom field of each type, so that the forms and the API's custom_fields take them.
CUSTOM_FIELDS = [
    ("budget", "number", []),
    ("met_on", "date", []),
    ("tier", "choice", ["gold", "silver"]),
    ("motto", "text", []),
]
# Bad values for each type of custom field; a number that is no finite number is no JSON number
# either, so it comes as text.
CUSTOM_FIELD_VALUES = {
    "number": [
        ("a word", "walk"),
        ("not a number", "NaN"),
        ("infinity", "Infinity"),
        ("a number beyond any column", "1e999"),
        ("an integer beyond 64 bits", BEYOND_64_BITS),
        ("a list", [1]),
    ],
    "date": [("a malformed date", "2026-13-45"), ("a number", 20260101), ("an object", {})],
    "choice": [("an unknown choice", "platinum"), ("a list", ["gold"]), ("a number", 1)],
    "text": [("an object", {"walk": 1}), ("a list", ["walk"]), ("a NUL character", NUL)],
}


@dataclass
class World:
    ids: dict[str, int]
    versions: dict[str, int]
    admin: object


@pytest.fixture
def world(company) -> World:
    from guanxi.customers.models import CustomFieldDefinition
    from guanxi.service.services import ticket_create

    for key, field_type, choices in CUSTOM_FIELDS:
        CustomFieldDefinition.objects.create(
            key=key, label=key.title(), field_type=field_type, choices=choices
        )
    customer = company.rep_customer
    other = CustomerFactory(name="Other Card", owner=company.rep)
    spare = CustomerFactory(name="Spare Card", owner=None)
    order = Order.objects.create(
        customer=customer, ordered_on="2026-01-01", amount=5, approval="pending"
    )
    invoice = Invoice.objects.create(
        customer=customer,
        order=order,
        number="BAD-1",
        issued_on="2026-01-01",
        due_on="2026-01-31",
        amount=5,
    )
    ticket = ticket_create(
        actor=company.admin, customer_id=customer.pk, data={"type": "complaint", "subject": "A"}
    )
    into = ticket_create(
        actor=company.admin, customer_id=customer.pk, data={"type": "complaint", "subject": "B"}
    )
    unsent = CustomerEmail.objects.create(
        ticket=ticket,
        kind=CustomerEmail.Kind.ACKNOWLEDGEMENT,
        to="walk@example.cn",
        attempts=1,
        failed_at=timezone.now(),
        failure=CustomerEmail.Failure.UNREACHABLE,
    )
    low, high = sorted((customer.pk, other.pk))
    pair = DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")
    merge = customers_merge(actor=company.admin, survivor_id=other.pk, merged_id=spare.pk)
    return World(
        ids={
            "customer_id": customer.pk,
            "other_customer_id": company.teammate_customer.pk,
            "order_id": order.pk,
            "invoice_id": invoice.pk,
            "ticket_id": ticket.pk,
            "into_ticket_id": into.pk,
            "unsent_email_id": unsent.pk,
            "pair_id": pair.pk,
            "left_id": low,
            "right_id": high,
            "merge_id": merge.pk,
            "user_id": company.analyst.pk,
            "job_id": MISSING_ID,
            "rep_id": company.rep.pk,
            "teammate_id": company.teammate.pk,
        },
        versions={"customer": customer.version},
        admin=company.admin,
    )


# ---------------------------------------------------------------------------------------------
# The REST API

# A body each operation accepts (or at least one its schema accepts): each case changes one
# thing in it, so that the one change is what the answer is about.
API_BODIES = {
    "POST /api/v1/customers/duplicates": lambda w: {"name": "Walk"},
    "POST /api/v1/duplicates/{pair_id}/reject": lambda w: {
        "left_id": w.ids["left_id"],
        "right_id": w.ids["right_id"],
    },
    "POST /api/v1/customers/{customer_id}/merge": lambda w: {
        "merged_id": w.ids["other_customer_id"],
        "version": 1,
        "merged_version": 1,
    },
    "POST /api/v1/customers": lambda w: {"name": "Walk"},
    "POST /api/v1/customers/reassign": lambda w: {
        "from_owner_id": w.ids["rep_id"],
        "to_owner_id": w.ids["teammate_id"],
        "customer_ids": [w.ids["customer_id"]],
    },
    "PATCH /api/v1/customers/{customer_id}": lambda w: {"version": 1},
    "POST /api/v1/customers/{customer_id}/restore": lambda w: {"version": 1},
    "POST /api/v1/customers/{customer_id}/blacklist": lambda w: {"reason": "walk"},
    "POST /api/v1/customers/{customer_id}/interactions": lambda w: {
        "channel": "phone",
        "subject": "Walk",
    },
    "POST /api/v1/orders": lambda w: {
        "customer_id": w.ids["customer_id"],
        "ordered_on": "2026-01-01",
        "amount": "5.00",
    },
    "PATCH /api/v1/orders/{order_id}": lambda w: {"version": 1},
    "POST /api/v1/orders/{order_id}/refund": lambda w: {"version": 1},
    "POST /api/v1/orders/{order_id}/cancel": lambda w: {"version": 1},
    "POST /api/v1/orders/{order_id}/approve": lambda w: {"version": 1},
    "POST /api/v1/invoices": lambda w: {
        "customer_id": w.ids["customer_id"],
        "number": "WALK",
        "issued_on": "2026-01-01",
        "due_on": "2026-01-31",
        "amount": "5.00",
    },
    "POST /api/v1/invoices/{invoice_id}/payments": lambda w: {
        "paid_on": "2026-01-02",
        "amount": "1.00",
    },
    "POST /api/v1/tickets": lambda w: {
        "customer_id": w.ids["customer_id"],
        "type": "complaint",
        "subject": "Walk",
    },
    "PATCH /api/v1/tickets/{ticket_id}": lambda w: {"version": 1},
    "POST /api/v1/tickets/{ticket_id}/replies": lambda w: {"body": "Walk"},
    "POST /api/v1/tickets/{ticket_id}/notes": lambda w: {"body": "Walk"},
    "POST /api/v1/tickets/{ticket_id}/status": lambda w: {"status": "open", "version": 1},
    "POST /api/v1/tickets/{ticket_id}/assign": lambda w: {"assignee_id": None, "version": 1},
    "POST /api/v1/tickets/{ticket_id}/merge": lambda w: {
        "into_id": w.ids["into_ticket_id"],
        "version": 1,
        "into_version": 1,
    },
    "POST /api/v1/tickets/{ticket_id}/customer-emails/send-again": lambda w: {
        "email_id": w.ids["unsent_email_id"]
    },
    "POST /api/v1/users/{user_id}/deactivate": lambda w: {},
}
# Query parameters an operation needs to do anything at all.
API_QUERIES = {
    "DELETE /api/v1/customers/{customer_id}": {"version": "1"},
    "DELETE /api/v1/customers/{customer_id}/blacklist": {"version": "1"},
}


def _schema() -> dict:
    from guanxi.api.api import api

    return api.get_openapi_schema(path_prefix="/api/v1/")


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _variants(schema: dict, components: dict) -> list[dict]:
    schema = _resolve(schema, components)
    if "anyOf" in schema or "oneOf" in schema:
        return [
            v
            for option in schema.get("anyOf") or schema["oneOf"]
            for v in _variants(option, components)
        ]
    return [schema]


@dataclass
class Case:
    what: str
    field: str  # the field the answer must name; "" when the request as a whole is at fault
    body: object = None
    raw: bytes | None = None  # a body sent as it is
    query: dict | None = None
    path_ids: dict | None = None
    may_succeed: bool = False  # 100,000 characters where the schema sets no limit
    headers: dict | None = None


def value_cases(name: str, schema: dict, components: dict) -> list[tuple[str, object, bool]]:
    """(what, bad value, may succeed) for one field of the given schema."""
    variants = _variants(schema, components)
    types = {v.get("type", "object" if "properties" in v else None) for v in variants}
    strings = [v for v in variants if v.get("type") == "string"]
    free_text = [v for v in strings if not ({"enum", "const", "format", "pattern"} & set(v))]
    numeric = types & {"integer", "number"}
    cases: list[tuple[str, object, bool]] = []
    if "string" not in types:
        cases.append(("a string", "walk", False))
    if "array" not in types:
        cases.append(("a list", ["walk"], False))
    if "object" not in types:
        cases.append(("an object", {"walk": 1}, False))
    if "boolean" in types and not numeric:
        cases.append(("a number for a boolean", 7, False))
    if strings:
        cases.append(("a NUL character", NUL, False))
        cases.append(("a lone surrogate", SURROGATE, False))
    for v in free_text:
        if "maxLength" in v:
            cases.append(("text beyond maxLength", "x" * (v["maxLength"] + 1), False))
        else:
            cases.append(("100,000 characters", "x" * NO_LIMIT_LENGTH, True))
        break
    if any("enum" in v or "const" in v for v in strings) and not free_text:
        cases.append(("an unknown choice", "no-such-choice", False))
    if any(v.get("format") == "date" for v in strings):
        cases.append(("a malformed date", "2026-13-45", False))
    if any(v.get("format") == "date-time" for v in strings):
        cases.append(("a malformed date-time", "2026-02-30T25:61", False))
    if any("pattern" in v for v in strings):
        cases.append(("text not matching the pattern", "!!", False))
    if "number" in types:
        # Money and quantities: numbers a decimal column cannot hold, and ones no JSON number is.
        cases.append(("a number of 18 digits", 10**17, False))
        cases.append(("a float beyond any column", 1.5e300, False))
        if "string" in types:
            for word in ("NaN", "Infinity", "1e999", "walk"):
                cases.append((f"the text {word}", word, False))
    if numeric:
        cases.append(("an integer beyond 64 bits", BEYOND_64_BITS, False))
        if name.endswith("_id") or name.endswith("_ids") or name.endswith("version"):
            cases.append(("a negative id", -1, False))
    for v in variants:
        if v.get("type") == "array" and "items" in v:
            for what, bad, _ok in value_cases(name, v["items"], components):
                if what in ("a list", "100,000 characters"):
                    continue
                cases.append((f"an item that is {what}", [bad], False))
            break
    return cases


def _sample(schema: dict, components: dict) -> object:
    """A plausible value for a schema, to fill the required fields of a nested object."""
    for v in _variants(schema, components):
        if "enum" in v:
            return v["enum"][-1]
        if "const" in v:
            return v["const"]
        if v.get("format") == "date":
            return "2026-01-01"
        if v.get("format") == "date-time":
            return "2026-01-01T09:00:00Z"
        kind = v.get("type")
        if kind == "string":
            return "1"
        if kind in ("integer", "number"):
            return 1
        if kind == "boolean":
            return True
    return None


def nested_cases(name: str, schema: dict, components: dict) -> list[tuple[str, str, object, bool]]:
    """(field path, what, value of ``name``, may succeed) for the fields of objects in a list."""
    cases = []
    for v in _variants(schema, components):
        if v.get("type") != "array" or "items" not in v:
            continue
        for item in _variants(v["items"], components):
            if "properties" not in item:
                continue
            required = item.get("required", [])
            base = {k: _sample(item["properties"][k], components) for k in required}
            for sub, sub_schema in item["properties"].items():
                path = f"{name}[0].{sub}"
                if sub in required:
                    rest = {k: val for k, val in base.items() if k != sub}
                    cases.append((path, "left out", [rest], False))
                for what, bad, may_succeed in value_cases(sub, sub_schema, components):
                    cases.append((path, what, [{**base, sub: bad}], may_succeed))
    return cases


def api_cases(operation: str, op: dict, components: dict, world: World) -> list[Case]:
    cases: list[Case] = []
    path_params = [p for p in op.get("parameters", []) if p["in"] == "path"]
    query_params = [p for p in op.get("parameters", []) if p["in"] == "query"]
    base_query = API_QUERIES.get(operation, {})
    for p in path_params:
        name = p["name"]
        for what, value in (
            ("an id that does not exist", MISSING_ID),
            ("an id beyond bigint", BEYOND_BIGINT),
            ("an id beyond 64 bits", BEYOND_64_BITS),
            ("an id of zero", 0),
        ):
            cases.append(Case(f"{name}: {what}", "", path_ids={name: value}, query=base_query))
    for p in query_params:
        name = p["name"]
        for what, value, may_succeed in value_cases(name, p["schema"], components):
            if isinstance(value, dict):
                continue  # a query string has no objects
            if value == SURROGATE or (isinstance(value, list) and SURROGATE in value):
                # Only JSON can carry a lone surrogate; in a URL it is bytes that are not UTF-8,
                # which Django reads as replacement characters.
                continue
            sent = [str(v) for v in value] if isinstance(value, list) else str(value)
            if isinstance(value, list) and p["schema"].get("type") != "array":
                continue  # a repeated parameter: the last one counts, as in any web framework
            cases.append(
                Case(
                    f"query {name}: {what}",
                    name,
                    query={**base_query, name: sent},
                    may_succeed=may_succeed,
                )
            )
    if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])):
        body = API_BODIES[operation](world) if "requestBody" in op else None
        for what, value in (
            ("an Idempotency-Key beyond 255 characters", "k" * 256),
            ("an Idempotency-Key with a space", "walk key"),
        ):
            cases.append(
                Case(what, "Idempotency-Key", body=body, headers={"Idempotency-Key": value})
            )
    if any(p["name"] == "If-Match" for p in op.get("parameters", [])):
        for what, value in (
            ("an If-Match that is no ETag", "walk"),
            ("an If-Match beyond 64 bits", f'"{BEYOND_64_BITS}"'),
            ("an If-Match with a negative version", '"-1"'),
        ):
            body = dict(API_BODIES.get(operation, lambda w: {})(world))
            body.pop("version", None)
            cases.append(
                Case(
                    what,
                    "If-Match",
                    body=body if "requestBody" in op else None,
                    headers={"If-Match": value},
                )
            )
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None:
        schema = next(
            v for v in _variants(content["schema"], components) if v.get("type") == "object"
        )
        base = API_BODIES[operation](world)
        cases.append(Case("a body that is not JSON", "", raw=b"{walk: not json", query=base_query))
        cases.append(Case("a body that is a list", "", body=[base], query=base_query))
        for name in schema.get("required", []):
            cases.append(
                Case(
                    f"{name}: left out",
                    name,
                    body={k: v for k, v in base.items() if k != name},
                    query=base_query,
                )
            )
        for name, prop in schema.get("properties", {}).items():
            for what, value, may_succeed in value_cases(name, prop, components):
                cases.append(
                    Case(
                        f"{name}: {what}",
                        name,
                        body={**base, name: value},
                        query=base_query,
                        may_succeed=may_succeed,
                    )
                )
            for path, what, value, may_succeed in nested_cases(name, prop, components):
                cases.append(
                    Case(
                        f"{path}: {what}",
                        path,
                        body={**base, name: value},
                        query=base_query,
                        may_succeed=may_succeed,
                    )
                )
            if name == "custom_fields":
                custom = [
                    (f"{key}: {w}", key, v)
                    for key, t, _c in CUSTOM_FIELDS
                    for w, v in CUSTOM_FIELD_VALUES[t]
                ]
                custom.append(("a key no field has", "no_such_field", "walk"))
                for what, key, value in custom:
                    cases.append(
                        Case(
                            f"custom_fields.{what}",
                            f"custom_fields.{key}",
                            body={**base, name: {key: value}},
                            query=base_query,
                        )
                    )
            if name.endswith("_id") and "integer" in {
                v.get("type") for v in _variants(prop, components)
            }:
                cases.append(
                    Case(
                        f"{name}: an id that does not exist",
                        name,
                        body={**base, name: MISSING_ID},
                        query=base_query,
                    )
                )
    return cases


# Bad input a route may accept, and why.
ACCEPTED: set[tuple[str, str]] = set()


def _url(path: str, world: World, path_ids: dict | None) -> str:
    def fill(match):
        name = match.group(1)
        return str((path_ids or {}).get(name, world.ids.get(name)))

    return re.sub(r"\{(\w+)\}", fill, path)


def _query_string(query: dict) -> str:
    pairs = []
    for key, value in query.items():
        for v in value if isinstance(value, list) else [value]:
            # Lone surrogates cannot be UTF-8 encoded: sent as the bytes a client would send.
            encoded = v.encode("utf-8", "surrogatepass")
            pairs.append(f"{quote(key)}={quote(encoded)}")
    return "&".join(pairs)


def _names_field(body: object, name: str) -> bool:
    if not isinstance(body, dict):
        return False
    fields = [e.get("field", "") for e in body.get("errors") or []]
    return any(f == name or f.startswith((f"{name}[", f"{name}.")) for f in fields)


def _api_operations() -> list[str]:
    schema = _schema()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, op in operations.items()
        if any(p["in"] in ("path", "query") for p in op.get("parameters", []))
        or "requestBody" in op
    )


@pytest.fixture
def admin_api(company):
    _token, raw = api_token_create(actor=company.admin, user=company.admin, name="bad input")
    return Client(), {"Authorization": f"Bearer {raw}"}


def test_every_operation_that_takes_input_has_a_body_to_start_from():
    schema = _schema()
    for operation in _api_operations():
        method, path = operation.split(" ", 1)
        if "requestBody" in schema["paths"][path][method.lower()]:
            assert operation in API_BODIES, f"{operation}: say which body it accepts"


@pytest.mark.parametrize("operation", _api_operations())
def test_api_answers_bad_input_with_a_4xx_naming_the_field(operation, world, admin_api):
    client, headers = admin_api
    schema = _schema()
    method, path = operation.split(" ", 1)
    op = schema["paths"][path][method.lower()]
    failures = []
    for case in api_cases(operation, op, schema["components"]["schemas"], world):
        url = _url(path, world, case.path_ids)
        if case.query:
            url += "?" + _query_string(case.query)

        def send(case=case, url=url):
            sent_headers = {**headers, **(case.headers or {})}
            if method == "GET":
                return client.get(url, headers=sent_headers)
            if case.raw is not None:
                data = case.raw
            elif case.body is None:
                data = b""
            else:
                data = json.dumps(case.body).encode()
            return client.generic(method, url, data, "application/json", headers=sent_headers)

        outcome = run_case(send, check_lengths=case.may_succeed)
        problem = None
        if outcome.status >= 500:
            problem = f"answered {outcome.status}"
        elif outcome.status < 400:
            if not case.may_succeed and (operation, case.what) not in ACCEPTED:
                problem = f"accepted it ({outcome.status})"
            elif outcome.overlong:
                problem = f"stored text beyond its column: {outcome.overlong}"
        elif outcome.changed:
            problem = f"refused it ({outcome.status}) but changed the database"
        elif not isinstance(outcome.body, dict) or not outcome.body.get("detail"):
            problem = f"answered {outcome.status} without the error shape"
        elif case.field and not _names_field(outcome.body, case.field):
            problem = f"answered {outcome.status} without naming {case.field}: {outcome.body}"
        if problem:
            failures.append(f"{case.what}: {problem}")
    assert not failures, f"{operation}:\n  " + "\n  ".join(failures)


# ---------------------------------------------------------------------------------------------
# The web forms


class _Forms(HTMLParser):
    """The forms posted by a page: (action, [(name, kind, value, maxlength, choices)])."""

    def __init__(self, method: str = "post"):
        super().__init__()
        self.method = method
        self.forms: list[tuple[str, list[dict]]] = []
        self._form: list[dict] | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == self.method:
                self._form = []
                self.forms.append((a.get("action") or "", self._form))
            return
        if self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._select["choices"].append(a.get("value", ""))
                if "selected" in a:
                    self._select["value"] = a.get("value", "")
            return
        field_ = {
            "name": a["name"],
            "kind": a.get("type", "text").lower() if tag == "input" else tag,
            "value": a.get("value", ""),
            "maxlength": int(a["maxlength"]) if a.get("maxlength", "").isdigit() else None,
            "required": "required" in a,
            "checked": "checked" in a,
            "choices": [],
        }
        if tag in ("input", "select", "textarea"):
            self._form.append(field_)
        if tag == "select":
            self._select = field_
        if tag == "textarea":
            self._textarea = field_

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None and not self._select["value"]:
                filled = [c for c in self._select["choices"] if c]
                if self._select["required"] and filled:
                    self._select["value"] = filled[0]
            self._select = None
        elif tag == "textarea":
            self._textarea = None


# What a required field left empty on the page is filled with, so that the one bad field is the
# only thing wrong with the post.
FILLERS = {
    "date": "2026-01-01",
    "datetime-local": "2026-01-01T09:00",
    "number": "1",
    "email": "walk@example.com",
    "url": "https://example.com/",
}
SKIPPED_FIELDS = {"csrfmiddlewaretoken"}
# Values that make a page's form acceptable as it stands, where the page leaves a required
# field empty; set only on forms that have the field.
FORM_BASES = {
    "customers:create": {"name": "Walk-in"},
    "service:new": {"type": "inquiry", "description": "Walk"},
    # The ticket page has a form per action.
    "service:detail reply": {"body": "Walk", "status": "pending_customer"},
    "service:detail note": {"body": "Walk"},
    "service:detail status": {"status": "open"},
    "service:detail change": {"priority": "high"},
    "service:public_request": {"description": "Walk"},
    "knowledge:new": {"problem": "Walk", "cause": "Walk", "solution": "Walk"},
    "knowledge:edit": {"problem": "Walk", "cause": "Walk", "solution": "Walk"},
    "imports:new": {"kind": "customers"},
}
# Fields whose value is an id from the test world, by route.
FORM_IDS = {"customers:reassign": {"from_owner": "rep_id", "to_owner": "teammate_id"}}
TEXT_KINDS = {"text", "textarea", "email", "tel", "url", "search", "password"}


def _base(fields: list[dict], overrides: dict[str, str]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for f in fields:
        if f["name"] in SKIPPED_FIELDS or f["kind"] in ("file", "submit", "button", "reset"):
            continue
        if f["kind"] in ("checkbox", "radio") and not f["checked"]:
            data.setdefault(f["name"], [])
            continue
        value = f["value"].strip() if f["kind"] == "textarea" else f["value"]
        if not value and f["required"]:
            value = FILLERS.get(f["kind"], "Walk")
        data.setdefault(f["name"], []).append(value)
    for name, value in overrides.items():
        if name in data:
            data[name] = [value]
    return data


def form_cases(fields: list[dict]) -> list[tuple[str, str, str]]:
    """(field, what, bad value) for each field of a form."""
    cases = []
    seen = set()
    for f in fields:
        name, kind = f["name"], f["kind"]
        if name in SKIPPED_FIELDS or name in seen or kind in ("file", "submit", "checkbox"):
            continue
        seen.add(name)
        cases.append((name, "left out", None))
        if kind in TEXT_KINDS or kind in ("hidden", "select", "radio"):
            cases.append((name, "a NUL character", NUL))
        if kind in TEXT_KINDS:
            if f["maxlength"]:
                cases.append((name, "text beyond maxlength", "x" * (f["maxlength"] + 1)))
            else:
                cases.append((name, "100,000 characters", "x" * NO_LIMIT_LENGTH))
        if kind in ("number", "hidden", "select", "radio"):
            cases.append((name, "an integer beyond 64 bits", str(BEYOND_64_BITS)))
            cases.append((name, "a negative number", "-1"))
        if kind in ("number", "hidden"):
            cases.append((name, "a word", "walk"))
            # Digits of other scripts pass str.isdigit(), and int() reads some of them.
            cases.append((name, "a number in other digits", "١٢"))
            cases.append((name, "a superscript digit", "²"))
        if kind == "number" or any(w in name for w in ("amount", "price", "cost", "margin")):
            cases.append((name, "a number of 18 digits", str(10**17)))
            cases.append((name, "not a number", "NaN"))
            cases.append((name, "a number beyond any column", "1e999"))
        if kind in ("select", "radio"):
            cases.append((name, "an unknown choice", "no-such-choice"))
        if kind == "date":
            cases.append((name, "a malformed date", "2026-13-45"))
        if kind.startswith("datetime"):
            cases.append((name, "a malformed date-time", "2026-02-30T25:61"))
    return cases


@pytest.fixture
def web_world(world, company, tmp_path, settings):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.http import urlsafe_base64_encode

    from guanxi.analytics.models import ChurnFollowUp
    from guanxi.imports.models import ImportJob
    from guanxi.knowledge.services import article_create
    from guanxi.service import mail
    from guanxi.service.models import Ticket

    settings.DATA_DIR = tmp_path / "data"
    customer_id = world.ids["customer_id"]
    token, _raw = api_token_create(actor=company.admin, user=company.admin, name="walk")
    follow_up = ChurnFollowUp.objects.create(
        customer_id=customer_id, owner=company.rep, reason="overdue"
    )
    job = ImportJob.objects.create(
        kind="customers",
        filename="walk.csv",
        path=str(tmp_path / "walk.csv"),
        started_by=company.admin,
        via="web",
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    article = article_create(
        actor=company.admin,
        data={"title": "Walk", "problem": "Walk", "cause": "Walk", "solution": "Walk"},
    )
    ticket = Ticket.objects.get(pk=world.ids["ticket_id"])
    kwargs = {
        "token_id": token.pk,
        "follow_up_id": follow_up.pk,
        "customer_id": customer_id,
        "job_id": job.pk,
        "pair_id": world.ids["pair_id"],
        "merge_id": world.ids["merge_id"],
        "ticket_id": ticket.pk,
        "into_ticket_id": world.ids["into_ticket_id"],
        "rep_id": world.ids["rep_id"],
        "teammate_id": world.ids["teammate_id"],
        "attachment_id": MISSING_ID,
        "article_id": article.pk,
        "chart": "tiers",
        "report": "volume",
    }
    kwargs["uidb64"] = urlsafe_base64_encode(str(company.admin.pk).encode())
    tokens = {
        "service:public_status": mail.status_link_token(ticket.pk),
        "service:public_survey": mail.survey_token(ticket.pk),
        "accounts:password_reset_confirm": default_token_generator.make_token(company.admin),
    }
    return kwargs, tokens


def _web_routes() -> list[tuple[str, str]]:
    from guanxi.tests.test_authorization_walk import all_routes

    return [
        (name, pattern)
        for name, pattern in all_routes()
        if name and not name.startswith(("admin:", "api:")) and not pattern.startswith("admin/")
    ]


def _web_url(name: str, pattern: str, kwargs: dict, tokens: dict) -> str:
    def fill(match):
        key = match.group(2)
        return str(tokens[name] if key == "token" else kwargs[key])

    return "/" + re.sub(r"<(\w+:)?(\w+)>", fill, pattern)


# Routes whose successful post answers 200 (a file, a page showing what was asked for) rather
# than redirecting; on any other route a 200 is the form shown again, which must write nothing.
ANSWERED_IN_PLACE = {
    "accounts:tokens",  # shows the new token once
    "analytics:export",
    "customers:export",
    "customers:reveal",
    "service:public_request",  # thanks the customer on the page
}

# Routes whose post is not a form of the application's: the sign-in page is Django's own, the
# inbound mail hook takes a provider's signed request (its own tests send it bad input).
WEB_SKIPPED = {"accounts:login", "accounts:logout", "service:inbound_email"}


@pytest.mark.parametrize("name", [n for n, _p in _web_routes() if n not in WEB_SKIPPED])
def test_web_forms_answer_bad_input_without_a_server_error(name, web_world, company):
    kwargs, tokens = web_world
    pattern = dict(_web_routes())[name]
    url = _web_url(name, pattern, kwargs, tokens)
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    page = client.get(url)
    forms: list[list[dict]] = []
    if page.status_code == 200 and "html" in page.get("Content-Type", ""):
        parser = _Forms()
        parser.feed(page.content.decode())
        forms = [fields for action, fields in parser.forms if action in ("", url)]
    if not forms:
        forms = [
            [
                {
                    "name": "walk",
                    "kind": "text",
                    "value": "",
                    "maxlength": None,
                    "required": False,
                    "checked": False,
                    "choices": [],
                }
            ]
        ]
    failures = []
    for fields in forms:
        actions = [f["value"] for f in fields if f["name"] == "action"]
        overrides = FORM_BASES.get(f"{name} {actions[0]}" if actions else name, {})
        if name == "service:detail" and actions == ["merge"]:
            overrides = {"into": str(kwargs["into_ticket_id"])}
        overrides = {
            **overrides,
            **{k: str(kwargs[v]) for k, v in FORM_IDS.get(name, {}).items()},
        }
        base = _base(fields, overrides)
        for field_name, what, value in form_cases(fields):
            data = {**base, field_name: [value]}
            if value is None:
                del data[field_name]

            def send(data=data):
                return client.post(url, data)

            outcome = run_case(
                send,
                check_lengths="characters" in what or "beyond" in what,
                check_garbage=what == "an unknown choice",
            )
            problem = None
            if outcome.status == 405:
                break  # the route takes no posts
            if outcome.status >= 500:
                problem = f"answered {outcome.status}"
            elif outcome.overlong:
                problem = f"stored text beyond its column: {outcome.overlong}"
            elif outcome.garbage:
                problem = f"accepted it ({outcome.status}) and stored it: {outcome.garbage}"
            elif outcome.status >= 400 and outcome.changed:
                problem = f"refused it ({outcome.status}) but changed the database"
            elif outcome.status == 200 and outcome.changed and name not in ANSWERED_IN_PLACE:
                problem = "showed the form again but changed the database"
            elif outcome.html and name not in ANSWERED_IN_PLACE and field_name != "action":
                # (The ticket page's hidden ``action`` says which of its forms was sent; a post
                # without a known one was made by hand and gets the page as it is.)
                # Shown again: what the user typed in the other fields is still there (but a
                # password, which is never sent back to the browser).
                lost = [
                    f["name"]
                    for f in fields
                    if f["kind"] in TEXT_KINDS - {"password"}
                    and f["name"] != field_name
                    and len(base.get(f["name"], [""])[0]) > 2
                    and escape(base[f["name"]][0]) not in outcome.html
                ]
                if lost:
                    problem = f"showed the form again without what was typed in {lost}"
            if problem:
                failures.append(f"{field_name}: {what}: {problem}")
    assert not failures, f"{name} {url}:\n  " + "\n  ".join(failures)


# What the posts send, so that they are refused for the id and not for missing input.
NOT_FOUND_POST = {"reason": "Walk", "version": "1", "body": "Walk", "action": "note"}
NOT_FOUND_REDIRECTS: set[tuple[str, str]] = set()


@pytest.mark.parametrize(
    "name", [n for n, p in _web_routes() if "<int:" in p and n not in WEB_SKIPPED]
)
def test_web_pages_answer_ids_that_do_not_exist_with_not_found(name, web_world, company):
    kwargs, tokens = web_world
    pattern = dict(_web_routes())[name]
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    failures = []
    for value in (MISSING_ID, BEYOND_BIGINT, BEYOND_64_BITS, 0):
        ids = {k: (value if isinstance(v, int) else v) for k, v in kwargs.items()}
        url = _web_url(name, pattern, ids, tokens)
        for method in ("get", "post"):
            outcome = run_case(
                lambda method=method, url=url: getattr(client, method)(url, NOT_FOUND_POST)
            )
            if outcome.status == 405 or (method, name) in NOT_FOUND_REDIRECTS:
                continue
            if outcome.status != 404 or outcome.changed:
                failures.append(f"{method.upper()} {url}: {outcome.status}, {outcome.changed=}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", [n for n, _p in _web_routes() if n not in WEB_SKIPPED])
def test_web_filters_answer_bad_input_without_a_server_error(name, web_world, company):
    """The search and filter forms of the pages (sent with GET), each field given bad input."""
    kwargs, tokens = web_world
    url = _web_url(name, dict(_web_routes())[name], kwargs, tokens)
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    page = client.get(url)
    if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
        return
    parser = _Forms(method="get")
    parser.feed(page.content.decode())
    failures = []
    for action, fields in parser.forms:
        target = action or url
        if not target.startswith("/"):
            continue
        base = _base(fields, {})
        for field_name, what, value in form_cases(fields):
            if value is None:
                continue  # a filter left out is the usual case
            if what == "100,000 characters":
                value = "x" * 5_000  # an address of 100,000 characters is no web browser's
            data = {**base, field_name: [value]}
            outcome = run_case(lambda target=target, data=data: client.get(target, data))
            if outcome.status >= 500 or (outcome.status >= 400 and outcome.changed):
                failures.append(f"{target} {field_name}: {what}: answered {outcome.status}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# File uploads: the import page and the ticket page's attachments


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser or a script sends it. Written out by hand: the
    test client keeps only the last part of a file's name, and the point is what the server
    does with the whole name as sent."""
    boundary = "----walk-boundary-7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, content in files:
        quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '.encode()
            + f'filename="{quoted}"\r\n'.encode("utf-8", "surrogatepass")
            + b"Content-Type: application/octet-stream\r\n\r\n"
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _xlsx_zip_without_workbook() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("walk.txt", "A zip archive, but no workbook in it.")
    return buffer.getvalue()


CSV_TEXT = "姓名,备注\n张三,老客户\n"
RANDOM_BYTES = random.Random(7).randbytes(4096)
# (what, file name, content); None: the field left out.
BAD_IMPORT_FILES = [
    ("an empty file", "walk.csv", b""),
    ("random binary bytes named .csv", "walk.csv", RANDOM_BYTES),
    ("an .xlsx that is not a zip", "walk.xlsx", b"name,phone\nWalk,13800138000\n"),
    ("a zip that is not a workbook", "walk.xlsx", _xlsx_zip_without_workbook()),
    ("a header row of empty names", "walk.csv", b",,,\n"),
    ("repeated headers", "walk.csv", "姓名,备注,备注\n张三,a,b\n".encode()),
    ("only a header", "walk.csv", "姓名,备注\n".encode()),
    ("a program", "walk.exe", CSV_TEXT.encode()),
    ("no extension", "walk", CSV_TEXT.encode()),
    ("a file over the size limit", "walk.csv", b"x" * (1024 * 1024 + 1)),
    ("no file", None, b""),
]
# Refused as it arrives (413), as a request saying it is too large is: the rest is not read.
# Every other bad file, here and of the attachments below, is a form refused (422).
REFUSED_WITH = {"a file over the size limit": 413}
# (what, file name, content); read as the CSV_TEXT they hold, kept under the name shown.
GOOD_IMPORT_FILES = [
    ("a CSV in GBK", "客户.csv", CSV_TEXT.encode("gbk"), "客户.csv"),
    ("a CSV in UTF-16 with BOM", "walk.csv", CSV_TEXT.encode("utf-16"), "walk.csv"),
    (
        "Excel's tab-separated Unicode text",
        "walk.txt",
        CSV_TEXT.replace(",", "\t").encode("utf-16"),
        "walk.txt",
    ),
    ("a name with folders", "../../etc/walk.csv", CSV_TEXT.encode(), "walk.csv"),
    ("a name with Windows folders", "C:\\Users\\walk\\walk.csv", CSV_TEXT.encode(), "walk.csv"),
    ("a name with a NUL character", "wa\x00lk.csv", CSV_TEXT.encode(), "walk.csv"),
    # Cut to 255 characters keeping its extension.
    ("a name of 300 characters", "x" * 296 + ".csv", CSV_TEXT.encode(), "x" * 251 + ".csv"),
]
# What a message must not show: a traceback, an operating system's error, a path on the server.
TRACES = ("Traceback", "Errno", tempfile.gettempdir(), "site-packages", 'File "')


def _leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.mark.parametrize("kind", ["customers", "interactions", "orders"])
def test_import_upload_refuses_bad_files_clearly_and_keeps_nothing(
    kind, company, settings, tmp_path
):
    from django.utils import translation

    from guanxi.imports.models import ImportJob

    settings.DATA_DIR = tmp_path / "data"
    settings.GUANXI_IMPORT_MAX_UPLOAD_MB = 1
    uploads = tmp_path / "data" / "imports"
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    failures = []
    for language in ("en", "zh-hans"):
        for what, filename, content in BAD_IMPORT_FILES:
            files = [] if filename is None else [("file", filename, content)]
            body, content_type = multipart({"kind": kind, "dedup": "review"}, files)

            def send(body=body, content_type=content_type, language=language):
                return client.generic(
                    "POST",
                    "/imports/new/",
                    body,
                    content_type,
                    headers={"Accept-Language": language},
                )

            kept = _leftovers(uploads)
            outcome = run_case(send)
            kept = sorted(set(_leftovers(uploads)) - set(kept))
            errors = re.findall(r'<ul class="errorlist">(.*?)</ul>', outcome.html, re.S)
            text = " ".join(re.sub(r"<[^>]+>", " ", e) for e in errors).strip()
            problem = None
            if outcome.status != REFUSED_WITH.get(what, 422):
                problem = f"answered {outcome.status}"
            elif outcome.changed or ImportJob.objects.exists():
                problem = "refused it but stored a job"
            elif kept:
                problem = f"refused it but kept {kept}"
            elif not text:
                problem = "refused it without saying why"
            elif any(trace in outcome.html for trace in TRACES) or str(tmp_path) in outcome.html:
                problem = f"showed a trace or a server path: {text}"
            elif language == "zh-hans" and not re.search(r"[\u4e00-\u9fff]", text):
                problem = f"said why in English only: {text}"
            elif 'value="review" selected' not in outcome.html or (
                f'value="{kind}" selected' not in outcome.html
            ):
                problem = "showed the form again without the choices made"
            if problem:
                failures.append(f"{language}: {what}: {problem}")
    translation.activate("en")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", ["customers", "interactions", "orders"])
def test_import_upload_reads_files_in_other_encodings_and_with_odd_names(
    kind, company, settings, tmp_path
):
    from guanxi.imports.models import ImportJob

    settings.DATA_DIR = tmp_path / "data"
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    failures = []
    for what, filename, content, shown in GOOD_IMPORT_FILES:
        body, content_type = multipart(
            {"kind": kind, "dedup": "auto"}, [("file", filename, content)]
        )
        response = client.generic("POST", "/imports/new/", body, content_type)
        job = ImportJob.objects.order_by("-id").first()
        if response.status_code != 302 or job is None:
            failures.append(f"{what}: answered {response.status_code}")
            continue
        page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
        stored = list((tmp_path / "data" / "imports").iterdir())
        if job.header != ["姓名", "备注"] or "老客户" not in page:
            failures.append(f"{what}: read as {job.header}")
        elif job.filename != shown:
            failures.append(f"{what}: kept as {job.filename!r}")
        elif any(p.parent != tmp_path / "data" / "imports" for p in stored):
            failures.append(f"{what}: stored outside the uploads: {stored}")
        job.delete()
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# The inbound-mail webhook: a mail provider's signed post, no user behind it

WEBHOOK_URL = "/service/inbound/email/"
WEBHOOK_SECRET = "walk-webhook-secret"


def _mail(
    *,
    sender: bytes | None = b"Wang Fang <wangfang@example.cn>",
    subject: bytes = b"Walk",
    body: bytes = b"Hello from the walk.",
    message_id: bytes = b"<walk-1@example.cn>",
    content_type: bytes = b"text/plain; charset=utf-8",
) -> bytes:
    lines = [b"From: " + sender] if sender is not None else []
    lines += [
        b"To: service@guanxi.localhost",
        b"Subject: " + subject,
        b"Message-ID: " + message_id,
        b"Content-Type: " + content_type,
        b"",
        body,
    ]
    return b"\r\n".join(lines) + b"\r\n"


@dataclass
class Mail:
    what: str
    body: bytes
    status: int  # the answer expected
    action: str = ""  # for a 200: what became of the email
    content_type: str = "message/rfc822"
    secret: str | None = WEBHOOK_SECRET
    headers: dict | None = None


WEBHOOK_CASES = [
    Mail("no secret", _mail(), 403, secret=None),
    Mail("a wrong secret", _mail(), 403, secret="walk"),
    Mail("a secret beyond Latin-1", _mail(), 403, secret="密钥"),
    Mail("a JSON body", b'{"email": "walk"}', 415, content_type="application/json"),
    Mail("an HTML body", b"<p>walk</p>", 415, content_type="text/html"),
    Mail("an empty body", b"", 400),
    Mail("blank lines only", b"\r\n\r\n", 400),
    Mail("random bytes", RANDOM_BYTES, 400),
    Mail("text that is no email", b"hello, this is not an email", 400),
    Mail("NUL characters only", b"\x00" * 64, 400),
    Mail(
        "a form without the email field",
        multipart({"mail": "walk"}, [])[0],
        400,
        content_type=multipart({}, [])[1],
    ),
    Mail(
        "a form without a boundary",
        b"email=walk",
        400,
        content_type="multipart/form-data",
    ),
    Mail("an email over the size limit", _mail(body=b"x" * (25 * 1024 * 1024)), 413),
    Mail(
        "a length announced beyond the limit",
        _mail(),
        413,
        headers={"CONTENT_LENGTH": str(26 * 1024 * 1024)},
    ),
    # Filed, or ignored with the reason, as the provider is told: sending it again would
    # change nothing.
    Mail("no From", _mail(sender=None), 200, "ignored"),
    Mail("a From that is no address", _mail(sender=b"not an address"), 200, "ignored"),
    # NULs are dropped from every header, as some mailers leave them in; what is left is an
    # address like any other sender's.
    Mail("a From with NUL", _mail(sender=b"wa\x00ng@exa\x00mple.cn"), 200, "created"),
    Mail(
        "a From of 300 characters",
        _mail(sender=b"a" * 290 + b"@example.cn"),
        200,
        "ignored",
    ),
    Mail(
        "an unknown charset",
        _mail(content_type=b"text/plain; charset=x-walk", body=b"caf\xe9 \xb5"),
        200,
        "created",
    ),
    Mail(
        "text not in its charset",
        _mail(content_type=b"text/plain; charset=utf-8", body=b"\xff\xfe\xc3walk"),
        200,
        "created",
    ),
    Mail(
        "NUL characters in the name, subject and body",
        _mail(
            sender=b"Wa\x00ng <wangfang@example.cn>",
            subject=b"Wa\x00lk",
            body=b"Hel\x00lo",
        ),
        200,
        "created",
    ),
    Mail(
        "a Message-ID of 1,000 characters",
        _mail(message_id=b"<" + b"m" * 1000 + b"@x>"),
        200,
        "created",
    ),
    Mail("a subject of 100,000 characters", _mail(subject=b"s" * 100_000), 200, "created"),
]


@pytest.fixture
def webhook(company, settings, tmp_path):
    from guanxi.service.tests.desk import build_desk

    build_desk(company)
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.GUANXI_SERVICE_EMAIL = "service@guanxi.localhost"
    settings.MEDIA_ROOT = tmp_path / "media"
    return Client(raise_request_exception=False)


def _post_mail(client, case: Mail):
    headers = {"X-Guanxi-Webhook-Secret": case.secret} if case.secret is not None else {}
    return client.generic(
        "POST",
        WEBHOOK_URL,
        case.body,
        case.content_type,
        headers=headers,
        **(case.headers or {}),
    )


def test_the_inbound_webhook_answers_bad_posts_with_a_clear_4xx_and_files_nothing(webhook):
    failures = []
    for case in WEBHOOK_CASES:
        outcome = run_case(lambda case=case: _post_mail(webhook, case), check_lengths=True)
        body = outcome.body if isinstance(outcome.body, dict) else {}
        problem = None
        if outcome.status != case.status:
            problem = f"answered {outcome.status} {outcome.body}"
        elif outcome.status >= 400:
            if not body.get("error") or any(t in body["error"] for t in TRACES):
                problem = f"said {outcome.body}"
            elif outcome.changed:
                problem = "refused it but wrote to the database"
        elif body.get("action") != case.action:
            problem = f"{body.get('action')} it: {body}"
        elif case.action == "ignored" and (outcome.changed or not body.get("reason")):
            problem = f"ignored it without a reason or wrote to the database: {body}"
        elif case.action == "created" and outcome.overlong:
            problem = f"stored text beyond its column: {outcome.overlong}"
        if problem:
            failures.append(f"{case.what}: {problem}")
    assert not failures, "\n".join(failures)


def test_the_inbound_webhook_files_an_email_sent_twice_once(webhook):
    from guanxi.service.models import Ticket, TicketMessage

    case = Mail("an email", _mail(message_id=b"<walk-twice@example.cn>"), 200)
    first = _post_mail(webhook, case)
    before = footprint()
    again = _post_mail(webhook, case)
    assert first.json()["action"] == "created"
    assert again.status_code == 200 and again.json()["action"] == "duplicate"
    assert again.json()["ticket"] == first.json()["ticket"]
    assert footprint() == before
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1


# (what, file name, content, why it is refused or None); attachments of a reply or a note on the
# ticket page.
ATTACHMENTS = [
    ("a file over the size limit", "walk.pdf", b"x" * (10 * 1024 * 1024 + 1), "10 MB"),
    ("an empty file", "walk.txt", b"", "walk.txt is empty"),
    ("a program", "walk.exe", b"MZ walk", "walk.exe is a program or script"),
    ("a program behind a dot", "walk.exe.", b"MZ walk", "is a program or script"),
    ("a name with folders", "../../walk.txt", b"walk", None),
    ("a name with Windows folders", "C:\\Windows\\walk.txt", b"walk", None),
    ("a name with a NUL character", "wa\x00lk.txt", b"walk", None),
    ("a name of 300 characters", "x" * 296 + ".txt", b"walk", None),
]


@pytest.mark.parametrize("action", ["reply", "note"])
def test_ticket_attachments_refused_clearly_or_stored_under_a_safe_name(
    action, world, company, settings, tmp_path
):
    from guanxi.service.models import TicketAttachment

    settings.MEDIA_ROOT = tmp_path / "media"
    ticket_id = world.ids["ticket_id"]
    url = f"/service/tickets/{ticket_id}/"
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    failures = []
    for what, filename, content, why in ATTACHMENTS:
        fields = {"action": action, "body": "Walk with a file", "version": "1"}
        body, content_type = multipart(fields, [("files", filename, content)])
        stored: list = []

        def send(body=body, content_type=content_type, stored=stored):
            response = client.generic("POST", url, body, content_type)
            stored.extend(TicketAttachment.objects.values_list("filename", "file"))
            return response

        before = _leftovers(tmp_path / "media")
        outcome = run_case(send)
        kept = sorted(set(_leftovers(tmp_path / "media")) - set(before))
        problem = None
        if outcome.status >= 500:
            problem = f"answered {outcome.status}"
        elif why:
            if outcome.status != REFUSED_WITH.get(what, 422) or outcome.changed or kept:
                problem = f"answered {outcome.status}, {outcome.changed=}, kept {kept}"
            elif "Walk with a file" not in outcome.html:
                problem = "showed the form again without what was typed"
            elif why not in outcome.html:
                problem = "did not say why"
        elif outcome.status != 302 or not stored:
            problem = f"answered {outcome.status} and stored {stored}"
        else:
            for name, path in stored:
                if "/" in name or "\\" in name or "\x00" in name or len(name) > 255:
                    problem = f"kept it as {name!r}"
                elif not path.startswith("ticket-attachments/") or ".." in path or len(path) > 300:
                    problem = f"stored it as {path!r}"
        if problem:
            failures.append(f"{what}: {problem}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# Answers the walk once let through, each decided


def test_revoking_a_token_that_is_not_ones_own_is_not_found_and_a_second_click_is_said(
    company,
):
    from guanxi.accounts.models import ApiToken

    theirs, _raw = api_token_create(actor=company.rep, user=company.rep, name="theirs")
    mine, _raw = api_token_create(actor=company.admin, user=company.admin, name="mine")
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    # Another user's token is answered as no token at all, administrators included.
    for token_id in (MISSING_ID, theirs.pk):
        assert client.post(f"/accounts/tokens/{token_id}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert client.post(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 302
    again = client.post(f"/accounts/tokens/{mine.pk}/revoke/", follow=True)
    assert again.status_code == 200 and "That token is revoked already." in again.content.decode()


def test_the_blacklist_answers_an_unknown_customer_before_judging_the_reason(world, company):
    from guanxi.analytics.models import Blacklist

    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    for reason in ("", "   ", NUL):
        for customer_id in (MISSING_ID, world.ids["other_customer_id"]):
            url = f"/analytics/blacklist/{customer_id}/add/"
            response = client.post(url, {"reason": reason})
            if customer_id == MISSING_ID:
                assert response.status_code == 404, (reason, response.status_code)
            else:  # a customer who exists: the reason is what is refused
                assert response.status_code == 302
    # (The API refuses such a reason by the shape of the body, before any customer is looked
    # up, whatever the id.)
    assert not Blacklist.objects.exists()


@pytest.mark.parametrize("action", [None, "", "no-such-action", NUL, "REPLY"])
def test_an_unknown_action_posted_to_the_ticket_page_is_a_bad_request(action, world, company):
    client = Client(raise_request_exception=False)
    client.force_login(company.admin)
    data = {"body": "Walk", "status": "resolved", "version": "1"}
    if action is not None:
        data["action"] = action
    url = f"/service/tickets/{world.ids['ticket_id']}/"
    outcome = run_case(lambda: client.post(url, data))
    assert outcome.status == 400 and not outcome.changed
    assert "Unknown action." in outcome.html


def test_the_duplicate_check_refuses_an_organisation_it_cannot_name(company):
    from guanxi.customers.models import Customer

    hidden = CustomerFactory(name="Hidden Ltd", party_type="organization", owner=company.rep_west)
    shown = CustomerFactory(name="Shown Ltd", party_type="organization", owner=company.rep)
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="walk")

    def check(organization_id):
        return Client().post(
            "/api/v1/customers/duplicates",
            json.dumps({"name": "Walk", "organization_id": organization_id}),
            "application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )

    # None, out of sight, or a person: the same answer, so nothing is told of other teams'.
    answers = [check(i) for i in (MISSING_ID, hidden.pk, company.rep_customer.pk)]
    assert [a.status_code for a in answers] == [422, 422, 422]
    assert len({a.content for a in answers}) == 1
    assert _names_field(answers[0].json(), "organization_id")
    assert check(shown.pk).status_code == 200
    assert Customer.objects.filter(name="Walk").count() == 0
