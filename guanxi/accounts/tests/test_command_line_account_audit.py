"""Accounts changed outside the users' admin pages are on record as changes made there are:
an administrator added with ``createsuperuser`` (or a script calling ``create_superuser``), a
password set with ``changepassword`` or by someone on their own password page, and the demo
staff with their permissions. Never the password nor its hash."""

from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.urls import reverse

from guanxi.accounts.management.commands import changepassword
from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.testing.admin_forms import audit_events
from guanxi.demo.company import ensure_company

pytestmark = pytest.mark.django_db

PASSWORD = "Tr0ub4dor&3-horse"


def test_an_administrator_added_by_createsuperuser_is_recorded_without_the_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    call_command(
        "createsuperuser", "--noinput", username="root", email="root@example.com", verbosity=0
    )

    root = User.objects.get(username="root")
    assert root.check_password(PASSWORD) and root.role == Role.ADMIN
    [event] = audit_events("user", root.pk)
    assert (event.actor, event.action, event.summary, event.via) == (None, "create", "root", "cli")
    assert event.changes["is_superuser"] == {"before": None, "after": True}
    assert event.changes["is_staff"] == {"before": None, "after": True}
    assert event.changes["role"] == {"before": None, "after": Role.ADMIN}
    assert event.changes["email"] == {"before": None, "after": "root@example.com"}
    written = str(event.changes)
    assert PASSWORD not in written and root.password not in written


def test_changepassword_is_guanxis():
    assert get_commands()["changepassword"] == "guanxi.accounts"


def _changepassword(username: str, *typed: str) -> None:
    with mock.patch.object(changepassword.Command, "_get_pass", side_effect=typed):
        call_command("changepassword", username, stdout=mock.Mock())


def test_a_password_changed_by_changepassword_is_recorded_without_it(company):
    _changepassword("rep", PASSWORD, PASSWORD)

    company.rep.refresh_from_db()
    assert company.rep.check_password(PASSWORD)
    [event] = audit_events("user", company.rep.pk)
    assert (event.actor, event.action, event.summary, event.via) == (None, "update", "rep", "cli")
    assert event.changes == {"password": {"before": "set", "after": "changed"}}
    assert PASSWORD not in str(event.changes) and company.rep.password not in str(event.changes)


def test_changepassword_puts_back_nothing_changed_while_the_password_was_typed(company):
    def typed(prompt="Password: "):
        # An administrator deactivates the rep and makes them an analyst meanwhile.
        User.objects.filter(pk=company.rep.pk).update(role=Role.ANALYST, is_active=False)
        return PASSWORD

    with mock.patch.object(changepassword.Command, "_get_pass", side_effect=typed):
        call_command("changepassword", "rep", stdout=mock.Mock())

    company.rep.refresh_from_db()
    assert company.rep.check_password(PASSWORD)
    assert (company.rep.role, company.rep.is_active) == (Role.ANALYST, False)


def test_changepassword_refusing_the_password_writes_nothing(company):
    with pytest.raises(CommandError, match="after 3 attempts"):
        _changepassword("rep", *["x", "y"] * 3)
    assert audit_events("user", company.rep.pk) == []
    with pytest.raises(CommandError, match="does not exist"):
        _changepassword("nobody", PASSWORD, PASSWORD)


def test_someone_changing_their_own_password_is_recorded_without_it(client, company):
    admin = company.admin
    admin.set_password("old-Secret-42")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)

    response = client.post(
        reverse("admin:password_change"),
        {"old_password": "old-Secret-42", "new_password1": PASSWORD, "new_password2": PASSWORD},
    )

    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)
    [event] = audit_events("user", admin.pk)
    assert (event.actor, event.action, event.summary) == (admin, "update", admin.username)
    assert event.changes == {"password": {"before": "set", "after": "changed"}}
    assert PASSWORD not in str(event.changes) and admin.password not in str(event.changes)


def test_a_wrong_old_password_on_ones_own_page_writes_nothing(client, company):
    company.admin.is_staff = True
    company.admin.save()
    client.force_login(company.admin)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": "wrong", "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert response.status_code == 200
    assert audit_events("user", company.admin.pk) == []


def test_the_demo_staff_and_the_managers_permission_are_on_record(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    ensure_company(customers=10)

    admin = User.objects.get(username="admin")
    [added] = audit_events("user", admin.pk)
    assert (added.actor, added.action) == (None, "create")
    assert added.changes["is_superuser"] == {"before": None, "after": True}
    assert admin.password not in str(added.changes)
    manager = User.objects.get(username="manager")
    [added] = audit_events("user", manager.pk)
    assert added.changes["user_permissions"] == {
        "before": None,
        "after": ["accounts.view_sensitive_data"],
    }
    assert User.objects.count() == len({e.object_id for e in _user_events()})

    # Run again, the accounts are there: the permission taken away meanwhile is given back,
    # and that is on record; nothing else is.
    manager.user_permissions.remove(
        Permission.objects.get(codename="view_sensitive_data", content_type__app_label="accounts")
    )
    before = len(_user_events())
    ensure_company(customers=10)
    [given] = _user_events()[before:]
    assert (given.object_id, given.action) == (manager.pk, "update")
    assert given.changes == {
        "user_permissions": {"before": [], "after": ["accounts.view_sensitive_data"]}
    }


def _user_events():
    from guanxi.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(object_type="user").order_by("id"))


def test_ones_own_password_page_puts_back_nothing_changed_since_the_request_began(
    client, company, monkeypatch
):
    from guanxi.web.admin_site import GuanxiAdminSite

    admin = company.admin
    admin.set_password("old-Secret-42")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    checked = GuanxiAdminSite.has_permission

    def has_permission(site, request):
        allowed = checked(site, request)  # reads the user asking
        # Another administrator makes them an analyst in the meantime.
        User.objects.filter(pk=admin.pk).update(role=Role.ANALYST)
        return allowed

    monkeypatch.setattr(GuanxiAdminSite, "has_permission", has_permission)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": "old-Secret-42", "new_password1": PASSWORD, "new_password2": PASSWORD},
    )

    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD) and admin.role == Role.ANALYST


def test_changepassword_for_someone_deleted_while_it_was_typed_names_them(company):
    def typed(prompt="Password: "):
        User.objects.filter(pk=company.analyst.pk).delete()
        return PASSWORD

    with (
        mock.patch.object(changepassword.Command, "_get_pass", side_effect=typed),
        pytest.raises(CommandError, match="user 'analyst' does not exist"),
    ):
        call_command("changepassword", "analyst", stdout=mock.Mock())
    assert not User.objects.filter(username="analyst").exists()


def test_changepassword_offers_no_database_it_would_not_use(company):
    # Guanxi's command writes through the services, on the one database the site runs on;
    # an option naming another would be silently ignored.
    with pytest.raises(TypeError, match="database"):
        call_command("changepassword", "rep", database="default", stdout=mock.Mock())
    with pytest.raises(CommandError, match="unrecognized arguments: --database"):
        call_command("changepassword", "rep", "--database=default", stdout=mock.Mock())
    assert not company.rep.__class__.objects.get(pk=company.rep.pk).check_password(PASSWORD)
