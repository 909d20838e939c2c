"""The admin site's password pages and an account deactivated as the page is sent: no new
password for it, and nothing on record, as on Guanxi's own page for one's password."""

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


def test_a_password_set_for_someone_deactivated_meanwhile_is_refused(company, monkeypatch):
    (ann,) = signed_in_administrators("ann")
    _deactivated_just_before_the_lock(monkeypatch, company.rep.pk)

    response = ann.post(
        reverse("admin:auth_user_password_change", args=[company.rep.pk]),
        {"usable_password": "true", "password1": NEW, "password2": NEW},
        follow=True,
    )

    assert response.redirect_chain[0][0] == reverse(
        "admin:accounts_user_change", args=[company.rep.pk]
    )
    assert [str(message) for message in response.context["messages"]] == [
        "rep is no longer active: their password was not changed."
    ]
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.check_password(PASSWORD) and not rep.is_active
    assert audit_events("user", rep.pk) == []
