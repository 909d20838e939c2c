"""The customer pages with JavaScript turned off: every link and form still does its work as
plain HTTP (htmx only makes it quicker)."""

import re

import pytest
from playwright.sync_api import expect

from guanxi.core.testing.factories import customer_with_a_long_past
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def nojs_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_earlier_contacts_and_older_changes_without_javascript(nojs_page, company):
    customer = customer_with_a_long_past(company)
    page = nojs_page
    sign_in(page, "rep")
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("#timeline")).not_to_contain_text("call 24")
    page.get_by_role("link", name="Show earlier contacts").click()
    expect(page.locator("#timeline")).to_contain_text("call 24")
    page.get_by_role("link", name="Back to the customer").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))

    expect(page.locator("#history")).not_to_contain_text("created")
    page.get_by_role("link", name="Show older changes").click()
    expect(page.locator("#history")).to_contain_text("created")
    expect(page.locator("#history")).to_contain_text("industry 00")


def test_add_a_phone_email_and_address_without_javascript(nojs_page, company):
    customer = customer_create(actor=company.rep, data={"name": "王芳", "phones": ["13900001111"]})
    page = nojs_page
    sign_in(page, "rep")
    page.goto(f"/customers/{customer.pk}/edit/")
    # The "Add" buttons need JavaScript, so they are not offered; an empty row is.
    expect(page.get_by_role("button", name="Add a phone")).to_be_hidden()
    expect(page.locator("input[name=phone_number]")).to_have_count(2)
    page.fill("#id_phone_number_1", "010-6234 5678")
    page.locator("#address-rows input[name=address_city]").last.fill("上海")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".message-success")).to_contain_text("Changes saved")
    customer.refresh_from_db()
    assert customer.phones.count() == 2
    assert customer.addresses.get().city == "上海"
    assert not customer.emails.exists()


def test_link_a_person_to_an_organisation_without_javascript(nojs_page, company):
    org = customer_create(
        actor=company.rep, data={"name": "天津思源科技有限公司", "party_type": "organization"}
    )
    page = nojs_page
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_name", "周杰")
    page.fill("#id_organization_label", "天津思源")  # not its whole name
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator(".lookup")).to_contain_text("No organisation you can see is called")
    expect(page.locator("#id_organization_label")).to_have_value("天津思源")
    assert not Customer.objects.filter(name="周杰").exists()

    page.fill("#id_organization_label", "天津思源科技有限公司")
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator("h1")).to_have_text("周杰")
    assert Customer.objects.get(name="周杰").organization_id == org.pk


def test_a_refused_new_customer_shows_its_duplicate_warning_without_javascript(nojs_page, company):
    customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13800138000"]})
    page = nojs_page
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_name", "张伟")
    page.fill("#id_phone_number_0", "138 0013 8000")
    page.fill("#id_email_address_0", "zhang@@example")
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    # The form sent back says what the page says while typing with JavaScript: that a customer
    # with that name and mobile is there already.
    expect(page.locator("#duplicate-hints")).to_contain_text("Is this one of these customers?")
    expect(page.locator("#duplicate-hints")).to_contain_text("same mobile phone")
    assert Customer.objects.filter(name="张伟").count() == 1
