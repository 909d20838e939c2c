"""Whoever sees phone numbers masked (138****5678) may look a customer up by a whole number,
but not try the 10,000 possible middles one search each: whole numbers they have not looked up
before are limited to WHOLE_NUMBER_LIMITS (README, "Sensitive data"), counted in the database,
so that every worker process, page and API answer keeps to one count."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import WholeNumberLookup
from guanxi.customers.services import WHOLE_NUMBER_LIMITS, customer_create
from guanxi.tests.test_authorization_walk import _token_client

pytestmark = pytest.mark.django_db

LIMIT, WINDOW = WHOLE_NUMBER_LIMITS[0]
MOBILE = "+86 138 0012 5678"
NEW_NUMBER = "+86 138 0099 5678"  # not among the guesses(LIMIT)


def guesses(count: int, start: int = 0) -> list[str]:
    """Whole mobile numbers that the mask +86 138 **** 5678 leaves possible."""
    return [f"138{middle:04d}5678" for middle in range(start, start + count)]


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.admin,
        data={"name": "Mobile Person", "phones": [MOBILE], "owner_id": company.rep.pk},
    )


def _page(client, q):
    return client.get("/customers/", {"q": q})


def _api(user):
    api, headers = _token_client(user)
    return lambda q: api.get("/api/v1/customers", {"q": q}, headers=headers)


def _limit_used_up(company):
    """The rep's whole-number searches of the window, half on the page and half by the API,
    each from a client of its own (as two browsers, or two workers, would send them)."""
    first, second = Client(), Client()
    first.force_login(company.rep)
    second.force_login(company.rep)
    api = _api(company.rep)
    for number, index in zip(guesses(LIMIT), range(LIMIT), strict=True):
        if index % 3 == 0:
            assert _page(first, number).status_code == 200
        elif index % 3 == 1:
            assert _page(second, number).status_code == 200
        else:
            assert api(number).status_code == 200


def test_the_premise(company):
    assert not company.rep.may_view_sensitive()
    assert company.manager.may_view_sensitive()
    assert (30, dt.timedelta(minutes=10)) == (LIMIT, WINDOW)


def test_the_limit_holds_across_clients_and_the_api_answers_429_in_the_error_shape(
    company, customer
):
    _limit_used_up(company)
    response = _api(company.rep)(guesses(1, start=LIMIT)[0])
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert "Too many searches for whole phone numbers" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["q"]
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= WINDOW.total_seconds()


def test_a_number_already_looked_up_in_the_window_is_still_answered(company, customer):
    _limit_used_up(company)
    client = Client()
    client.force_login(company.rep)
    # The same number again, in another spelling: nothing new is learnt from it.
    assert _api(company.rep)("+86 138 0000 5678").status_code == 200
    assert _page(client, guesses(1)[0]).status_code == 200


def test_the_page_says_so_in_english_and_in_chinese(company, customer):
    _limit_used_up(company)
    client = Client()
    client.force_login(company.rep)
    page = _page(client, NEW_NUMBER)
    assert page.status_code == 429
    text = page.content.decode()
    assert "Too many searches for whole phone numbers" in text
    assert "You can search by a whole number again at" in text
    assert f"/customers/{customer.pk}/" not in text
    # The search as you type, which replaces only the results, says it too.
    fragment = client.get("/customers/", {"q": NEW_NUMBER}, headers={"HX-Request": "true"})
    assert "Too many searches for whole phone numbers" in fragment.content.decode()
    client.cookies["django_language"] = "zh-hans"
    chinese = _page(client, NEW_NUMBER).content.decode()
    assert "按完整号码搜索的次数过多" in chinese
    assert "后可再按完整号码搜索" in chinese


def test_searches_that_are_not_whole_numbers_are_neither_counted_nor_limited(company, customer):
    client = Client()
    client.force_login(company.rep)
    api = _api(company.rep)
    others = ["Mobile Person", "5678", "138", "+86 138", "86138", "0012", "mobile 5678"]
    for _round in range(LIMIT // len(others) + 2):
        for q in others:
            assert _page(client, q).status_code == 200, q
    assert WholeNumberLookup.objects.count() == 0
    _limit_used_up(company)
    for q in others:
        assert _page(client, q).status_code == 200, q
        assert api(q).status_code == 200, q
    assert f"/customers/{customer.pk}/" in _page(client, "138").content.decode()


def test_whoever_sees_numbers_in_full_is_never_limited(company, customer):
    client = Client()
    client.force_login(company.manager)
    api = _api(company.manager)
    for number in guesses(LIMIT + 5):
        assert _page(client, number).status_code == 200
    assert api(MOBILE).status_code == 200
    assert f"/customers/{customer.pk}/" in _page(client, MOBILE).content.decode()
    assert WholeNumberLookup.objects.count() == 0


def test_reaching_the_limit_is_audited_once_a_window(company, customer):
    _limit_used_up(company)
    api = _api(company.rep)
    for number in guesses(5, start=LIMIT):
        assert api(number).status_code == 429
    events = AuditEvent.objects.filter(action=AuditEvent.Action.LOOKUP_LIMIT)
    assert [(e.actor_id, e.object_type, e.object_id) for e in events] == [
        (company.rep.pk, "user", company.rep.pk)
    ]
    assert "30 whole phone numbers in 10 minutes" in events[0].summary_text()
    # The lookups age out of the window one by one, and a new number is answered again;
    # reaching the limit again within the window of the first refusal is not a new event.
    older = timezone.now() - WINDOW - dt.timedelta(seconds=1)
    oldest = WholeNumberLookup.objects.order_by("looked_up_at", "pk")[:1].get()
    WholeNumberLookup.objects.filter(pk=oldest.pk).update(looked_up_at=older)
    assert api(guesses(1, start=LIMIT + 10)[0]).status_code == 200
    assert api(guesses(1, start=LIMIT + 11)[0]).status_code == 429
    assert events.count() == 1


def test_the_duplicate_hints_count_a_whole_number_typed_in(company, customer):
    _limit_used_up(company)
    client = Client()
    client.force_login(company.rep)
    hints = client.post(
        "/duplicates/hints/",
        {
            "party_type": "person",
            "name": "Mobile Person",
            "phone_number": "138 0099 5678",
            "phone_label": "mobile",
        },
    )
    assert hints.status_code == 200  # htmx swaps only a successful answer
    assert "Too many searches for whole phone numbers" in hints.content.decode()
    # A number looked up already is answered as before.
    hints = client.post(
        "/duplicates/hints/",
        {
            "party_type": "person",
            "name": "Mobile Person",
            "phone_number": MOBILE,
            "phone_label": "mobile",
        },
    )
    assert f"/customers/{customer.pk}/" in hints.content.decode()
    api, headers = _token_client(company.rep)
    checked = api.post(
        "/api/v1/customers/duplicates",
        {"name": "Mobile Person", "phones": ["13800995678"]},
        content_type="application/json",
        headers=headers,
    )
    assert checked.status_code == 429
    assert [e["field"] for e in checked.json()["errors"]] == ["phones"]
    assert int(checked["Retry-After"]) > 0


def test_the_organisation_picker_and_the_export_keep_to_the_same_count(company, customer):
    _limit_used_up(company)
    client = Client()
    client.force_login(company.rep)
    picked = client.get("/customers/organizations/lookup/", {"organization_label": NEW_NUMBER})
    assert picked.status_code == 200  # htmx swaps only a successful answer
    assert "Too many searches for whole phone numbers" in picked.content.decode()
    exported = client.post("/customers/export/", {"format": "csv", "q": NEW_NUMBER})
    assert exported.status_code == 429
    assert "Too many searches for whole phone numbers" in exported.content.decode()
    api, headers = _token_client(company.rep)
    response = api.get("/api/v1/customers/export", {"q": NEW_NUMBER}, headers=headers)
    assert response.status_code == 429
    assert [e["field"] for e in response.json()["errors"]] == ["q"]
    # Names are exported as before.
    response = api.get("/api/v1/customers/export", {"q": "Mobile Person"}, headers=headers)
    assert response.status_code == 200


def test_a_refusal_until_another_day_names_the_day(company, customer):
    """The daily limit frees a place a day after the oldest lookup, usually tomorrow: the
    message gives that date with the time, not a time that reads as later today."""
    daily_limit, day = WHOLE_NUMBER_LIMITS[-1]
    assert day == dt.timedelta(days=1)
    looked_up_at = timezone.now() - dt.timedelta(hours=2)
    WholeNumberLookup.objects.bulk_create(
        WholeNumberLookup(user=company.rep, number_hash=f"{index:064x}", looked_up_at=looked_up_at)
        for index in range(daily_limit)
    )
    client = Client()
    client.force_login(company.rep)
    page = _page(client, NEW_NUMBER)
    assert page.status_code == 429
    free_again = timezone.localtime(looked_up_at + day)
    text = page.content.decode()
    if free_again.date() != timezone.localdate():
        assert free_again.strftime("%m/%d/%Y") in text
        client.cookies["django_language"] = "zh-hans"
        chinese = _page(client, NEW_NUMBER).content.decode()
        assert f"{free_again.year}年{free_again.month}月{free_again.day}日" in chinese
    else:  # within two hours of midnight: the place is free later today
        assert f"again at {free_again:%H:%M}" in text
