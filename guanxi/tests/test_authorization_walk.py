"""Every route the project serves, visited as every role of the test company.

Two walks: the web pages (every named URL in the resolver) and the REST API (every operation in
the OpenAPI schema). Each route must have an expectation written down below; a new route without
one fails ``test_every_route_has_an_expectation``, so nobody can add a page or endpoint without
saying who may use it.

What each user may do to each fixture customer comes from the hand-written table in
``guanxi/core/testing/visibility_matrix.py``, never from the code under test. Customer-scoped
routes must answer 404 for customers out of sight (their existence is not revealed), 403 for
customers in sight but not open to that action, and success otherwise; list, search and export
routes must contain exactly the visible customers; and a refused write must leave no trace in the
database.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

import openpyxl
import pytest
from django.db.models import Max
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from guanxi.accounts.models import ApiToken, User
from guanxi.accounts.services import api_token_create
from guanxi.analytics.models import Blacklist
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.models import Customer, Email, Phone
from guanxi.dedup.models import CustomerMerge, DuplicatePair
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Invoice, Order, Payment
from guanxi.service.models import Ticket, TicketMessage

pytestmark = pytest.mark.django_db

ROLES = sorted(EXPECTED)
VIEW, INTERACT, CHANGE = 0, 1, 2
DELETING = {"admin", "manager", "manager_west"}
REASSIGNING = {"admin", "manager", "manager_west"}
ADMINISTRATING = {"admin"}
SENSITIVE = {"admin", "manager"}  # admin by role, the East manager by permission
WRITING = set(ROLES) - {"analyst"}


@dataclass(frozen=True)
class Route:
    """What a route is about, which decides how the walk checks it.

    kind:
      customer   – scoped to one customer in the path; ``action`` is view/interact/change;
                   ``roles`` (if set) narrows who may act at all (403 for the others).
      body       – like ``customer``, for the customer named by ``customer_id`` in the body.
      order      – scoped to one order (or invoice) in the path, through its customer: the
                   same answers as ``customer`` for the customer it belongs to.
      list       – lists customers; the response must hold exactly the visible ones.
      own        – concerns only the signed-in user's own data (any signed-in user).
      role       – a page or endpoint open only to ``roles`` (403 for the others).
      ticket     – scoped to one ticket in the path, through its customer: the same answers as
                   ``customer`` for the customer it belongs to.
      ticket_new – opens a ticket for the customer named by ``customer_id`` in the body.
      follow_up  – scoped to one churn follow-up in the path, through its customer: the same
                   answers as ``customer`` for the customer it is about.
      pair       – scoped to a possible duplicate (two customers): 404 unless the user may see
                   both, 403 unless they may also do ``action`` to both, success otherwise.
      merge      – scoped to a merge: 404 unless the user may see the kept customer, 403 unless
                   they may change it and made the merge or manage (``roles``).
      open       – open to anyone signed in, not about customers (the staff directory).
      public     – no sign-in needed (login page, language switch, schema and docs).
      admin      – Django's admin site: staff only.
    """

    kind: str
    action: int = VIEW
    roles: frozenset[str] | None = None


PAGES: dict[str, Route] = {
    "home": Route("open"),
    "set_language": Route("public"),
    "accounts:login": Route("public"),
    "accounts:logout": Route("own"),
    "accounts:tokens": Route("own"),
    "accounts:token_revoke": Route("own"),
    "accounts:password_change": Route("own"),
    # A forgotten password: asked for and set again signed out, through the link emailed.
    "accounts:password_reset": Route("public"),
    "accounts:password_reset_done": Route("public"),
    "accounts:password_reset_confirm": Route("public"),
    "accounts:password_reset_complete": Route("public"),
    "customers:list": Route("list"),
    "customers:create": Route("role", roles=frozenset(WRITING)),
    "customers:export": Route("list"),
    # A background export's page and workbook: only who asked for it (others, administrators
    # included, get 404: the workbook may hold numbers revealed to its requester alone).
    "customers:export_job": Route("own"),
    "customers:export_download": Route("own"),
    "customers:reassign": Route("role", roles=frozenset(REASSIGNING)),
    # The recycle bin, a customer's page in it and restoring from it: administrators only
    # (test_recycle_bin_is_for_administrators).
    "customers:recycle_bin": Route("role", roles=frozenset(ADMINISTRATING)),
    "customers:deleted_detail": Route("role", roles=frozenset(ADMINISTRATING)),
    "customers:restore": Route("role", roles=frozenset(ADMINISTRATING)),
    "customers:organization_lookup": Route("list"),
    "customers:detail": Route("customer", VIEW),
    "customers:timeline": Route("customer", VIEW),
    "customers:history": Route("customer", VIEW),
    "customers:edit": Route("customer", CHANGE),
    "customers:delete": Route("customer", CHANGE, frozenset(DELETING)),
    "customers:reveal": Route("customer", VIEW, frozenset(SENSITIVE)),
    "interactions:list": Route("list"),
    "interactions:log": Route("customer", INTERACT),
    "orders:list": Route("list"),
    "orders:create": Route("customer", CHANGE),
    "dedup:queue": Route("list"),
    # The analytics dashboard and its downloads sum up and list the visible customers only.
    "analytics:dashboard": Route("list"),
    "analytics:export": Route("list"),
    # Churn follow-ups are listed for the visible customers; closing one changes its customer.
    "analytics:follow_ups": Route("list"),
    "analytics:follow_up_done": Route("follow_up", CHANGE),
    # The blacklist is a change to the customer.
    "analytics:blacklist_add": Route("customer", CHANGE),
    "analytics:blacklist_remove": Route("customer", CHANGE),
    "dedup:hints": Route("role", roles=frozenset(WRITING)),
    "dedup:pair": Route("pair", VIEW),
    "dedup:merge": Route("pair", CHANGE),
    "dedup:reject": Route("pair", CHANGE),
    "dedup:undo": Route("merge", CHANGE, frozenset(DELETING)),
    "imports:list": Route("role", roles=frozenset(WRITING)),
    "imports:new": Route("role", roles=frozenset(WRITING)),
    # An import is seen by who started it (and administrators); others get 404.
    "imports:detail": Route("own"),
    "imports:mapping": Route("own"),
    "imports:errors": Route("own"),
    # Carrying on with a stopped import: only who started it (a 403 for an administrator who
    # sees it), since it runs as them.
    "imports:resume": Route("own"),
    # Importing a finished dry run's file for real: only who started the dry run (the import
    # runs as them); an administrator who sees it gets 403, others 404.
    "imports:for_real": Route("own"),
    # Stopping a queued or running import, and discarding one that stopped: who started it, or
    # an administrator (nothing is written in the starter's name); others do not see it (404).
    "imports:cancel": Route("own"),
    "imports:discard": Route("own"),
    # Tickets are reached through their customer: seen with it, worked on by whoever may
    # interact with it.
    "service:list": Route("list"),
    "service:new": Route("customer", INTERACT),
    "service:detail": Route("ticket", VIEW),
    "service:attachment": Route("ticket", VIEW),
    "service:notifications": Route("own"),
    # Customers' own pages: the request form, and the status page and survey behind a signed
    # link (test_service_public_pages_open_only_by_signed_links).
    # The service reports count the visible customers' tickets only (service/tests/test_reports).
    "service:reports": Route("list"),
    "service:report_export": Route("list"),
    "service:public_request": Route("public"),
    # No sign-in: only the shared webhook secret admits the caller (service/tests/test_inbound).
    "service:inbound_email": Route("public"),
    "service:public_status": Route("public"),
    "service:public_survey": Route("public"),
    # The knowledge base is company knowledge: every signed-in user reads published articles
    # (test_knowledge_base_routes); staff who write may add and edit them; an article made
    # from a ticket needs the ticket's customer in reach (knowledge/tests).
    "knowledge:list": Route("open"),
    "knowledge:detail": Route("open"),
    "knowledge:suggest": Route("open"),
    "knowledge:new": Route("role", roles=frozenset(WRITING)),
    "knowledge:edit": Route("role", roles=frozenset(WRITING)),
}

API_OPERATIONS: dict[str, Route] = {
    "GET /api/v1/customers": Route("list"),
    "POST /api/v1/customers": Route("role", roles=frozenset(WRITING)),
    "GET /api/v1/customers/export": Route("list"),
    # A background export and its workbook: only who asked for it, as on the web
    # (test_api_background_exports_are_their_requesters_alone).
    "GET /api/v1/customers/exports/{job_id}": Route("own"),
    "GET /api/v1/customers/exports/{job_id}/file": Route("own"),
    "POST /api/v1/customers/reassign": Route("role", roles=frozenset(REASSIGNING)),
    "GET /api/v1/customers/deleted": Route("role", roles=frozenset(ADMINISTRATING)),
    "GET /api/v1/customers/deleted/{customer_id}": Route("role", roles=frozenset(ADMINISTRATING)),
    "POST /api/v1/customers/{customer_id}/restore": Route("role", roles=frozenset(ADMINISTRATING)),
    "GET /api/v1/customers/{customer_id}": Route("customer", VIEW),
    "PATCH /api/v1/customers/{customer_id}": Route("customer", CHANGE),
    "DELETE /api/v1/customers/{customer_id}": Route("customer", CHANGE, frozenset(DELETING)),
    "POST /api/v1/customers/{customer_id}/reveal": Route("customer", VIEW, frozenset(SENSITIVE)),
    "GET /api/v1/customers/{customer_id}/history": Route("customer", VIEW),
    "GET /api/v1/customers/{customer_id}/value": Route("customer", VIEW),
    "POST /api/v1/customers/{customer_id}/blacklist": Route("customer", CHANGE),
    "DELETE /api/v1/customers/{customer_id}/blacklist": Route("customer", CHANGE),
    "GET /api/v1/customers/{customer_id}/interactions": Route("customer", VIEW),
    "POST /api/v1/customers/{customer_id}/interactions": Route("customer", INTERACT),
    "GET /api/v1/interactions": Route("list"),
    "GET /api/v1/orders": Route("list"),
    "POST /api/v1/orders": Route("body", CHANGE),
    "GET /api/v1/orders/{order_id}": Route("order", VIEW),
    "PATCH /api/v1/orders/{order_id}": Route("order", CHANGE),
    "POST /api/v1/orders/{order_id}/refund": Route("order", CHANGE),
    "POST /api/v1/orders/{order_id}/cancel": Route("order", CHANGE),
    "POST /api/v1/orders/{order_id}/approve": Route("order", CHANGE, frozenset(REASSIGNING)),
    "GET /api/v1/invoices": Route("list"),
    "POST /api/v1/invoices": Route("body", CHANGE),
    "POST /api/v1/invoices/{invoice_id}/payments": Route("order", CHANGE),
    "GET /api/v1/me": Route("own"),
    "GET /api/v1/users": Route("open"),
    "POST /api/v1/users/{user_id}/deactivate": Route("role", roles=frozenset(ADMINISTRATING)),
    "GET /api/v1/custom-fields": Route("open"),
    "POST /api/v1/customers/duplicates": Route("list"),
    "GET /api/v1/duplicates": Route("list"),
    "POST /api/v1/duplicates/{pair_id}/reject": Route("pair", CHANGE),
    "POST /api/v1/customers/{customer_id}/merge": Route("pair", CHANGE),
    "POST /api/v1/merges/{merge_id}/undo": Route("merge", CHANGE, frozenset(DELETING)),
    "GET /api/v1/tickets": Route("list"),
    "POST /api/v1/tickets": Route("ticket_new", INTERACT),
    "GET /api/v1/tickets/{ticket_id}": Route("ticket", VIEW),
    "PATCH /api/v1/tickets/{ticket_id}": Route("ticket", INTERACT),
    "POST /api/v1/tickets/{ticket_id}/replies": Route("ticket", INTERACT),
    "POST /api/v1/tickets/{ticket_id}/notes": Route("ticket", INTERACT),
    "POST /api/v1/tickets/{ticket_id}/status": Route("ticket", INTERACT),
    "POST /api/v1/tickets/{ticket_id}/assign": Route("ticket", INTERACT),
    "POST /api/v1/tickets/{ticket_id}/merge": Route("ticket", INTERACT),
    # As the ticket page's Send again: whoever may reply on the ticket.
    "POST /api/v1/tickets/{ticket_id}/customer-emails/send-again": Route("ticket", INTERACT),
}
# Routes of the API package that are not operations: the schema and its documentation page.
API_DOCUMENT_ROUTES = {"api:openapi-json", "api:openapi-view"}


# ---------------------------------------------------------------------------------------------
# Finding every route


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or ""
            qualified = f"{namespace}:{name}" if namespace and name else name
            yield qualified, prefix + str(pattern.pattern)


def all_routes() -> list[tuple[str, str]]:
    return list(_walk(get_resolver().url_patterns))


def api_operations(client: Client) -> list[str]:
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    return [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_route_has_an_expectation(client):
    unexplained = []
    api_names = set()
    for name, pattern in all_routes():
        if name.startswith("admin:") or pattern.startswith("admin/"):
            continue  # Django's admin site: see test_admin_site_is_for_staff_only
        if name.startswith("api:"):
            api_names.add(name)
            continue
        if name not in PAGES:
            unexplained.append(f"{name or '(unnamed)'}  {pattern}")
    assert not unexplained, (
        "These routes have no expectation in PAGES; say who may use them:\n"
        + "\n".join(unexplained)
    )
    operations = api_operations(client)
    missing = sorted(set(operations) - set(API_OPERATIONS))
    assert not missing, f"API operations without an expectation in API_OPERATIONS: {missing}"
    stale = sorted(set(API_OPERATIONS) - set(operations))
    assert not stale, f"API_OPERATIONS lists operations that no longer exist: {stale}"
    assert api_names >= API_DOCUMENT_ROUTES


# ---------------------------------------------------------------------------------------------
# A fingerprint of everything a write could touch, to prove refused writes leave no trace


def footprint() -> tuple:
    return (
        Customer.objects.count(),
        Customer.objects.aggregate(v=Max("version"), u=Max("updated_at"))["v"],
        Customer.objects.filter(deleted_at__isnull=False).count(),
        tuple(Customer.objects.order_by("pk").values_list("owner_id", flat=True)),
        Phone.objects.count(),
        Email.objects.count(),
        Interaction.objects.count(),
        tuple(Order.objects.order_by("pk").values_list("status", "version")),
        Invoice.objects.count(),
        Payment.objects.count(),
        AuditEvent.objects.exclude(action=AuditEvent.Action.EXPORT).count(),
        ApiToken.objects.filter(revoked_at__isnull=False).count(),
        Blacklist.objects.count(),
        tuple(Ticket.objects.order_by("pk").values_list("status", "version", "assignee_id")),
        TicketMessage.objects.count(),
    )


def expected_status(username: str, customer_name: str, route: Route, success: int) -> int:
    visible = customer_name in EXPECTED[username][VIEW]
    allowed = customer_name in EXPECTED[username][route.action]
    if not visible:
        return 404
    if not allowed or (route.roles is not None and username not in route.roles):
        return 403
    return success


# ---------------------------------------------------------------------------------------------
# Web pages


PAGE_REQUESTS = {
    # name: (method, data, success status)
    "customers:detail": ("get", None, 200),
    "customers:timeline": ("get", None, 200),
    "customers:history": ("get", None, 200),
    "customers:edit": ("get", None, 200),
    "customers:delete": ("post", {"version": "1"}, 302),
    "customers:reveal": ("post", {}, 200),
    "analytics:blacklist_add": ("post", {"reason": "walk"}, 302),
    "analytics:blacklist_remove": ("post", {}, 302),
    "interactions:log": (
        "post",
        {
            "channel": "phone",
            "direction": "outbound",
            "subject": "Walk",
            "occurred_at": "2026-01-01T09:00",
        },
        302,
    ),
    "service:new": (
        "post",
        {"type": "inquiry", "subject": "Walk", "priority": "normal", "channel": "phone"},
        302,
    ),
    "orders:create": (
        "post",
        {
            "ordered_on": "2026-01-01",
            "amount": "10.00",
            "currency": "CNY",
            "channel": "store",
            "status": "paid",
        },
        302,
    ),
}


@pytest.mark.parametrize("username", ROLES)
@pytest.mark.parametrize("name", sorted(PAGE_REQUESTS))
def test_customer_pages_follow_the_visibility_rule(client, company, username, name):
    route = PAGES[name]
    method, data, success = PAGE_REQUESTS[name]
    client.force_login(company.users[username])
    for customer_name, customer in company.customers.items():
        before = footprint()
        url = f"/customers/{customer.pk}/" if name == "customers:detail" else None
        url = (
            url
            or {
                "customers:timeline": f"/customers/{customer.pk}/timeline/",
                "customers:history": f"/customers/{customer.pk}/history/",
                "customers:edit": f"/customers/{customer.pk}/edit/",
                "customers:delete": f"/customers/{customer.pk}/delete/",
                "customers:reveal": f"/customers/{customer.pk}/reveal/",
                "analytics:blacklist_add": f"/analytics/blacklist/{customer.pk}/add/",
                "analytics:blacklist_remove": f"/analytics/blacklist/{customer.pk}/remove/",
                "interactions:log": f"/interactions/log/{customer.pk}/",
                "orders:create": f"/orders/new/{customer.pk}/",
                "service:new": f"/service/customers/{customer.pk}/new/",
            }[name]
        )
        response = getattr(client, method)(url, data or {})
        expected = expected_status(username, customer_name, route, success)
        assert response.status_code == expected, (username, customer_name, name)
        if expected != success:
            assert footprint() == before, f"refused {name} left a trace"
        if name == "customers:delete" and expected == success:
            Customer.objects.filter(pk=customer.pk).update(deleted_at=None, version=1)


def _names_in(html: str, company) -> set[str]:
    return {key for key, customer in company.customers.items() if customer.name in html}


def _workbook_column(content: bytes, column: str) -> list:
    rows = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0].values
    header = next(rows)
    return [row[header.index(column)] for row in rows]


def _names_in_workbook(content: bytes) -> set[str]:
    return set(_workbook_column(content, "name"))


@pytest.mark.parametrize("username", ROLES)
def test_customer_lists_search_and_export_hold_exactly_the_visible_customers(
    client, company, username
):
    from guanxi.interactions.services import interaction_log

    for customer in company.customers.values():
        interaction_log(
            actor=company.admin,
            customer_id=customer.pk,
            data={"channel": "visit", "subject": f"Visit to {customer.name}"},
        )
    visible = EXPECTED[username][VIEW]
    client.force_login(company.users[username])

    assert _names_in(client.get("/customers/").content.decode(), company) == visible
    searched = client.get("/customers/", {"q": "customer"}).content.decode()
    assert _names_in(searched, company) == visible
    assert _names_in(client.get("/interactions/").content.decode(), company) == visible
    for customer in company.customers.values():
        Order.objects.create(customer=customer, ordered_on="2026-01-01", amount=1)
    assert _names_in(client.get("/orders/").content.decode(), company) == visible

    export = client.post("/customers/export/", {}).getvalue().decode("utf-8-sig")
    exported = {row["name"] for row in csv.DictReader(io.StringIO(export))}
    assert exported == {company.customers[n].name for n in visible}
    workbook = client.post("/customers/export/", {"format": "xlsx"}).getvalue()
    assert _names_in_workbook(workbook) == {company.customers[n].name for n in visible}

    organisations = Customer.objects.filter(pk__in=[c.pk for c in company.customers.values()])
    organisations.update(party_type="organization")
    lookup = client.get(
        "/customers/organizations/lookup/", {"organization_label": "customer"}
    ).content.decode()
    assert _names_in(lookup, company) == visible


@pytest.mark.parametrize("username", ROLES)
def test_analytics_figures_hold_exactly_the_visible_customers(client, company, username):
    from guanxi.analytics.models import CustomerValue
    from guanxi.analytics.refresh import analytics_refresh

    analytics_refresh()
    # Flag everyone, so the churn list names every customer the user may see.
    CustomerValue.objects.update(churn_flag=True, churn_reason="overdue")
    visible = EXPECTED[username][VIEW]
    client.force_login(company.users[username])
    response = client.get("/analytics/")
    assert response.status_code == 200
    assert _names_in(response.content.decode(), company) == visible
    tiers = client.post("/analytics/export/tiers/").content.decode("utf-8-sig")
    assert sum(int(row["customers"]) for row in csv.DictReader(io.StringIO(tiers))) == len(visible)
    flagged = client.post("/analytics/export/churn/").content.decode("utf-8-sig")
    exported = {row["customer"] for row in csv.DictReader(io.StringIO(flagged))}
    assert exported == {company.customers[n].name for n in visible}


@pytest.mark.parametrize("username", ROLES)
def test_churn_follow_ups_follow_the_visibility_rule(client, company, username):
    from guanxi.analytics.models import ChurnFollowUp

    follow_ups = {
        name: ChurnFollowUp.objects.create(
            customer=customer, owner=customer.owner or company.admin, reason="overdue"
        )
        for name, customer in company.customers.items()
    }
    client.force_login(company.users[username])
    html = client.get("/analytics/follow-ups/").content.decode()
    assert _names_in(html, company) == EXPECTED[username][VIEW]
    route = PAGES["analytics:follow_up_done"]
    for customer_name, follow_up in follow_ups.items():
        before = footprint()
        response = client.post(f"/analytics/follow-ups/{follow_up.pk}/done/")
        expected = expected_status(username, customer_name, route, 302)
        assert response.status_code == expected, (username, customer_name)
        follow_up.refresh_from_db()
        assert (follow_up.done_at is not None) == (expected == 302), (username, customer_name)
        if expected != 302:
            assert footprint() == before, "refused follow-up close left a trace"


NEW_CUSTOMER_FORM = {
    "party_type": "person",
    "name": "Walk-in",
    "kind": "potential",
    "relationship_level": "transactional",
    "lifecycle_stage": "suspect",
}


@pytest.mark.parametrize("username", ROLES)
def test_role_pages(client, company, username):
    client.force_login(company.users[username])
    for name, url in (
        ("customers:create", "/customers/new/"),
        ("customers:reassign", "/customers/reassign/"),
    ):
        expected = 200 if username in PAGES[name].roles else 403
        assert client.get(url).status_code == expected, (username, name)
    before = footprint()
    response = client.post(
        "/customers/reassign/",
        {"from_owner": company.rep_customer.owner_id, "to_owner": company.users[username].pk},
    )
    if username not in REASSIGNING:
        assert response.status_code == 403
        assert footprint() == before
    response = client.post("/customers/new/", NEW_CUSTOMER_FORM)
    created = Customer.objects.filter(name="Walk-in").exists()
    assert created == (username in WRITING), username


def test_public_and_own_pages(client, company):
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/").status_code == 302
    for url in (
        "/customers/",
        "/interactions/",
        "/analytics/",
        "/accounts/tokens/",
        "/customers/new/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url in (
        "/customers/export/",
        "/analytics/export/tiers/",
        "/accounts/logout/",
        "/accounts/tokens/1/revoke/",
    ):
        before = footprint()
        response = client.post(url, {})
        assert response.status_code == 302, url
        assert footprint() == before


def test_admin_site_is_for_staff_only(client, company):
    for username in ROLES:
        client.force_login(company.users[username])
        for name, pattern in all_routes():
            if not name.startswith("admin:"):
                continue
            url = "/" + re.sub(r"<[^>]+>", "1", pattern).replace("^", "").replace("$", "")
            url = re.sub(r"\(\?P<\w+>[^)]*\)", "1", url)
            response = client.get(url)
            if name in ("admin:login", "admin:logout"):
                continue  # the admin's own sign-in page, which refuses non-staff users
            assert response.status_code in (302, 404), (username, url)
            if response.status_code == 302:
                assert "/admin/login/" in response["Location"], (username, url)


# ---------------------------------------------------------------------------------------------
# The REST API


def _token_client(user) -> tuple[Client, dict[str, str]]:
    _token, raw = api_token_create(actor=user, user=user, name="walk")
    return Client(), {"Authorization": f"Bearer {raw}"}


API_BODIES = {
    "PATCH /api/v1/customers/{customer_id}": {"version": 1, "industry": "Walked"},
    "POST /api/v1/customers/{customer_id}/interactions": {
        "channel": "phone",
        "subject": "Walk",
    },
    "POST /api/v1/customers/{customer_id}/reveal": None,
    "POST /api/v1/customers/{customer_id}/blacklist": {"reason": "walk"},
}
API_SUCCESS = {"GET": 200, "PATCH": 200, "DELETE": 204, "POST": 200}
API_SUCCESS_OVERRIDES = {
    "POST /api/v1/customers/{customer_id}/interactions": 201,
    "POST /api/v1/customers/{customer_id}/blacklist": 201,
}


def _call(client: Client, method: str, url: str, headers: dict, body=None, params=None):
    if method == "GET":
        return client.get(url, params or {}, headers=headers)
    if method == "DELETE":
        return client.delete(url, query_params=params or {}, headers=headers)
    return getattr(client, method.lower())(
        url,
        data="" if body is None else json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.parametrize("username", ROLES)
def test_api_customer_operations_follow_the_visibility_rule(company, username):
    client, headers = _token_client(company.users[username])
    for operation, route in API_OPERATIONS.items():
        if route.kind != "customer":
            continue
        method, path = operation.split(" ", 1)
        success = API_SUCCESS_OVERRIDES.get(operation, API_SUCCESS[method])
        for customer_name, customer in company.customers.items():
            before = footprint()
            url = path.replace("{customer_id}", str(customer.pk))
            # Deletes take the customer's version, which putting them on the blacklist moved on.
            version = Customer.objects.values_list("version", flat=True).get(pk=customer.pk)
            params = {"version": version} if method == "DELETE" else None
            response = _call(client, method, url, headers, API_BODIES.get(operation), params)
            expected = expected_status(username, customer_name, route, success)
            assert response.status_code == expected, (username, operation, customer_name)
            if expected != success:
                assert footprint() == before, f"refused {operation} left a trace"
                assert "detail" in response.json()
            if method in ("PATCH", "DELETE") and expected == success:
                Customer.objects.filter(pk=customer.pk).update(deleted_at=None, version=1)


def _all_items(client: Client, url: str, headers: dict, params: dict | None = None) -> list:
    items, cursor = [], None
    while True:
        query = {**(params or {}), "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, query, headers=headers).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


@pytest.mark.parametrize("username", ROLES)
def test_api_lists_search_and_export_hold_exactly_the_visible_customers(company, username):
    from guanxi.interactions.services import interaction_log

    for customer in company.customers.values():
        interaction_log(
            actor=company.admin,
            customer_id=customer.pk,
            data={"channel": "visit", "subject": "Walk"},
        )
    client, headers = _token_client(company.users[username])
    visible_ids = {company.customers[n].pk for n in EXPECTED[username][VIEW]}

    listed = {c["id"] for c in _all_items(client, "/api/v1/customers", headers)}
    assert listed == visible_ids
    searched = {
        c["id"] for c in _all_items(client, "/api/v1/customers", headers, {"q": "customer"})
    }
    assert searched == visible_ids
    interactions = _all_items(client, "/api/v1/interactions", headers)
    assert {i["customer"]["id"] for i in interactions} == visible_ids
    for customer in company.customers.values():
        order = Order.objects.create(customer=customer, ordered_on="2026-01-01", amount=1)
        Invoice.objects.create(
            customer=customer,
            order=order,
            number=f"W-{customer.pk}",
            issued_on="2026-01-01",
            due_on="2026-01-31",
            amount=1,
        )
    orders = _all_items(client, "/api/v1/orders", headers)
    assert {o["customer"]["id"] for o in orders} == visible_ids
    invoices = _all_items(client, "/api/v1/invoices", headers)
    assert {i["customer"]["id"] for i in invoices} == visible_ids

    export = client.get("/api/v1/customers/export", headers=headers)
    assert export.status_code == 200
    rows = csv.DictReader(io.StringIO(export.getvalue().decode("utf-8-sig")))
    assert {int(row["id"]) for row in rows} == visible_ids
    workbook = client.get("/api/v1/customers/export", {"format": "xlsx"}, headers=headers)
    assert workbook.status_code == 200
    assert set(_workbook_column(workbook.getvalue(), "id")) == visible_ids


@pytest.mark.parametrize("username", ROLES)
def test_api_background_exports_are_their_requesters_alone(company, username, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 0  # every list is long: written in the background
    client, headers = _token_client(company.users[username])
    started = client.get("/api/v1/customers/export", {"format": "xlsx"}, headers=headers)
    assert started.status_code == 202, started.content
    job = started.json()
    assert job["status"] == "ready"  # the test settings run tasks at once
    workbook = client.get(job["file_url"], headers=headers)
    assert workbook.status_code == 200
    visible_ids = {company.customers[n].pk for n in EXPECTED[username][VIEW]}
    content = b"".join(workbook.streaming_content)
    assert set(_workbook_column(content, "id")) == visible_ids
    for other in ROLES:
        if other == username:
            continue
        other_client, other_headers = _token_client(company.users[other])
        assert other_client.get(job["url"], headers=other_headers).status_code == 404, other
        assert other_client.get(job["file_url"], headers=other_headers).status_code == 404, other


@pytest.mark.parametrize("username", ROLES)
def test_api_role_and_open_operations(company, username):
    client, headers = _token_client(company.users[username])
    before = footprint()
    response = _call(
        client,
        "POST",
        "/api/v1/customers/reassign",
        headers,
        {"from_owner_id": None, "to_owner_id": company.users[username].pk},
    )
    if username in REASSIGNING:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 403
        assert footprint() == before
    response = _call(client, "POST", "/api/v1/customers", headers, {"name": "Walk-in"})
    assert response.status_code == (201 if username in WRITING else 403), username
    # Someone leaves (the analyst, who holds nothing): only an administrator deactivates them.
    before = footprint()
    response = _call(client, "POST", f"/api/v1/users/{company.analyst.pk}/deactivate", headers, {})
    if username in ADMINISTRATING:
        assert response.status_code == 200, response.content
        assert not User.objects.get(pk=company.analyst.pk).is_active
    else:
        assert response.status_code == 403, username
        assert User.objects.get(pk=company.analyst.pk).is_active
        assert footprint() == before
    for path in ("/api/v1/me", "/api/v1/users", "/api/v1/custom-fields"):
        assert client.get(path, headers=headers).status_code == 200, path
    assert client.get("/api/v1/me", headers=headers).json()["username"] == username


def test_every_api_operation_needs_authentication(client, company):
    for operation in API_OPERATIONS:
        method, path = operation.split(" ", 1)
        url = (
            path.replace("{customer_id}", str(company.rep_customer.pk))
            .replace("{pair_id}", "1")
            .replace("{merge_id}", "1")
            .replace("{order_id}", "1")
            .replace("{invoice_id}", "1")
            .replace("{user_id}", str(company.rep.pk))
            .replace("{job_id}", "1")
        )
        before = footprint()
        response = _call(client, method, url, {}, {"name": "x"} if method == "POST" else None)
        assert response.status_code == 401, operation
        assert footprint() == before
    assert client.get("/api/v1/openapi.json").status_code == 200


ORDER_BODIES = {
    "POST /api/v1/orders": {"ordered_on": "2026-01-01", "amount": "5.00"},
    "PATCH /api/v1/orders/{order_id}": {"version": 1, "notes": "Walked"},
    "POST /api/v1/orders/{order_id}/refund": {"version": 1},
    "POST /api/v1/orders/{order_id}/cancel": {"version": 1},
    "POST /api/v1/orders/{order_id}/approve": {"version": 1},
    "POST /api/v1/invoices": {
        "number": "WALK",
        "issued_on": "2026-01-01",
        "due_on": "2026-01-31",
        "amount": "5.00",
    },
    "POST /api/v1/invoices/{invoice_id}/payments": {"paid_on": "2026-01-02", "amount": "1.00"},
}
ORDER_SUCCESS = {
    "POST /api/v1/orders": 201,
    "POST /api/v1/invoices": 201,
    "POST /api/v1/invoices/{invoice_id}/payments": 201,
}


@pytest.mark.parametrize("username", ROLES)
def test_api_order_operations_follow_the_visibility_rule(company, username):
    client, headers = _token_client(company.users[username])
    for customer in company.customers.values():
        # Waiting for approval, so that approving it can succeed.
        order = Order.objects.create(
            customer=customer, ordered_on="2026-01-01", amount=5, approval="pending"
        )
        Invoice.objects.create(
            customer=customer,
            order=order,
            number=f"I-{customer.pk}",
            issued_on="2026-01-01",
            due_on="2026-01-31",
            amount=5,
        )
    for operation, route in API_OPERATIONS.items():
        if route.kind not in ("order", "body"):
            continue
        method, path = operation.split(" ", 1)
        success = ORDER_SUCCESS.get(operation, API_SUCCESS[method])
        for customer_name, customer in company.customers.items():
            order = Order.objects.get(customer=customer, external_id=None, notes="")
            invoice = Invoice.objects.get(customer=customer, order=order)
            url = path.replace("{order_id}", str(order.pk)).replace("{invoice_id}", str(invoice.pk))
            body = dict(ORDER_BODIES.get(operation) or {})
            if route.kind == "body":
                body["customer_id"] = customer.pk
            before = footprint()
            response = _call(client, method, url, headers, body or None)
            expected = expected_status(username, customer_name, route, success)
            assert response.status_code == expected, (username, operation, customer_name)
            if expected != success:
                assert footprint() == before, f"refused {operation} left a trace"
                assert "detail" in response.json()
                continue
            # Put things back for the next operation.
            Order.objects.filter(customer=customer).exclude(pk=order.pk).delete()
            Order.objects.filter(pk=order.pk).update(
                status="placed", version=1, notes="", approval="pending", approved_by=None
            )
            Invoice.objects.filter(customer=customer).exclude(pk=invoice.pk).delete()
            Payment.objects.all().delete()


# ---------------------------------------------------------------------------------------------
# Service desk tickets: through their customer


TICKET_BODIES = {
    "POST /api/v1/tickets": {"type": "complaint", "subject": "Walk"},
    "PATCH /api/v1/tickets/{ticket_id}": {"version": 1, "priority": "high"},
    "POST /api/v1/tickets/{ticket_id}/replies": {"body": "Walked"},
    "POST /api/v1/tickets/{ticket_id}/notes": {"body": "Walked"},
    "POST /api/v1/tickets/{ticket_id}/status": {"version": 1, "status": "pending_customer"},
    "POST /api/v1/tickets/{ticket_id}/assign": {"assignee_id": None, "version": 1},
    "POST /api/v1/tickets/{ticket_id}/merge": {"version": 1, "into_version": 1},
}
TICKET_SUCCESS = {
    "POST /api/v1/tickets": 201,
    "POST /api/v1/tickets/{ticket_id}/replies": 201,
    "POST /api/v1/tickets/{ticket_id}/notes": 201,
}


def _walk_ticket(company, customer) -> Ticket:
    from guanxi.service.services import ticket_create

    return ticket_create(
        actor=company.admin,
        customer_id=customer.pk,
        data={"type": "complaint", "subject": f"About {customer.name}"},
    )


def _unsent_email(ticket: Ticket):
    """An email to the ticket's customer the mail server did not take, to send again."""
    from django.utils import timezone

    from guanxi.service.models import CustomerEmail

    return CustomerEmail.objects.create(
        ticket=ticket,
        kind=CustomerEmail.Kind.ACKNOWLEDGEMENT,
        to="walk@example.cn",
        attempts=1,
        failed_at=timezone.now(),
        failure=CustomerEmail.Failure.UNREACHABLE,
    )


