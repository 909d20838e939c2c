"""Who may see customer data is decided on the users' and groups' admin pages: staff and
superuser status, being active, the groups someone is in, the permissions given to them or to
a group (seeing ID and phone numbers in full, say), and who they are. Each save that changes
any of it writes one audit row naming the administrator, the user or group, and each field
before and after, in the transaction of the save; a save that changes nothing, or that is
refused as read before someone else's change, writes none."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from guanxi.accounts.admin import GroupAdmin, UserAdmin
from guanxi.accounts.models import User
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.admin_forms import (
    audit_events,
    change_form_data,
    refused_as_stale,
    signed_in_administrators,
)

pytestmark = pytest.mark.django_db

SENSITIVE = "accounts.view_sensitive_data"


@pytest.fixture
def sensitive():
    return Permission.objects.get(
        content_type__app_label="accounts", codename="view_sensitive_data"
    )


@pytest.fixture
def back_office(sensitive):
    group = Group.objects.create(name="Back office")
    group.permissions.set([sensitive])
    return group


def _user_url(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _saved(response) -> None:
    assert response.status_code == 302, response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("field", "posted", "before", "after"),
    [
        ("is_staff", "on", False, True),
        ("is_superuser", "on", False, True),
        ("display_name", "Rep One", "", "Rep One"),
        ("email", "rep.one@example.com", None, "rep.one@example.com"),
        ("language", "zh-hans", None, "zh-hans"),
    ],
)
def test_a_change_of_a_users_field_writes_one_row_with_before_and_after(
    company, field, posted, before, after
):
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)
    page = ann.get(url)
    stored = page.context["adminform"].form.instance
    before = getattr(stored, field) if before is None else before

    _saved(ann.post(url, change_form_data(page, **{field: posted})))

    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {field: {"before": before, "after": after}}
    assert (event.actor.username, event.action, event.summary) == ("ann", "update", "rep")


def test_staff_status_taken_away_is_recorded(company):
    company.rep.is_staff = True
    company.rep.save(update_fields=["is_staff"])
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)
    data = change_form_data(ann.get(url))
    data.pop("is_staff")  # unticked

    _saved(ann.post(url, data))

    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {"is_staff": {"before": True, "after": False}}


def test_reactivating_someone_is_recorded(company):
    user_deactivate(actor=company.admin, user_id=company.analyst.pk, hand_over_to=POOL)
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.analyst)

    _saved(ann.post(url, change_form_data(ann.get(url), is_active="on")))

    deactivated, reactivated = audit_events("user", company.analyst.pk)
    assert deactivated.changes["is_active"] == {"before": True, "after": False}
    assert reactivated.changes == {"is_active": {"before": False, "after": True}}
    assert reactivated.actor.username == "ann"


def test_deactivating_on_the_page_is_recorded_once(company):
    # The deactivation records itself, with what was handed over.
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.analyst)
    data = change_form_data(ann.get(url))
    data.pop("is_active")

    _saved(ann.post(url, data))

    [event] = audit_events("user", company.analyst.pk)
    assert event.changes["is_active"] == {"before": True, "after": False}
    assert "hand_over_to" in event.changes


def test_groups_joined_and_left_are_recorded_by_name(company, back_office):
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)

    _saved(ann.post(url, change_form_data(ann.get(url), groups=[back_office.pk])))
    _saved(ann.post(url, change_form_data(ann.get(url), groups=[])))

    joined, left = audit_events("user", company.rep.pk)
    assert joined.changes == {"groups": {"before": [], "after": ["Back office"]}}
    assert left.changes == {"groups": {"before": ["Back office"], "after": []}}


def test_permissions_given_and_taken_away_are_recorded_by_codename(company, sensitive):
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)

    _saved(ann.post(url, change_form_data(ann.get(url), user_permissions=[sensitive.pk])))
    _saved(ann.post(url, change_form_data(ann.get(url), user_permissions=[])))

    given, taken = audit_events("user", company.rep.pk)
    assert given.changes == {"user_permissions": {"before": [], "after": [SENSITIVE]}}
    assert taken.changes == {"user_permissions": {"before": [SENSITIVE], "after": []}}


def test_several_changes_in_one_save_are_one_row(company, sensitive):
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)
    page = ann.get(url)

    _saved(
        ann.post(
            url,
            change_form_data(page, role="analyst", is_staff="on", user_permissions=[sensitive.pk]),
        )
    )

    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {
        "role": {"before": "sales_rep", "after": "analyst"},
        "is_staff": {"before": False, "after": True},
        "user_permissions": {"before": [], "after": [SENSITIVE]},
    }


def test_a_user_saved_unchanged_writes_no_row(company, back_office):
    company.rep.groups.set([back_office])
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)

    _saved(ann.post(url, change_form_data(ann.get(url))))

    assert audit_events("user", company.rep.pk) == []


def test_a_users_save_refused_as_stale_writes_no_row(company, sensitive):
    ann, bob = signed_in_administrators("ann", "bob")
    url = _user_url(company.rep)
    page_ann, page_bob = ann.get(url), bob.get(url)
    _saved(ann.post(url, change_form_data(page_ann, display_name="Rep One")))

    response = bob.post(
        url, change_form_data(page_bob, is_superuser="on", user_permissions=[sensitive.pk])
    )

    assert refused_as_stale(response, "user")
    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {"display_name": {"before": "", "after": "Rep One"}}


def _group_url(group) -> str:
    return reverse("admin:auth_group_change", args=[group.pk])


def test_a_groups_name_change_is_recorded(back_office):
    (ann,) = signed_in_administrators("ann")
    url = _group_url(back_office)

    _saved(ann.post(url, change_form_data(ann.get(url), name="Back office (Shanghai)")))

    [event] = audit_events("group", back_office.pk)
    assert event.changes == {"name": {"before": "Back office", "after": "Back office (Shanghai)"}}
    assert (event.actor.username, event.action, event.summary) == (
        "ann",
        "update",
        "Back office (Shanghai)",
    )


def test_a_groups_permissions_changed_are_recorded_by_codename(back_office):
    view_groups = Permission.objects.get(content_type__app_label="auth", codename="view_group")
    (ann,) = signed_in_administrators("ann")
    url = _group_url(back_office)

    _saved(ann.post(url, change_form_data(ann.get(url), permissions=[view_groups.pk])))

    [event] = audit_events("group", back_office.pk)
    assert event.changes == {"permissions": {"before": [SENSITIVE], "after": ["auth.view_group"]}}


def test_a_group_added_with_permissions_is_recorded(sensitive):
    (ann,) = signed_in_administrators("ann")
    _saved(
        ann.post(
            reverse("admin:auth_group_add"), {"name": "Auditors", "permissions": [sensitive.pk]}
        )
    )

    group = Group.objects.get(name="Auditors")
    [event] = audit_events("group", group.pk)
    assert event.action == "create"
    assert event.changes == {
        "name": {"before": None, "after": "Auditors"},
        "permissions": {"before": [], "after": [SENSITIVE]},
    }


def test_a_group_saved_unchanged_writes_no_row(back_office):
    (ann,) = signed_in_administrators("ann")
    url = _group_url(back_office)

    _saved(ann.post(url, change_form_data(ann.get(url))))

    assert audit_events("group", back_office.pk) == []


def test_a_groups_save_refused_as_stale_writes_no_row(back_office):
    ann, bob = signed_in_administrators("ann", "bob")
    url = _group_url(back_office)
    page_ann, page_bob = ann.get(url), bob.get(url)
    _saved(ann.post(url, change_form_data(page_ann, permissions=[])))

    response = bob.post(url, change_form_data(page_bob, name="Everyone"))

    assert refused_as_stale(response, "group")
    [event] = audit_events("group", back_office.pk)
    assert event.changes == {"permissions": {"before": [SENSITIVE], "after": []}}


def test_the_rows_are_listed_in_the_audit_trail_with_the_other_users_rows(company, back_office):
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)
    _saved(ann.post(url, change_form_data(ann.get(url), groups=[back_office.pk])))
    url = _group_url(back_office)
    _saved(ann.post(url, change_form_data(ann.get(url), name="Back office (Shanghai)")))

    trail = reverse("admin:audit_auditevent_changelist")
    for object_type, shown in (("user", "rep"), ("group", "Back office (Shanghai)")):
        response = ann.get(trail, {"object_type": object_type})
        assert [event.summary_text() for event in response.context["cl"].result_list] == [shown]
    [event] = audit_events("user", company.rep.pk)
    page = ann.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()
    assert "Back office" in page


class _HistoryDown(Exception):
    pass


def _history_fails(monkeypatch, model_admin_class) -> None:
    """The admin's own history entry, written after the groups and permissions are saved and
    the audit row with them, fails: the page's transaction is rolled back."""

    def log_change(self, request, obj, message):
        raise _HistoryDown

    monkeypatch.setattr(model_admin_class, "log_change", log_change)


