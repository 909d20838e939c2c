"""Filling in a customer with the keyboard alone: the organisation suggestions and the rows of
phones are worked with the keys, and the cursor never falls back to the top of the page."""

import re

import pytest
from playwright.sync_api import expect

from guanxi.customers.services import customer_create
from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_pick_an_organisation_with_the_arrow_keys_and_go_on_typing(page, company):
    first = customer_create(
        actor=company.rep, data={"name": "宁波鑫源贸易集团有限公司", "party_type": "organization"}
    )
    second = customer_create(
        actor=company.rep, data={"name": "苏州鑫源建材集团有限公司", "party_type": "organization"}
    )
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.select_option("#id_party_type", "person")
    page.fill("#id_name", "李明")
    box = page.locator("#id_organization_label")
    box.focus()
    page.keyboard.type("xinyuan")
    suggestions = page.locator(".lookup-results button")
    expect(suggestions).to_have_count(2)

    # Down goes into the suggestions and along them, up comes back towards the box.
    page.keyboard.press("ArrowDown")
    expect(suggestions.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(suggestions.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()

    # Escape closes the suggestions and leaves the cursor in the box.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect(suggestions).to_have_count(0)
    expect(box).to_be_focused()

    # Enter on a suggestion picks it, and the cursor stays in the box (it went to the top of the
    # page, so the next Tab started over from the menu).
    page.keyboard.type(" ")
    page.keyboard.press("Backspace")
    expect(suggestions).to_have_count(2)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    picked = suggestions.nth(1).get_attribute("data-pick-id")
    page.keyboard.press("Enter")
    expect(box).to_be_focused()
    expect(page.locator("input[name=organization_id]")).to_have_value(picked)
    assert int(picked) in {first.pk, second.pk}
    page.keyboard.press("Tab")
    expect(page.locator("#id_phone_number_0")).to_be_focused()


def test_removing_a_phone_row_leaves_the_cursor_in_the_rows(page, company):
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_phone_number_0", "139 0000 1111")
    page.get_by_role("button", name="Add a phone").click()
    expect(page.locator("#id_phone_number_1")).to_be_focused()
    page.keyboard.type("010-6234 5678")
    remove = page.locator("#phone-rows [data-row]").nth(1).locator("[data-remove-row]")
    remove.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#phone-rows [data-row]")).to_have_count(1)
    # The row before the removed one takes the cursor, instead of the top of the page.
    expect(page.locator("#id_phone_number_0")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/customers/new/$"))
