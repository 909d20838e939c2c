"""Every page and API answer a sales rep can reach, searched for a customer's phone and ID
numbers in full: someone without the view-sensitive-data permission sees them masked everywhere
(README, "Sensitive data"), in the text, in form values and in JSON alike.

The routes are those of the resolver (``test_authorization_walk.all_routes``), each visited with
its path filled in from one small world about the customer: their ticket, a possible duplicate,
an interaction, their history after an edit. A route whose path cannot be filled from it is not
about this customer (tokens, knowledge articles, attachments) and is listed in ``NOT_ABOUT_THEM``,
so that a new route cannot go unwalked unnoticed.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import duplicate_pair_merge
from guanxi.interactions.services import interaction_log
from guanxi.service import mail
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_note, ticket_set_status
from guanxi.tests.test_authorization_walk import _token_client, all_routes

pytestmark = pytest.mark.django_db

MOBILE = "138 9041 7762"
LANDLINE = "021 5876 3190"
NEW_MOBILE = "139 5170 2846"  # put in by an edit, so in the history
MERGED_MOBILE = "137 6620 9153"  # a duplicate's, copied to the customer by a merge
ID_NUMBER = "11010519491231002X"
FULL_NUMBERS = {
    # Digits in order, whatever is written between them (spaces, dashes, brackets).
    "mobile": "13890417762",
    "landline": "2158763190",
    "new mobile": "13951702846",
    "merged mobile": "13766209153",
    "ID number": ID_NUMBER,
}


def _pattern(digits: str) -> re.Pattern:
    return re.compile(r"[\s\-.()\u00a0]{0,3}".join(re.escape(ch) for ch in digits), re.IGNORECASE)


PATTERNS = {name: _pattern(digits) for name, digits in FULL_NUMBERS.items()}


def full_numbers_in(text: str) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


# Routes whose path holds something other than this customer's world.
NOT_ABOUT_THEM = {
    "accounts:token_revoke",
    "analytics:export",
    "analytics:follow_up_done",
    "customers:export_job",
    "customers:export_download",
    "dedup:undo",
    "imports:detail",
    "imports:resume",
    "imports:cancel",
    "imports:discard",
    "imports:mapping",
    "imports:for_real",
    "imports:errors",
    "service:attachment",
    "service:report_export",
    "service:public_survey",
    "knowledge:detail",
    "knowledge:edit",
    "api:customer_export_job",
    "api:customer_export_file",
    "api:user_deactivate",
    "api:merge_undo",
    # Orders and invoices carry no phone or ID number.
    "api:order_detail",
    "api:order_update",
    "api:order_refund",
    "api:order_cancel",
    "api:order_approve",
    "api:invoice_payment_create",
    # A password reset link is about an account, never a customer.
    "accounts:password_reset_confirm",
}
# Where the numbers are most at home: each must have been shown to the rep (status 200).
MUST_SHOW = {
    "customers:list",
    "customers:detail",
    "customers:edit",
    "customers:timeline",
    "customers:history",
    "interactions:list",
    "dedup:queue",
    "dedup:pair",
    "service:list",
    "service:detail",
    "service:public_status",
    "api:customer_list",
    "api:customer_detail",
    "api:customer_history",
    "api:customer_interaction_list",
    "api:duplicate_list",
    "api:ticket_list",
    "api:ticket_detail",
    "api:openapi-json",
}
# The recycle bin's routes, walked by an administrator once the customer is in it
# (test_the_recycle_bin_shows_an_administrator_the_numbers_masked).
RECYCLE_BIN = {
    "customers:recycle_bin",
    "customers:deleted_detail",
    "api:customer_deleted_list",
    "api:customer_deleted_detail",
}
# Searches by the numbers' digits, as a rep looking them up would.
SEARCHES = ("7762", "王晓明", "13890417762")


# Who walks, and whose customer they walk through: a rep their own, and a manager without the
# view-sensitive-data permission one of their department's, with its history and merges.
WALKERS = {"rep": "rep", "manager_west": "rep_west"}


@pytest.fixture(params=sorted(WALKERS))
def walker(request, company):
    return company.users[request.param]


@pytest.fixture
def world(company, walker):
    rep = company.users[WALKERS[walker.username]]
    customer = customer_create(
        actor=rep,
        data={
            "name": "王晓明",
            "phones": [{"number": MOBILE}, {"number": LANDLINE, "label": "work"}],
            "emails": ["wxm@example.com"],
            "id_number": ID_NUMBER,
            # Typed into the customer's own notes too, shown masked as the card masks them.
            "notes": f"Mobile {MOBILE}, ID {ID_NUMBER}, office {LANDLINE}.",
        },
    )
    customer = customer_update(
        actor=rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"phones": [{"number": NEW_MOBILE}, {"number": MOBILE}, {"number": LANDLINE}]},
    )
    interaction_log(
        actor=rep,
        customer_id=customer.pk,
        data={
            "channel": "phone",
            "direction": "outbound",
            "subject": "Called about the order",
            # Numbers typed into free text show masked too (mask_numbers_in_text).
            "notes": f"Reached on {MOBILE}, ID {ID_NUMBER}; office {LANDLINE}.",
        },
    )
    # A duplicate merged into the customer, its number copied to them.
    merged = customer_create(
        actor=rep, data={"name": "王晓明", "phones": [{"number": MERGED_MOBILE}]}
    )
    low, high = sorted((customer.pk, merged.pk))
    merged_pair = DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")
    duplicate_pair_merge(actor=rep, pair_id=merged_pair.pk, survivor_id=customer.pk)
    twin = customer_create(actor=rep, data={"name": "王晓明", "phones": [{"number": MOBILE}]})
    low, high = sorted((customer.pk, twin.pk))
    pair = DuplicatePair.objects.create(left_id=low, right_id=high, score=0.95, source="scan")
    # The customer asks for help on the public form, found by their email (the form never files
    # a request under a customer by the number typed on it).
    response = Client().post(
        "/service/help/",
        {
            "name": "王晓明",
            "email": "wxm@example.com",
            "phone": MOBILE,
            "type": "complaint",
            "subject": "Broken kettle",
            "description": "It stopped working after a week.",
        },
    )
    assert response.status_code in (200, 302), response.content[:500]
    ticket = Ticket.objects.get(subject="Broken kettle")
    assert ticket.customer_id == customer.pk
    ticket_note(actor=rep, ticket_id=ticket.pk, body=f"Wang Xiaoming\n{MOBILE}\n{ID_NUMBER}")
    return {
        "customer_id": customer.pk,
        "ticket_id": ticket.pk,
        "pair_id": pair.pk,
        "token": mail.status_link_token(ticket.pk),
    }


_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _urls(world) -> dict[str, str]:
    urls = {}
    for name, pattern in all_routes():
        if not name or name.startswith("admin:") or name in NOT_ABOUT_THEM:
            continue
        names = _PARAMETER.findall(pattern)
        missing = [p for p in names if p not in world]
        assert not missing, f"{name}: add it to NOT_ABOUT_THEM or fill {missing} from the world"
        urls[name] = "/" + _PARAMETER.sub(lambda m: str(world[m.group(1)]), pattern)
    return urls


def _leaks(name: str, url: str, response, *, typed: str = "") -> list[str]:
    """The numbers ``response`` shows in full, leaving out ``typed``, what the rep searched for,
    which the page may well repeat (in the search box, in its links)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    body = content.decode("utf-8", "replace")
    if typed:
        body = body.replace(typed, "")
    return [f"{name} {url}: {found}" for found in full_numbers_in(body)]


