"""Everyone's own password: changed on their page when they know it, reset by email when they
forgot it, each on record (never with the password or its hash)."""

import json
import re
import time
from contextlib import contextmanager

import pytest
from django.core import mail
from django.test import override_settings
from django_tasks import default_task_backend

from guanxi.accounts import reset_limits, views
from guanxi.accounts.models import User
from guanxi.accounts.tasks import send_password_reset_emails
from guanxi.audit.models import AuditEvent
from guanxi.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "Quiet-harbour-lantern-42"


def _password_rows(user):
    return list(AuditEvent.objects.filter(object_type="user", object_id=user.pk))


def _assert_holds_no_hash(event, *hashes):
    stored = json.dumps(
        [event.summary, event.summary_message, event.summary_params, event.changes],
        ensure_ascii=False,
    )
    for secret in (*hashes, NEW, PASSWORD):
        assert secret not in stored
    assert "md5$" not in stored and "pbkdf2" not in stored


# --- changing one's own password ---------------------------------------------------------------


def _change(client, old=PASSWORD, new1=NEW, new2=NEW):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new1, "new_password2": new2},
    )


def test_a_rep_changes_their_password_stays_signed_in_and_it_is_on_record(client, company):
    rep = company.rep
    old_hash = rep.password
    client.login(username="rep", password=PASSWORD)
    assert client.get("/accounts/password/").status_code == 200
    response = _change(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    rep.refresh_from_db()
    assert rep.check_password(NEW)
    # Still signed in on this browser.
    assert "Your password was changed." in client.get("/accounts/password/").content.decode()
    assert client.get("/customers/").status_code == 200
    [event] = _password_rows(rep)
    assert event.actor_id == rep.pk and event.action == AuditEvent.Action.UPDATE
    assert event.summary == "rep" and event.via == "web"
    assert event.changes == {"password": {"before": "set", "after": "changed"}}
    _assert_holds_no_hash(event, old_hash, rep.password)


def test_the_record_names_the_address_of_the_client_behind_a_trusted_proxy(
    client, company, settings
):
    settings.GUANXI_TRUSTED_PROXIES = 1
    client.force_login(company.rep)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.7, 198.51.100.4",
    )
    assert response.status_code == 302
    [event] = _password_rows(company.rep)
    assert event.remote_addr == "198.51.100.4"


def test_every_role_has_the_page_and_the_user_menu_links_to_it(client, company):
    for user in company.users.values():
        client.force_login(user)
        page = client.get("/customers/" if user.username != "analyst" else "/analytics/")
        assert 'href="/accounts/password/"' in page.content.decode(), user.username
        assert client.get("/accounts/password/").status_code == 200, user.username


