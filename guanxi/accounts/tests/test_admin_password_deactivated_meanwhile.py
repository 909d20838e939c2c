"""The admin site's password pages and an account deactivated as the page is sent: one's own
page sets no new password for it and records nothing, as on Guanxi's own page for one's
password; an administrator setting someone else's password sets it, active or not."""

from contextlib import contextmanager

import pytest
from django.urls import reverse

from guanxi.accounts import services
from guanxi.accounts.models import User
from guanxi.conftest import PASSWORD
from guanxi.core.testing.admin_forms import audit_events, signed_in_administrators

pytestmark = pytest.mark.django_db

NEW = "Quiet-harbour-lantern-42"


def _deactivated_just_before_the_lock(monkeypatch, user_id: int) -> None:
    """The account deactivated by someone else after the request read it, before the page
    locks it."""
    real = services.user_password_change_recorded

    @contextmanager
    def late(**kwargs):
        User.objects.filter(pk=user_id).update(is_active=False)
        with real(**kwargs) as locked:
            yield locked

    monkeypatch.setattr(services, "user_password_change_recorded", late)


def test_ones_own_password_page_refuses_an_account_deactivated_meanwhile(monkeypatch):
    (ann,) = signed_in_administrators("ann")
    user = User.objects.get(username="ann")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    ann.force_login(user)
    _deactivated_just_before_the_lock(monkeypatch, user.pk)

    response = ann.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302 and response["Location"] == reverse("admin:login")
    user = User.objects.get(pk=user.pk)
    assert user.check_password(PASSWORD) and not user.is_active
    assert audit_events("user", user.pk) == []
    assert "_auth_user_id" not in ann.session
    page = ann.get(reverse("admin:login")).content.decode()
    assert "Your account is no longer active: its password was not changed." in page


def test_ones_own_password_page_still_changes_an_active_accounts_password():
    (ann,) = signed_in_administrators("ann")
    user = User.objects.get(username="ann")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    ann.force_login(user)

    response = ann.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).check_password(NEW)
    [event] = audit_events("user", user.pk)
    assert event.changes == {"password": {"before": "set", "after": "changed"}}


def test_a_password_set_for_someone_deactivated_meanwhile_is_set_and_recorded(company, monkeypatch):
    # Only one's own password is refused once deactivated: an administrator may set someone
    # else's whether they are active or not (before making them active again).
    (ann,) = signed_in_administrators("ann")
    _deactivated_just_before_the_lock(monkeypatch, company.rep.pk)

    response = ann.post(
        reverse("admin:auth_user_password_change", args=[company.rep.pk]),
        {"usable_password": "true", "password1": NEW, "password2": NEW},
    )

    assert response.status_code == 302
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password(NEW) and not rep.is_active
    [event] = audit_events("user", rep.pk)
    assert event.changes == {"password": {"before": "set", "after": "changed"}}


def test_an_administrator_sets_the_password_of_an_inactive_account(company):
    (ann,) = signed_in_administrators("ann")
    User.objects.filter(pk=company.rep.pk).update(is_active=False)
    page = reverse("admin:auth_user_password_change", args=[company.rep.pk])

    assert ann.get(page).status_code == 200
    response = ann.post(page, {"usable_password": "true", "password1": NEW, "password2": NEW})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[company.rep.pk])
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password(NEW) and not rep.is_active
    [event] = audit_events("user", rep.pk)
    assert event.actor.username == "ann"


def test_an_administrator_deactivated_meanwhile_sets_no_password_of_their_own_on_the_user_page(
    monkeypatch,
):
    (ann,) = signed_in_administrators("ann")
    user = User.objects.get(username="ann")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    ann.force_login(user)
    _deactivated_just_before_the_lock(monkeypatch, user.pk)

    response = ann.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"usable_password": "true", "password1": NEW, "password2": NEW},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[user.pk])
    user = User.objects.get(pk=user.pk)
    assert user.check_password(PASSWORD) and not user.is_active
    assert audit_events("user", user.pk) == []