@pytest.mark.parametrize("username", ROLES)
def test_ticket_pages_and_lists_follow_the_visibility_rule(client, company, username):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from guanxi.service.services import ticket_note

    tickets = {name: _walk_ticket(company, c) for name, c in company.customers.items()}
    attachments = {}
    for name, ticket in tickets.items():
        ticket_note(
            actor=company.admin,
            ticket_id=ticket.pk,
            body="file",
            files=[SimpleUploadedFile("a.txt", b"hello")],
        )
        attachments[name] = ticket.attachments.get()
    client.force_login(company.users[username])
    visible = EXPECTED[username][VIEW]
    assert _names_in(client.get("/service/tickets/").content.decode(), company) == visible
    for customer_name, ticket in tickets.items():
        view = expected_status(username, customer_name, PAGES["service:detail"], 200)
        assert client.get(f"/service/tickets/{ticket.pk}/").status_code == view
        download = client.get(
            f"/service/tickets/{ticket.pk}/attachments/{attachments[customer_name].pk}/"
        )
        assert download.status_code == view, (username, customer_name)
        if view == 200:
            assert b"".join(download.streaming_content) == b"hello"
            assert "attachment" in download["Content-Disposition"]
        before = footprint()
        response = client.post(
            f"/service/tickets/{ticket.pk}/", {"action": "note", "body": "walked"}
        )
        expected = expected_status(username, customer_name, Route("ticket", INTERACT), 302)
        assert response.status_code == expected, (username, customer_name)
        if expected != 302:
            assert footprint() == before, "a refused note left a trace"
        # The page's form changing the ticket's priority, type and category: as the API's
        # change, only for whoever may work with the customer.
        ticket.refresh_from_db()
        before = footprint(), ticket.version
        response = client.post(
            f"/service/tickets/{ticket.pk}/",
            {"action": "change", "version": ticket.version, "type": "inquiry", "priority": "high"},
        )
        assert response.status_code == expected, (username, customer_name, "change")
        ticket.refresh_from_db()
        if expected != 302:
            assert (footprint(), ticket.version) == before, "a refused change left a trace"
        else:
            assert ticket.priority == "high"