def test_a_users_save_rolled_back_after_its_row_leaves_no_row(company, sensitive, monkeypatch):
    (ann,) = signed_in_administrators("ann")
    url = _user_url(company.rep)
    data = change_form_data(ann.get(url), is_superuser="on", user_permissions=[sensitive.pk])
    _history_fails(monkeypatch, UserAdmin)

    with pytest.raises(_HistoryDown):
        ann.post(url, data)

    company.rep.refresh_from_db()
    assert not company.rep.is_superuser and not company.rep.user_permissions.exists()
    assert audit_events("user", company.rep.pk) == []


def test_a_groups_save_rolled_back_after_its_row_leaves_no_row(back_office, monkeypatch):
    (ann,) = signed_in_administrators("ann")
    url = _group_url(back_office)
    data = change_form_data(ann.get(url), name="Everyone", permissions=[])
    _history_fails(monkeypatch, GroupAdmin)

    with pytest.raises(_HistoryDown):
        ann.post(url, data)

    back_office.refresh_from_db()
    assert back_office.name == "Back office" and back_office.permissions.exists()
    assert audit_events("group", back_office.pk) == []


def test_a_group_deleted_on_its_page_is_recorded_with_its_permissions_and_members(
    company, back_office
):
    company.rep.groups.set([back_office])
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:auth_group_delete", args=[back_office.pk])

    assert ann.post(url, {"post": "yes"}).status_code == 302

    assert not Group.objects.filter(pk=back_office.pk).exists()
    [event] = audit_events("group", back_office.pk)
    assert (event.actor.username, event.action, event.summary) == ("ann", "delete", "Back office")
    assert event.changes == {
        "name": {"before": "Back office", "after": None},
        "permissions": {"before": [SENSITIVE], "after": []},
        "members": {"before": ["rep"], "after": []},
    }