def test_the_patterns_find_the_numbers_as_they_are_written():
    for text in ("+86 138 9041 7762", "13890417762", "+8613890417762", "138-9041-7762"):
        assert full_numbers_in(text) == ["mobile"]
    for text in ("+86 138 **** 7762", "+86 21 5*** 3190", "1****************X", "7762"):
        assert full_numbers_in(text) == []


def test_no_page_shows_a_rep_the_numbers_in_full(client, walker, world):
    assert not walker.may_view_sensitive()
    client.force_login(walker)
    leaks, shown = [], set()
    for name, url in _urls(world).items():
        if name.startswith("api:"):
            continue
        response = client.get(url)
        assert response.status_code < 500, (name, url)
        if response.status_code == 200:
            shown.add(name)
        leaks += _leaks(name, url, response)
    for q in SEARCHES:
        for url in ("/customers/", "/interactions/", "/service/tickets/", "/duplicates/"):
            leaks += _leaks(url, f"{url}?q={q}", client.get(url, {"q": q}), typed=q)
        lookup = client.get("/customers/organizations/lookup/", {"q": q})
        leaks += _leaks("lookup", q, lookup, typed=q)
    assert not leaks
    # The walk saw the numbers, masked: it did not pass for want of them.
    page = client.get(f"/customers/{world['customer_id']}/").content.decode()
    for masked in ("+86 138 **** 7762", "+86 21 5*** 3190", "+86 137 **** 9153"):
        assert masked in page
    assert "1****************X" in page
    assert MUST_SHOW - shown <= {n for n in MUST_SHOW if n.startswith("api:")}, MUST_SHOW - shown