@pytest.mark.parametrize("username", ROLES)
def test_api_ticket_operations_follow_the_visibility_rule(company, username):
    client, headers = _token_client(company.users[username])
    visible = EXPECTED[username][VIEW]
    for customer in company.customers.values():
        _walk_ticket(company, customer)
    listed = {t["customer"]["name"] for t in _all_items(client, "/api/v1/tickets", headers)}
    assert listed == {company.customers[n].name for n in visible}
    for operation, route in API_OPERATIONS.items():
        if route.kind not in ("ticket", "ticket_new"):
            continue
        method, path = operation.split(" ", 1)
        success = TICKET_SUCCESS.get(operation, API_SUCCESS[method])
        for customer_name, customer in company.customers.items():
            ticket = _walk_ticket(company, customer)
            body = dict(TICKET_BODIES.get(operation) or {})
            if route.kind == "ticket_new":
                body["customer_id"] = customer.pk
            if operation.endswith("/merge"):
                body["into_id"] = _walk_ticket(company, customer).pk
            if operation.endswith("/send-again"):
                body["email_id"] = _unsent_email(ticket).pk
            url = path.replace("{ticket_id}", str(ticket.pk))
            before = footprint()
            response = _call(client, method, url, headers, body or None)
            expected = expected_status(username, customer_name, route, success)
            assert response.status_code == expected, (username, operation, customer_name)
            if expected != success:
                assert footprint() == before, f"refused {operation} left a trace"
                assert "detail" in response.json()


