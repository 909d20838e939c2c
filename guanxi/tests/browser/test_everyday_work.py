"""A salesperson's everyday work in a real browser: sign in, find a customer, add one, log a
call, read the 360 page, switch the interface to Chinese, and use it on a phone."""

import re

import pytest
from playwright.sync_api import expect

from guanxi.conftest import PASSWORD
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/customers/$"))


def test_sign_in_shows_my_customers_only(page, company):
    sign_in(page, "rep_b")
    expect(page.locator("#customer-table")).to_contain_text("Team B Customer")
    expect(page.locator("#customer-table")).not_to_contain_text("Rep Customer")


def test_create_a_customer_and_land_on_the_360_page(page, company):
    sign_in(page, "rep")
    page.get_by_role("link", name="New customer").click()
    page.fill("#id_name", "王芳")
    page.select_option("#id_kind", "prospect")
    page.fill("#id_phone_number_0", "139 0000 1111")
    page.get_by_role("button", name="Add a phone").click()
    page.fill("#id_phone_number_1", "010-6234 5678")
    page.fill("#id_email_address_0", "wang.fang@example.com")
    page.fill("#id_tags", "VIP, 展会2026")
    page.get_by_role("button", name="Create customer").click()

    expect(page.locator("h1")).to_have_text("王芳")
    expect(page.locator(".message-success")).to_contain_text("created")
    contact = page.locator("#contact-card")
    expect(contact).to_contain_text("+86 139 **** 1111")
    expect(contact).to_contain_text("wang.fang@example.com")
    expect(page.locator("#history")).to_contain_text("created")
    customer = Customer.objects.get(name="王芳")
    assert customer.phones.count() == 2 and customer.owner == company.rep


def test_form_errors_are_shown_beside_the_fields(page, company):
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_phone_number_0", "12345")
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator(".message-error")).to_contain_text("Please correct")
    expect(page.locator("#phone-rows")).to_contain_text("is not a valid phone number")
    expect(page.locator("#id_phone_number_0")).to_have_value("12345")
    assert (
        not Customer.objects.filter(owner=company.rep).exclude(pk=company.rep_customer.pk).exists()
    )


def test_log_a_call_and_see_it_on_the_timeline(page, company):
    sign_in(page, "rep")
    page.goto(f"/customers/{company.rep_customer.pk}/")
    page.select_option("#id_channel", "phone")
    page.select_option("#id_direction", "inbound")
    page.fill("#id_subject", "客户来电询价")
    page.fill("#id_notes", "需要 20 台，下周报价")
    page.get_by_role("button", name="Log contact").click()
    expect(page.locator("#timeline")).to_contain_text("客户来电询价")
    expect(page.locator("#log-contact")).to_contain_text("Logged")
    expect(page.locator("#id_subject")).to_have_value("")
    assert Interaction.objects.get(customer=company.rep_customer).direction == "inbound"


def test_logging_a_contact_updates_the_last_contact_on_the_profile(page, company):
    # The profile beside the form said "never" (or the previous contact) until a reload, as if
    # the contact just logged had not counted.
    sign_in(page, "rep")
    page.goto(f"/customers/{company.rep_customer.pk}/")
    last_contact = page.locator("dt:text-is('Last contact') + dd")
    expect(last_contact).to_have_text("never")
    page.select_option("#id_channel", "visit")
    page.fill("#id_occurred_at", "2026-01-05T10:30")
    page.fill("#id_subject", "拜访客户")
    page.get_by_role("button", name="Log contact").click()
    expect(page.locator("#log-contact")).to_contain_text("Logged")
    expect(last_contact).to_have_text("2026-01-05 10:30")


def test_search_as_you_type_from_the_keyboard(page, company):
    customer_create(actor=company.rep, data={"name": "赵敏", "phones": ["13812345678"]})
    sign_in(page, "rep")
    page.keyboard.press("/")
    expect(page.locator("#global-q")).to_be_focused()
    page.locator("#id_q").fill("zhaomin")
    expect(page.locator("#customer-table")).to_contain_text("赵敏")
    expect(page.locator("#customer-table")).not_to_contain_text("Teammate Customer")
    page.locator("#id_q").fill("5678")
    expect(page.locator("#customer-table")).to_contain_text("赵敏")
    expect(page).to_have_url(re.compile(r"q=5678"))
    page.locator("#id_q").fill("no-such-customer")
    expect(page.locator("#results")).to_contain_text("No customers match")


def test_manager_reveals_full_numbers_and_it_is_recorded(page, company):
    customer = customer_create(actor=company.rep, data={"name": "李娜", "phones": ["13900001111"]})
    sign_in(page, "manager")
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("#contact-card")).to_contain_text("+86 139 **** 1111")
    page.get_by_role("button", name="Show full numbers").click()
    expect(page.locator("#revealed")).to_contain_text("+86 139 0000 1111")
    assert customer.pk in set(
        __import__("guanxi.audit.models", fromlist=["AuditEvent"])
        .AuditEvent.objects.filter(action="reveal")
        .values_list("customer_id", flat=True)
    )


def test_switch_the_interface_to_chinese_and_back(page, company):
    sign_in(page, "rep")
    page.locator(".langswitch button[value='zh-hans']").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".mainnav")).to_contain_text("客户")
    expect(page.locator("h1")).to_have_text("客户")
    page.goto(f"/customers/{company.rep_customer.pk}/")
    expect(page.locator("#log-contact")).to_contain_text("记录联系")
    page.locator(".langswitch button[value='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#log-contact")).to_contain_text("Log a contact")


def test_readable_at_a_phone_width(browser, live_server, company):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, "admin")
        for path in (
            "/customers/",
            f"/customers/{company.rep_customer.pk}/",
            "/customers/new/",
            "/duplicates/",
            "/imports/new/",
        ):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, (path, overflow)
    finally:
        context.close()


def test_sign_out_is_reachable_on_a_phone(browser, live_server, company):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, "manager")
        page.locator(".usermenu summary").click()
        sign_out = page.locator(".usermenu-panel button", has_text="Sign out")
        expect(sign_out).to_be_visible()
        panel = page.locator(".usermenu-panel").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390, panel
        sign_out.click()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
    finally:
        context.close()


def test_after_search_as_you_type_the_list_offers_clear_and_keeps_the_search_in_chinese(
    page, company
):
    sign_in(page, "rep")
    filters = page.locator("#customer-filters")
    expect(filters.get_by_role("link", name="Clear")).to_have_count(0)
    page.fill("#id_q", "Rep")
    expect(page).to_have_url(re.compile(r"q=Rep"))
    expect(page.locator("#customer-table")).not_to_contain_text("Teammate Customer")
    expect(filters.get_by_role("link", name="Clear")).to_be_visible()

    page.locator(".lang-button[value='zh-hans']").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"q=Rep"))
    expect(page.locator("#id_q")).to_have_value("Rep")
    expect(page.locator("#customer-table")).not_to_contain_text("Teammate Customer")
    page.locator(".lang-button[value='en']").click()  # back to English for the tests after this one
    expect(page.locator("html")).to_have_attribute("lang", "en")