def test_no_api_answer_gives_a_rep_the_numbers_in_full(walker, world):
    api, headers = _token_client(walker)
    leaks, shown = [], set()
    for name, url in _urls(world).items():
        if not name.startswith("api:"):
            continue
        response = api.get(url, headers=headers)
        assert response.status_code < 500, (name, url)
        if response.status_code == 200:
            shown.add(name)
        leaks += _leaks(name, url, response)
    for q in SEARCHES:
        for url in ("/api/v1/customers", "/api/v1/tickets", "/api/v1/interactions"):
            response = api.get(url, {"q": q}, headers=headers)
            leaks += _leaks(url, f"{url}?q={q}", response, typed=q)
    assert not leaks
    assert {n for n in MUST_SHOW if n.startswith("api:")} <= shown


def test_the_edit_form_shown_again_after_an_error_keeps_the_numbers_masked(client, walker, world):
    client.force_login(walker)
    customer = Customer.objects.get(pk=world["customer_id"])
    page = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    masked = re.findall(r'name="phone_number" value="([^"]*)"', page)
    assert masked[:3] == ["+86 139 **** 2846", "+86 138 **** 7762", "+86 21 5*** 3190"]
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {
            "party_type": "person",
            "name": "",  # required: the form comes back
            "kind": customer.kind,
            "relationship_level": customer.relationship_level,
            "lifecycle_stage": customer.lifecycle_stage,
            "owner_id": str(customer.owner_id),
            "phone_number": masked[:3],
            "phone_label": ["mobile", "mobile", "work"],
            "version": str(customer.version),
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "errorlist" in body
    assert full_numbers_in(body) == []


def test_the_recycle_bin_shows_an_administrator_the_numbers_masked(client, company, world):
    """An administrator may see the numbers in full, but only by the audited reveal of a
    customer in use: a customer in the recycle bin, read to decide whether to restore it, shows
    them masked, on its page (its history too) and in the API."""
    from guanxi.customers.services import customer_delete

    admin = company.admin
    assert admin.may_view_sensitive()
    # A customer is binned once its tickets are done.
    ticket_set_status(actor=admin, ticket_id=world["ticket_id"], status="closed")
    customer_delete(actor=admin, customer_id=world["customer_id"])
    client.force_login(admin)
    api, headers = _token_client(admin)
    urls = {name: url for name, url in _urls(world).items() if name in RECYCLE_BIN}
    assert set(urls) == RECYCLE_BIN
    leaks = []
    for name, url in urls.items():
        response = api.get(url, headers=headers) if name.startswith("api:") else client.get(url)
        assert response.status_code == 200, (name, url)
        leaks += _leaks(name, url, response)
    for q in SEARCHES:
        response = client.get("/customers/recycle-bin/", {"q": q})
        leaks += _leaks("recycle bin", f"?q={q}", response, typed=q)
        response = api.get("/api/v1/customers/deleted", {"q": q}, headers=headers)
        leaks += _leaks("deleted list", f"?q={q}", response, typed=q)
    assert not leaks
    page = client.get(urls["customers:deleted_detail"]).content.decode()
    for masked in ("+86 139 **** 2846", "+86 138 **** 7762", "+86 21 5*** 3190"):
        assert masked in page
    assert "1****************X" in page
    assert "moved this customer to the recycle bin" in page


# Digits the masks hide (+86 138 **** 7762, +86 21 5*** 3190, +86 139 **** 2846): searching for
# them would tell the rep what they are, by which customers it lists.
HIDDEN_DIGITS = ("9041", "138 9041", "90417762", "5876", "021-5876", "5170", "6620")
# What the masks show, and the whole numbers as a caller reads them out.
SHOWN_DIGITS = (
    "138",
    "7762",
    "2846",
    "3190",
    "+86 138 9041 7762",
    "138-9041-7762",
    "13890417762",
    "021-5876-3190",
    "(021) 5876 3190",
)


def test_a_rep_finds_the_customer_by_the_digits_shown_and_never_by_those_hidden(
    client, company, walker, world
):
    client.force_login(walker)
    api, headers = _token_client(walker)
    admin_api, admin_headers = _token_client(company.admin)
    link = f"/customers/{world['customer_id']}/"

    def found_on_page(q):
        return link in client.get("/customers/", {"q": q}).content.decode()

    def found_by_api(q, as_admin=False):
        response = (
            admin_api.get("/api/v1/customers", {"q": q}, headers=admin_headers)
            if as_admin
            else api.get("/api/v1/customers", {"q": q}, headers=headers)
        )
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    for q in HIDDEN_DIGITS:
        assert not found_on_page(q), q
        assert found_by_api(q) == [], q
        assert world["customer_id"] in found_by_api(q, as_admin=True), q
    for q in SHOWN_DIGITS:
        assert found_on_page(q), q
        assert world["customer_id"] in found_by_api(q), q


def test_a_rep_cannot_try_every_middle_the_mask_hides(company, walker, world):
    # +86 138 **** 7762 leaves 10,000 numbers; each search by one answers yes or no. The
    # whole-number limit refuses the guesses long before the right one (9041) comes up.
    from guanxi.customers.services import WHOLE_NUMBER_LIMITS

    limit = WHOLE_NUMBER_LIMITS[0][0]
    api, headers = _token_client(walker)
    answers = {}
    for middle in [*range(9000, 9000 + limit + 5), 9041]:
        response = api.get("/api/v1/customers", {"q": f"138{middle:04d}7762"}, headers=headers)
        assert response.status_code in (200, 429), response.content
        answers[middle] = response
    assert all(answers[m].status_code == 200 for m in range(9000, 9000 + limit))
    assert answers[9041].status_code == 429
    assert f'"id": {world["customer_id"]}' not in answers[9041].content.decode()
    # Whoever sees the numbers in full is not limited, and finds the customer by it.
    admin_api, admin_headers = _token_client(company.admin)
    found = admin_api.get("/api/v1/customers", {"q": MOBILE}, headers=admin_headers)
    assert world["customer_id"] in [item["id"] for item in found.json()["items"]]


def test_the_duplicate_hints_for_a_number_typed_in_full_show_no_other_digits(client, walker, world):
    # Whoever types a whole number knows it, and may be told it is a customer's ("same mobile
    # phone"); nothing else of that customer's numbers may come with the answer.
    client.force_login(walker)
    hints = client.post(
        "/duplicates/hints/",
        {"party_type": "person", "name": "王晓明", "phone_number": MOBILE, "phone_label": "mobile"},
    )
    assert f"/customers/{world['customer_id']}/" in hints.content.decode()
    assert "same mobile phone" in hints.content.decode()
    assert _leaks("hints", "/duplicates/hints/", hints, typed=MOBILE) == []
    assert _hidden_digits_in(hints.content.decode().replace(MOBILE, "")) == []
    api, headers = _token_client(walker)
    checked = api.post(
        "/api/v1/customers/duplicates",
        {"name": "王晓明", "phones": [MOBILE]},
        content_type="application/json",
        headers=headers,
    )
    assert checked.status_code == 200, checked.content
    assert world["customer_id"] in [d["customer"]["id"] for d in checked.json()]
    assert _leaks("duplicates check", "/api/v1/customers/duplicates", checked, typed=MOBILE) == []
    assert _hidden_digits_in(checked.content.decode()) == []


def _hidden_digits_in(text: str) -> list[str]:
    """The middles the masks hide of the customer's numbers, wherever ``text`` shows one."""
    middles = ("9041", "5876", "5170", "6620")
    return [middle for middle in middles if _pattern(middle).search(text)]
