"""Changing one's own password in a real browser: from the user menu, a refusal that keeps the
page, then the change, still signed in, and the next sign-in with the new password."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from guanxi.audit.models import AuditEvent
from guanxi.conftest import PASSWORD
from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NEW = "Quiet-harbour-lantern-42"


def test_a_rep_changes_their_password_from_the_user_menu(page, company):
    sign_in(page, "rep")
    page.locator(".usermenu summary").click()
    page.locator(".usermenu-panel a", has_text="Change password").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/$"))
    expect(page.locator("#id_old_password")).to_be_focused()

    # A new password the validators refuse: the page says why, nothing changes.
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "12345678")
    page.fill("#id_new_password2", "12345678")
    page.click("main button[type=submit]")
    expect(page.locator(".field-error .errorlist").first).to_contain_text("too common")

    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW)
    page.fill("#id_new_password2", NEW)
    page.click("main button[type=submit]")
    expect(page.locator(".message-success")).to_have_text("Your password was changed.")
    # Still signed in: the customers page opens without asking.
    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/customers/$"))
    assert AuditEvent.objects.filter(object_type="user", object_id=company.rep.pk).count() == 1

    page.locator(".usermenu summary").click()
    page.locator(".usermenu-panel button", has_text="Sign out").click()
    page.goto("/accounts/login/")
    page.fill("#id_username", "rep")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator("main .errorlist")).to_be_visible()
    page.fill("#id_username", "rep")
    page.fill("#id_password", NEW)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/customers/$"))


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", {"forgot": "Forgot password?", "sent": "Check your email", "set": "Password set"}),
        ("zh-hans", {"forgot": "忘记密码？", "sent": "请查收邮件", "set": "密码已设置"}),
    ],
)
def test_a_rep_resets_a_forgotten_password_from_the_sign_in_page(
    page, live_server, company, language, words
):
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto("/accounts/login/")
    page.locator("main a", has_text=words["forgot"]).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))
    page.fill("#id_email", "rep@example.com")
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/sent/$"))
    expect(page.locator("main h1")).to_have_text(words["sent"])

    [message] = mail.outbox
    page.goto(_link(message))
    expect(page.locator("#id_new_password1")).to_be_focused()
    page.fill("#id_new_password1", NEW)
    page.fill("#id_new_password2", NEW)
    page.click("main button[type=submit]")
    expect(page.locator("main h1")).to_have_text(words["set"])
    page.goto("/accounts/login/")
    page.fill("#id_username", "rep")
    page.fill("#id_password", NEW)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/customers/$"))
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_the_change_page_reads_in_chinese(page, live_server, company):
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
    )
    sign_in(page, "rep")
    page.locator(".usermenu summary").click()
    page.locator(".usermenu-panel a", has_text="修改密码").click()
    page.fill("#id_old_password", "not-my-password")
    page.fill("#id_new_password1", NEW)
    page.fill("#id_new_password2", NEW)
    page.click("main button[type=submit]")
    expect(page.locator(".field-error .errorlist").first).to_be_visible()
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW)
    page.fill("#id_new_password2", NEW)
    page.click("main button[type=submit]")
    expect(page.locator(".message-success")).to_have_text("密码已修改。")