def test_groups_deleted_from_the_list_are_recorded_each(company, back_office):
    empty = Group.objects.create(name="Empty")
    (ann,) = signed_in_administrators("ann")
    response = ann.post(
        reverse("admin:auth_group_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [back_office.pk, empty.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Group.objects.filter(pk__in=[back_office.pk, empty.pk]).exists()
    [deleted] = audit_events("group", back_office.pk)
    assert deleted.changes["permissions"] == {"before": [SENSITIVE], "after": []}
    [deleted] = audit_events("group", empty.pk)
    assert deleted.changes == {"name": {"before": "Empty", "after": None}}


def test_a_user_added_on_the_add_page_is_recorded_without_the_password():
    (ann,) = signed_in_administrators("ann")
    password = "Tr0ub4dor&3-horse"
    response = ann.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    newcomer = User.objects.get(username="newcomer")
    [event] = audit_events("user", newcomer.pk)
    assert (event.actor.username, event.action, event.summary) == ("ann", "create", "newcomer")
    assert event.changes["username"] == {"before": None, "after": "newcomer"}
    assert event.changes["is_active"] == {"before": None, "after": True}
    assert "password" not in event.changes
    written = str(event.changes)
    assert password not in written and newcomer.password not in written


def test_a_password_set_by_an_administrator_is_recorded_without_it(company):
    (ann,) = signed_in_administrators("ann")
    password = "Tr0ub4dor&3-horse"
    url = reverse("admin:auth_user_password_change", args=[company.rep.pk])

    response = ann.post(
        url, {"usable_password": "true", "password1": password, "password2": password}
    )

    assert response.status_code == 302
    company.rep.refresh_from_db()
    assert company.rep.check_password(password)
    [event] = audit_events("user", company.rep.pk)
    assert (event.actor.username, event.action, event.summary) == ("ann", "update", "rep")
    assert event.changes == {"password": {"before": "set", "after": "changed"}}
    assert password not in str(event.changes) and company.rep.password not in str(event.changes)


def test_password_sign_in_disabled_by_an_administrator_is_recorded(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:auth_user_password_change", args=[company.rep.pk])

    response = ann.post(url, {"usable_password": "false", "unset-password": "1"})

    assert response.status_code == 302
    company.rep.refresh_from_db()
    assert not company.rep.has_usable_password()
    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {"password": {"before": "set", "after": "unusable"}}


def test_a_password_form_refused_writes_no_row(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:auth_user_password_change", args=[company.rep.pk])

    response = ann.post(
        url, {"usable_password": "true", "password1": "x-Long-1", "password2": "other"}
    )

    assert response.status_code == 200
    assert audit_events("user", company.rep.pk) == []


def _new_user(username: str, **fields):
    return User.objects.create_user(username=username, password=None, **fields)


def test_a_user_deleted_on_their_page_is_recorded_with_what_they_had(back_office):
    gone = _new_user("gone", is_staff=True)
    gone.groups.set([back_office])
    (ann,) = signed_in_administrators("ann")

    url = reverse("admin:accounts_user_delete", args=[gone.pk])
    assert ann.post(url, {"post": "yes"}).status_code == 302

    [event] = audit_events("user", gone.pk)
    assert (event.actor.username, event.action, event.summary) == ("ann", "delete", "gone")
    assert event.changes["username"] == {"before": "gone", "after": None}
    assert event.changes["is_staff"] == {"before": True, "after": None}
    assert event.changes["groups"] == {"before": ["Back office"], "after": None}
    assert "password" not in event.changes


def test_users_deleted_from_the_list_are_recorded_each():
    first, second = _new_user("first"), _new_user("second")
    (ann,) = signed_in_administrators("ann")
    response = ann.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 302
    for user in (first, second):
        [event] = audit_events("user", user.pk)
        assert event.action == "delete"
        assert event.changes["username"] == {"before": user.username, "after": None}


def test_an_administrator_deleting_themselves_is_refused_and_nothing_deleted():
    (ann,) = signed_in_administrators("ann")
    me = User.objects.get(username="ann")

    response = ann.post(reverse("admin:accounts_user_delete", args=[me.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=me.pk).exists()
    assert audit_events("user", me.pk) == []