def test_signed_out_the_page_sends_to_sign_in(client, company):
    response = client.get("/accounts/password/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_wrong_old_password_changes_nothing(client, company):
    client.force_login(company.rep)
    response = _change(client, old="not-my-password")
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    company.rep.refresh_from_db()
    assert company.rep.check_password(PASSWORD)
    assert _password_rows(company.rep) == []


@pytest.mark.parametrize(
    ("new1", "new2", "field"),
    [
        ("12345678", "12345678", "new_password2"),  # common, all digits
        ("short1!", "short1!", "new_password2"),  # under eight characters
        (NEW, NEW + "x", "new_password2"),  # the two differ
    ],
)
def test_a_password_the_validators_refuse_changes_nothing(client, company, new1, new2, field):
    client.force_login(company.rep)
    response = _change(client, new1=new1, new2=new2)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="errorlist' in response.content.decode()
    company.rep.refresh_from_db()
    assert company.rep.check_password(PASSWORD)
    assert _password_rows(company.rep) == []


def _deactivated_just_before_the_lock(monkeypatch, user, **fields):
    """The account changed by someone else after the request read it, before the page locks it."""
    real = views.user_password_change_recorded

    @contextmanager
    def late(**kwargs):
        User.objects.filter(pk=user.pk).update(**fields)
        with real(**kwargs) as locked:
            yield locked

    monkeypatch.setattr(views, "user_password_change_recorded", late)


def test_an_account_deactivated_meanwhile_keeps_its_password_and_is_signed_out(
    client, company, monkeypatch
):
    client.force_login(company.rep)
    _deactivated_just_before_the_lock(monkeypatch, company.rep, is_active=False)
    response = _change(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password(PASSWORD) and not rep.is_active
    assert _password_rows(rep) == []
    assert "_auth_user_id" not in client.session
    page = client.get("/accounts/login/").content.decode()
    assert "Your account is no longer active: its password was not changed." in page


def test_the_page_puts_back_nothing_an_administrator_changed_meanwhile(
    client, company, monkeypatch
):
    client.force_login(company.rep)
    _deactivated_just_before_the_lock(monkeypatch, company.rep, role="analyst", version=7)
    assert _change(client).status_code == 302
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password(NEW) and (rep.role, rep.version) == ("analyst", 7)


# --- a forgotten password, reset by email ------------------------------------------------------


def _ask(client, email):
    return client.post("/accounts/password/reset/", {"email": email})


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)


def test_the_sign_in_page_offers_a_reset(client, company):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in page and "Forgot password?" in page


def test_a_reset_by_email_sets_the_password_and_is_on_record_as_the_users_own(
    client, company, settings
):
    settings.GUANXI_BASE_URL = "https://crm.example.com/"
    settings.ALLOWED_HOSTS = ["*"]  # a site that takes any Host header
    rep = company.rep
    old_hash = rep.password
    # The address in any case; the link goes to the site's address, not the one asked.
    response = client.post(
        "/accounts/password/reset/", {"email": "REP@example.com"}, HTTP_HOST="evil.example"
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    [message] = mail.outbox
    assert message.to == ["rep@example.com"]
    link = _link(message)
    assert f"https://crm.example.com{link}" in message.body and "evil" not in message.body
    assert PASSWORD not in message.body and old_hash not in message.body
    form = client.get(link)
    assert form.status_code == 302  # to the same page without the token in the address
    page = client.get(form["Location"])
    assert page.status_code == 200 and page.context["validlink"]
    done = client.post(form["Location"], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    assert client.get(done["Location"]).status_code == 200
    rep.refresh_from_db()
    assert rep.check_password(NEW)
    [event] = _password_rows(rep)
    assert event.actor_id == rep.pk and event.action == AuditEvent.Action.UPDATE
    assert event.summary == "rep: password reset by email"
    assert event.summary_message == "%(user)s: password reset by email"
    assert event.changes == {"password": {"before": "set", "after": "changed"}}
    _assert_holds_no_hash(event, old_hash, rep.password)
    assert client.login(username="rep", password=NEW)


def test_the_link_works_once(client, company):
    _ask(client, "rep@example.com")
    link = _link(mail.outbox[0])
    form = client.get(link)["Location"]
    assert client.post(form, {"new_password1": NEW, "new_password2": NEW}).status_code == 302
    # The emailed link again, in this browser and another.
    again = client.get(link)
    assert again.status_code == 200 and not again.context["validlink"]
    assert "This link no longer works" in again.content.decode()
    other = client.__class__()
    assert not other.get(link).context["validlink"]
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password(NEW) and len(_password_rows(rep)) == 1


def test_a_link_used_meanwhile_in_another_tab_sets_nothing(client, company, monkeypatch):
    """Two posts of the set-password page with one link: the second, checked before the first
    committed, finds the link used once it has the row locked."""
    _ask(client, "rep@example.com")
    form = client.get(_link(mail.outbox[0]))["Location"]
    other = User.objects.get(pk=company.rep.pk)
    other.set_password("Set-in-the-other-tab-9")
    _deactivated_just_before_the_lock(monkeypatch, company.rep, password=other.password)
    response = client.post(form, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 200 and not response.context["validlink"]
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password("Set-in-the-other-tab-9")
    assert _password_rows(rep) == []


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, company):
    known = _ask(client, "rep@example.com")
    unknown = _ask(client, "nobody@example.com")
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert [m.to for m in mail.outbox] == [["rep@example.com"]]


def test_the_page_queues_every_address_alike_and_the_worker_sends_the_email(client, company):
    """The page sends nothing itself: with or without an account, the address is queued, so
    the answer takes as long for either and waits for no mail server."""
    User.objects.filter(pk=company.rep.pk).update(language="zh-hans")
    with override_settings(
        TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    ):
        client.cookies["django_language"] = "zh-hant"
        for address in ("rep@example.com", "nobody@example.com"):
            response = _ask(client, address)
            assert response["Location"] == "/accounts/password/reset/sent/", address
        queued = [(r.task.name, r.args, r.kwargs) for r in default_task_backend.results]
        assert mail.outbox == []
    assert queued == [
        (
            "send_password_reset_emails",
            [],
            {"email": address, "language": "zh-hant"},
        )
        for address in ("rep@example.com", "nobody@example.com")
    ]
    for _name, _args, kwargs in queued:
        send_password_reset_emails.call(**kwargs)
    # The rep's own language; an address without an account gets nothing.
    [message] = mail.outbox
    assert message.to == ["rep@example.com"] and "新密码" in message.subject
    form = client.get(_link(message))["Location"]
    assert client.post(form, {"new_password1": NEW, "new_password2": NEW}).status_code == 302
    assert User.objects.get(pk=company.rep.pk).check_password(NEW)


def test_one_address_is_emailed_a_few_times_an_hour_whether_or_not_it_has_an_account(
    client, company
):
    limit = reset_limits.PER_ADDRESS
    for address in ("rep@example.com", "nobody@example.com"):
        for _ in range(limit):
            assert _ask(client, address).status_code == 302
        # Any spelling of it counts, and the refusal is the same with an account or without.
        refused = _ask(client, address.upper())
        assert refused.status_code == 429
        assert refused.context["form"].errors["email"] == [
            f"A link to set a password was asked for this address {limit} times in the last "
            "hour. Use the link already emailed, or try again later."
        ]
    assert [m.to for m in mail.outbox] == [["rep@example.com"]] * limit
    # Another address is not held up.
    assert _ask(client, "teammate@example.com").status_code == 302
    assert len(mail.outbox) == limit + 1


def test_one_client_asks_for_a_limited_number_of_links_an_hour(client, company):
    limit = reset_limits.PER_CLIENT
    for n in range(limit):
        assert _ask(client, f"someone{n}@example.com").status_code == 302
    refused = _ask(client, "rep@example.com")
    assert refused.status_code == 429
    assert "from your network" in refused.context["form"].errors["email"][0]
    assert mail.outbox == []
    # Another client still may, and the refused ask did not count for the address.
    for _ in range(reset_limits.PER_ADDRESS):
        response = client.post(
            "/accounts/password/reset/", {"email": "rep@example.com"}, REMOTE_ADDR="10.0.0.9"
        )
        assert response.status_code == 302
    assert len(mail.outbox) == reset_limits.PER_ADDRESS


def test_a_count_starts_again_after_its_hour(client, company, monkeypatch):
    for _ in range(reset_limits.PER_ADDRESS):
        _ask(client, "rep@example.com")
    assert _ask(client, "rep@example.com").status_code == 429
    # The hour made a second once the asks are counted, however long they took to answer.
    monkeypatch.setattr(reset_limits, "WINDOW_SECONDS", 1)
    time.sleep(1.1)
    assert _ask(client, "rep@example.com").status_code == 302


def test_an_inactive_account_gets_no_email_and_the_same_answer(client, company):
    User.objects.filter(pk=company.rep.pk).update(is_active=False)
    response = _ask(client, "rep@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_an_account_deactivated_after_the_email_cannot_use_the_link(client, company):
    _ask(client, "rep@example.com")
    link = _link(mail.outbox[0])
    form = client.get(link)["Location"]
    User.objects.filter(pk=company.rep.pk).update(is_active=False)
    assert not client.get(link).context["validlink"]
    response = client.post(form, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 200 and not response.context["validlink"]
    assert User.objects.get(pk=company.rep.pk).check_password(PASSWORD)
    assert _password_rows(company.rep) == []


def test_a_reset_password_the_validators_refuse_changes_nothing(client, company):
    _ask(client, "rep@example.com")
    form = client.get(_link(mail.outbox[0]))["Location"]
    response = client.post(form, {"new_password1": "rep", "new_password2": "rep"})
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    assert User.objects.get(pk=company.rep.pk).check_password(PASSWORD)
    assert _password_rows(company.rep) == []
    # The link still works for a password that passes.
    assert client.post(form, {"new_password1": NEW, "new_password2": NEW}).status_code == 302


def test_a_bad_address_is_refused_naming_the_field(client, company):
    for value in ("not an address", "", "a\x00b@example.com", "x" * 300 + "@example.com"):
        response = _ask(client, value)
        assert response.status_code == 200, value
        assert "email" in response.context["form"].errors, value
    assert mail.outbox == []


def test_a_broken_link_says_so(client, company):
    for link in ("/accounts/password/reset/xx/set-password/", "/accounts/password/reset/MQ/abc/"):
        response = client.get(link)
        assert response.status_code == 200 and not response.context["validlink"]


def test_the_email_is_in_the_users_language_whatever_the_page_is_in(client, company):
    User.objects.filter(pk=company.rep.pk).update(language="zh-hans")
    _ask(client, "rep@example.com")
    _ask(client, "teammate@example.com")  # chose none: the page's language, English
    rep_mail, teammate_mail = mail.outbox
    assert "新密码" in rep_mail.subject and "新密码" in rep_mail.body
    assert "Set a new password" in teammate_mail.subject
    assert "Someone asked to set a new password" in teammate_mail.body
    assert "\n" not in rep_mail.subject


def test_the_reset_pages_read_in_chinese(client, company):
    from guanxi.web.tests.test_pages_in_chinese import _english_left

    client.cookies["django_language"] = "zh-hans"
    pages = {
        "sign in": client.get("/accounts/login/"),
        "ask": client.get("/accounts/password/reset/"),
        "refused": _ask(client, "not an address"),
        "sent": client.get(_ask(client, "rep@example.com")["Location"]),
    }
    form = client.get(_link(mail.outbox[0]))["Location"]
    pages["set"] = client.get(form)
    pages["refused set"] = client.post(form, {"new_password1": "rep", "new_password2": "rep"})
    pages["done"] = client.get(
        client.post(form, {"new_password1": NEW, "new_password2": NEW})["Location"]
    )
    pages["used"] = client.get(form)
    for _ in range(reset_limits.PER_ADDRESS):
        _ask(client, "rep@example.com")
    pages["too often"] = _ask(client, "rep@example.com")
    assert {name: r.status_code for name, r in pages.items()} == {
        **dict.fromkeys(pages, 200),
        "too often": 429,
    }
    english = {
        name: left
        for name, response in pages.items()
        if (left := _english_left(response.content.decode(), ["rep@example.com"]))
    }
    assert not english, english