@pytest.mark.parametrize("username", ROLES)
def test_knowledge_base_routes(client, company, username):
    from guanxi.knowledge.services import article_create

    article = article_create(
        actor=company.admin,
        data={"title": "退款到账时间", "problem": "退款慢", "cause": "银行", "solution": "三天"},
    )
    tickets = {name: _walk_ticket(company, c) for name, c in company.customers.items()}
    client.force_login(company.users[username])
    assert client.get("/knowledge/").status_code == 200
    assert client.get(f"/knowledge/{article.pk}/").status_code == 200
    suggested = client.get("/knowledge/suggest/", {"text": "About customer 退款"})
    assert suggested.status_code == 200
    # Suggestions name only tickets of customers the user may see.
    names = {n for n, t in tickets.items() if t.subject in suggested.content.decode()}
    assert names <= EXPECTED[username][VIEW]
    writes = 200 if username in WRITING else 403
    assert client.get("/knowledge/new/").status_code == writes
    assert client.get(f"/knowledge/{article.pk}/edit/").status_code == writes


def test_service_public_pages_open_only_by_signed_links(client, company):
    from guanxi.service import mail
    from guanxi.service.models import SatisfactionSurvey

    ticket = _walk_ticket(company, company.rep_customer)
    SatisfactionSurvey.objects.create(ticket=ticket)
    assert client.get("/service/help/").status_code == 200
    assert client.get(f"/service/status/{mail.status_link_token(ticket.pk)}/").status_code == 200
    assert client.get(f"/service/survey/{mail.survey_token(ticket.pk)}/").status_code == 200
    for url in (
        f"/service/status/{ticket.pk}/",
        f"/service/status/{mail.survey_token(ticket.pk)}/",  # a token made for another page
        f"/service/survey/{mail.status_link_token(ticket.pk)}/",
        "/service/survey/forged:token/",
    ):
        assert client.get(url).status_code == 404, url
    for url in ("/service/tickets/", "/service/notifications/", f"/service/tickets/{ticket.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


# ---------------------------------------------------------------------------------------------
# Possible duplicates and merges: routes about two customers at once


def _pair_expectation(username: str, a: str, b: str, action: int, success: int) -> int:
    if not {a, b} <= EXPECTED[username][VIEW]:
        return 404
    if not {a, b} <= EXPECTED[username][action]:
        return 403
    return success


def _restore_after_merge(company, merge_id: int, pair: DuplicatePair) -> None:
    customer_merge_undo(actor=company.admin, merge_id=merge_id)
    DuplicatePair.objects.filter(pk=pair.pk).update(status="open", decided_by=None)
    Customer.objects.filter(pk__in=[pair.left_id, pair.right_id]).update(version=1)


@pytest.mark.parametrize("username", ROLES)
def test_duplicate_pair_routes_follow_the_visibility_rule(client, company, username):
    user = company.users[username]
    client.force_login(user)
    api, headers = _token_client(user)
    names = sorted(company.customers)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            first, second = company.customers[a], company.customers[b]
            low, high = sorted((first.pk, second.pk))
            pair = DuplicatePair.objects.create(
                left_id=low, right_id=high, score=0.9, source="scan"
            )
            keep = str(first.pk)
            versions = dict(
                Customer.objects.filter(pk__in=[low, high]).values_list("pk", "version")
            )
            assert client.get(f"/duplicates/{pair.pk}/").status_code == _pair_expectation(
                username, a, b, VIEW, 200
            )
            for url, data, api_call in (
                (
                    f"/duplicates/{pair.pk}/reject/",
                    {},
                    ("POST", f"/api/v1/duplicates/{pair.pk}/reject", None),
                ),
                (
                    f"/duplicates/{pair.pk}/merge/",
                    {
                        "keep": keep,
                        "version_left": versions[low],
                        "version_right": versions[high],
                    },
                    (
                        "POST",
                        f"/api/v1/customers/{first.pk}/merge",
                        {
                            "merged_id": second.pk,
                            "version": versions[first.pk],
                            "merged_version": versions[second.pk],
                        },
                    ),
                ),
            ):
                for caller in ("web", "api"):
                    before = footprint()
                    if caller == "web":
                        response = client.post(url, data)
                        expected = _pair_expectation(username, a, b, CHANGE, 302)
                    else:
                        method, path, body = api_call
                        response = _call(api, method, path, headers, body)
                        expected = _pair_expectation(username, a, b, CHANGE, 200)
                    assert response.status_code == expected, (username, a, b, url, caller)
                    if expected != 302 and expected != 200:
                        assert footprint() == before, f"refused {url} left a trace"
                        continue
                    merge = CustomerMerge.objects.filter(undone_at__isnull=True).first()
                    if merge is not None:
                        _restore_after_merge(company, merge.pk, pair)
                    else:
                        DuplicatePair.objects.filter(pk=pair.pk).update(status="open")
            pair.delete()


@pytest.mark.parametrize("username", ROLES)
def test_duplicate_queues_hold_exactly_the_visible_pairs(client, company, username):
    names = sorted(company.customers)
    expected_ids = set()
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            low, high = sorted((company.customers[a].pk, company.customers[b].pk))
            pair = DuplicatePair.objects.create(
                left_id=low, right_id=high, score=0.9, source="scan"
            )
            if {a, b} <= EXPECTED[username][VIEW]:
                expected_ids.add(pair.pk)
    user = company.users[username]
    client.force_login(user)
    html = client.get("/duplicates/").content.decode()
    shown = {int(pk) for pk in re.findall(r'href="/duplicates/(\d+)/"', html)}
    assert shown == expected_ids
    api, headers = _token_client(user)
    listed = {p["id"] for p in _all_items(api, "/api/v1/duplicates", headers)}
    assert listed == expected_ids


@pytest.mark.parametrize("username", ROLES)
def test_recycle_bin_is_for_administrators(client, company, username):
    """The recycle bin lists deleted customers of every owner, shows any of them and restores
    any of them, so it is for administrators alone, on the web and in the API; everyone else is
    refused (403) without a trace, whoever owns the customer, and is not shown the way there.
    The pages and reads of customers in use still do not find a deleted one, not even for an
    administrator."""
    from guanxi.customers.services import customer_delete

    user = company.users[username]
    client.force_login(user)
    api, headers = _token_client(user)
    admin = username in ADMINISTRATING
    assert ("/customers/recycle-bin/" in client.get("/customers/").content.decode()) == admin
    for customer in company.customers.values():
        customer_delete(actor=company.admin, customer_id=customer.pk)
    for name in company.customers:
        for caller in ("web", "api"):
            customer = Customer.objects.get(pk=company.customers[name].pk)
            before = footprint()
            if caller == "web":
                page = client.get("/customers/recycle-bin/")
                assert page.status_code == (200 if admin else 403), (username, name)
                assert (customer.name in page.content.decode()) == admin
                shown = client.get(f"/customers/recycle-bin/{customer.pk}/")
                assert shown.status_code == (200 if admin else 403), (username, name)
                assert (customer.name in shown.content.decode()) == admin
                assert client.get(f"/customers/{customer.pk}/").status_code == 404
                response = client.post(
                    f"/customers/{customer.pk}/restore/", {"version": customer.version}
                )
                success = 302
            else:
                listed = api.get("/api/v1/customers/deleted", headers=headers)
                assert listed.status_code == (200 if admin else 403), (username, name)
                if admin:
                    assert customer.pk in {c["id"] for c in listed.json()["items"]}
                shown = api.get(f"/api/v1/customers/deleted/{customer.pk}", headers=headers)
                assert shown.status_code == (200 if admin else 403), (username, name)
                assert (shown.json().get("name") == customer.name) == admin
                live = api.get(f"/api/v1/customers/{customer.pk}", headers=headers)
                assert live.status_code == 404, (username, name)
                response = _call(
                    api,
                    "POST",
                    f"/api/v1/customers/{customer.pk}/restore",
                    headers,
                    {"version": customer.version},
                )
                success = 200
            if not admin:
                assert response.status_code == 403, (username, name, caller)
                assert footprint() == before, f"a refused restore ({caller}) left a trace"
                continue
            assert response.status_code == success, (name, caller, response.content)
            assert Customer.objects.get(pk=customer.pk).deleted_at is None
            customer_delete(actor=company.admin, customer_id=customer.pk)


@pytest.mark.parametrize("username", ROLES)
def test_undoing_a_merge_follows_the_visibility_rule(client, company, username):
    user = company.users[username]
    client.force_login(user)
    api, headers = _token_client(user)
    # A bare, unowned customer merged into each fixture customer leaves its owner (and so who
    # may see it) as it was.
    other = CustomerFactory(name="Spare card", owner=None)
    for survivor_name, survivor in company.customers.items():
        for caller in ("web", "api"):
            merge = customers_merge(
                actor=company.admin, survivor_id=survivor.pk, merged_id=other.pk
            )
            before = footprint()
            if caller == "web":
                response = client.post(f"/duplicates/merges/{merge.pk}/undo/")
                success = 302
            else:
                response = _call(api, "POST", f"/api/v1/merges/{merge.pk}/undo", headers)
                success = 200
            if survivor_name not in EXPECTED[username][VIEW]:
                expected = 404
            elif survivor_name not in EXPECTED[username][CHANGE] or username not in DELETING:
                expected = 403
            else:
                expected = success
            assert response.status_code == expected, (username, survivor_name, caller)
            if expected != success:
                assert footprint() == before
                customer_merge_undo(actor=company.admin, merge_id=merge.pk)
            Customer.objects.filter(pk__in=[survivor.pk, other.pk]).update(version=1)
            DuplicatePair.objects.all().delete()


@pytest.mark.parametrize("username", ROLES)
def test_duplicate_check_only_names_visible_customers(company, username):
    from guanxi.customers.services import customer_update

    for customer in company.customers.values():
        customer_update(
            actor=company.admin,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"phones": ["13800001111"]},
        )
    api, headers = _token_client(company.users[username])
    response = _call(
        api,
        "POST",
        "/api/v1/customers/duplicates",
        headers,
        {"name": "Unowned Customer", "phones": ["138 0000 1111"]},
    )
    assert response.status_code == 200
    found = {item["customer"]["id"] for item in response.json()}
    visible = {company.customers[n].pk for n in EXPECTED[username][VIEW]}
    assert found <= visible
    unowned = company.unowned_customer.pk
    assert (unowned in found) == (unowned in visible)
