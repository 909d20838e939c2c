"""Phone and ID numbers typed into a customer's own notes, as the customer page, the edit form
and the API show them: masked as the card masks them to whoever sees the card masked, as
stored to whoever may see numbers in full. Notes sent back as read keep the stored numbers;
changed around a number shown masked, they are refused naming the notes; rewritten without
those numbers, they are taken."""

import html
import re

import pytest
from django.test import Client

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete

from .phone_edits import api_headers, api_patch, post_edit_form

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
NOTES = f"身份证 {ID_NUMBER}，手机 138 9041 7762。\n周三下午回电，订单 SO-2026-000123"
AS_READ = "身份证 1****************X，手机 138 **** 7762。\n周三下午回电，订单 SO-2026-000123"
FULL = (ID_NUMBER, "138 9041 7762", "9041")


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.rep,
        data={"name": "王芳", "phones": ["139 5170 2846"], "notes": NOTES},
    )


def _full_in(text: str) -> list[str]:
    return [number for number in FULL if number in text]


def _form_notes(page: str) -> str:
    return html.unescape(re.search(r'<textarea name="notes"[^>]*>(.*?)</textarea>', page, re.S)[1])


def _edit(client, customer, company, notes: str):
    return post_edit_form(
        client,
        customer,
        owner=company.rep,
        phone_number=["+86 139 **** 2846"],
        phone_label=["mobile"],
        notes=notes,
    )


def _notes_events(customer) -> list[dict]:
    return [
        e.changes["notes"]
        for e in AuditEvent.objects.filter(customer_id=customer.pk, action="update")
        if "notes" in e.changes
    ]


def test_the_customer_page_shows_the_numbers_in_the_notes_as_the_reader_sees_the_card(
    client, company, customer
):
    assert not company.rep.may_view_sensitive()
    client.force_login(company.rep)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert _full_in(page) == []
    assert html.escape(AS_READ) in page
    client.force_login(company.manager)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert html.escape(NOTES) in page


def test_the_api_reads_the_notes_as_the_page_shows_them(company, customer):
    for user, notes in ((company.rep, AS_READ), (company.manager, NOTES)):
        read = Client().get(f"/api/v1/customers/{customer.pk}", **api_headers(user))
        assert read.status_code == 200, read.content
        assert read.json()["notes"] == notes


def test_the_edit_form_shows_the_notes_as_the_page_does(client, company, customer):
    client.force_login(company.rep)
    page = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    assert _form_notes(page) == AS_READ
    assert _full_in(page) == []
    client.force_login(company.manager)
    page = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    assert _form_notes(page) == NOTES


def test_notes_saved_back_from_the_form_as_read_keep_the_numbers(client, company, customer):
    client.force_login(company.rep)
    page = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    # A browser sends a text area's lines ending in CRLF.
    response = _edit(client, customer, company, _form_notes(page).replace("\n", "\r\n"))
    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert customer.notes == NOTES
    assert _notes_events(customer) == []


def test_notes_saved_back_through_the_api_as_read_keep_the_numbers(company, customer):
    headers = api_headers(company.rep)
    client = Client()
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    answer = api_patch(
        client,
        customer,
        {"version": read["version"], "notes": read["notes"], "industry": "Retail"},
        headers,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["notes"] == AS_READ
    customer.refresh_from_db()
    assert (customer.notes, customer.industry) == (NOTES, "Retail")


def test_notes_changed_around_a_masked_number_are_refused_naming_the_notes(
    client, company, customer
):
    headers = api_headers(company.rep)
    answer = api_patch(
        Client(),
        customer,
        {"version": customer.version, "notes": AS_READ + "\n已寄样品", "name": ""},
        headers,
    )
    assert answer.status_code == 422, answer.content
    # Refused with whatever else is wrong, beside each field.
    assert sorted(e["field"] for e in answer.json()["errors"]) == ["name", "notes"]
    client.force_login(company.rep)
    response = _edit(client, customer, company, AS_READ.replace("周三", "周四"))
    assert response.status_code == 422
    page = response.content.decode()
    notes_field = page.partition('for="id_notes"')[2].partition("</div>")[0]
    assert "saving it would overwrite them with the stars" in notes_field
    # The form comes back as the rep sent it, the numbers still masked.
    assert _full_in(page) == []
    customer.refresh_from_db()
    assert customer.notes == NOTES
    assert _notes_events(customer) == []


def test_notes_rewritten_without_the_masked_numbers_are_taken(client, company, customer):
    answer = api_patch(
        Client(),
        customer,
        {"version": customer.version, "notes": "周三下午回电"},
        api_headers(company.rep),
    )
    assert answer.status_code == 200, answer.content
    customer.refresh_from_db()
    assert customer.notes == "周三下午回电"
    client.force_login(company.rep)
    response = _edit(client, customer, company, "已寄样品\r\n新号码 137 6620 9153")
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.notes == "已寄样品\r\n新号码 137 6620 9153"


def test_whoever_may_see_numbers_edits_the_notes_as_stored(client, company, customer):
    client.force_login(company.manager)
    page = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    notes = (_form_notes(page) + "\n已寄样品").replace("\n", "\r\n")
    response = _edit(client, customer, company, notes)
    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert customer.notes == notes


def test_the_history_of_the_notes_shows_the_numbers_masked(client, company, customer):
    answer = api_patch(
        Client(),
        customer,
        {"version": customer.version, "notes": "周三下午回电"},
        api_headers(company.manager),
    )
    assert answer.status_code == 200, answer.content
    history = Client().get(f"/api/v1/customers/{customer.pk}/history", **api_headers(company.rep))
    assert history.status_code == 200
    changes = [item["changes"]["notes"] for item in history.json()["items"]]
    assert changes[0] == {"before": AS_READ, "after": "周三下午回电"}
    assert _full_in(repr(history.json())) == []
    client.force_login(company.rep)
    page = client.get(f"/customers/{customer.pk}/history/").content.decode()
    assert _full_in(page) == []


def test_the_recycle_bin_shows_the_notes_masked_even_to_an_administrator(client, company, customer):
    customer_delete(actor=company.admin, customer_id=customer.pk)
    client.force_login(company.admin)
    page = client.get(f"/customers/recycle-bin/{customer.pk}/").content.decode()
    assert html.escape(AS_READ) in page
    read = Client().get(f"/api/v1/customers/deleted/{customer.pk}", **api_headers(company.admin))
    assert read.json()["notes"] == AS_READ
    assert Customer.objects.get(pk=customer.pk).notes == NOTES


def test_a_merge_fills_empty_notes_with_the_stored_numbers(company, customer):
    """A merge by someone who reads the notes masked copies them as stored, not as read."""
    from guanxi.dedup.services import customers_merge

    survivor = customer_create(actor=company.rep, data={"name": "王芳"})
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=customer.pk)
    survivor.refresh_from_db()
    assert survivor.notes == NOTES


def test_notes_changed_right_beside_a_masked_number_are_refused(company):
    """Chinese puts no blank between a number and the words around it: an edit to those words
    still keeps the stars of the number, and is refused, not saved over it."""
    stored = f"身份证{ID_NUMBER}，手机号码待补"
    customer = customer_create(actor=company.rep, data={"name": "王芳", "notes": stored})
    answer = api_patch(
        Client(),
        customer,
        {"version": customer.version, "notes": "身份证1****************X，电话待补"},
        api_headers(company.rep),
    )
    assert answer.status_code == 422, answer.content
    assert [e["field"] for e in answer.json()["errors"]] == ["notes"]
    customer.refresh_from_db()
    assert customer.notes == stored
