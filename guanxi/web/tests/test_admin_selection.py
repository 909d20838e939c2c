"""An admin list's action posted with a selection that holds no row id ("abc", a number no
column holds) is refused with a message and does nothing, on every admin list of the site,
instead of a server error; so is the save of an editable list whose rows hold one."""

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from guanxi.accounts.models import Department, User
from guanxi.core.testing.admin_forms import changelist_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import CustomFieldDefinition
from guanxi.web.admin_selection import CheckedSelectionMixin

pytestmark = pytest.mark.django_db

REFUSED = "which is not the id of a row"
NOT_IDS = ["abc", "9" * 25, str(2**63), "²", ""]


def _admins_with_actions(user) -> list[admin.ModelAdmin]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return [
        model_admin
        for model_admin in admin.site._registry.values()
        if model_admin.get_actions(request)
    ]


def _list_url(model_admin) -> str:
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def test_every_admin_list_with_an_action_checks_the_selection():
    # Lists without an action (the audit trail, the task results of django-tasks) never read
    # the selection.
    superuser = UserFactory(username="ann", is_staff=True, is_superuser=True)
    unchecked = [
        type(model_admin).__name__
        for model_admin in _admins_with_actions(superuser)
        if not isinstance(model_admin, CheckedSelectionMixin)
    ]
    assert not unchecked


@pytest.mark.parametrize("confirmed", [False, True], ids=["action", "confirmation"])
def test_a_selection_that_is_no_id_is_refused_on_every_list_with_an_action(company, confirmed):
    (ann,) = signed_in_administrators("ann")
    ann_user = User.objects.get(username="ann")
    admins = _admins_with_actions(ann_user)
    # The lists this is about: users, groups and the settings among them.
    assert {User, Group, Department} <= {model_admin.model for model_admin in admins}
    for model_admin in admins:
        url = _list_url(model_admin)
        rows_before = model_admin.model._default_manager.count()
        for value in NOT_IDS:
            data = {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [value]}
            # The list's button posts the index of the action bar it was pressed in; the
            # confirmation page posts "post" instead.
            data.update({"post": "yes"} if confirmed else {"index": "0"})
            response = ann.post(url, data)
            assert response.status_code == 302, (url, value)
            assert response["Location"] == url, (url, value)
            page = ann.get(url)
            shown = [str(message) for message in page.context["messages"]]
            assert any(REFUSED in message for message in shown), (url, value, shown)
        assert model_admin.model._default_manager.count() == rows_before, url


def test_a_selection_with_one_id_that_is_no_number_deletes_none_of_it(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_department_changelist")
    selection = [str(company.west.pk), "abc"]
    response = ann.post(
        url,
        {"action": "delete_selected", "post": "yes", helpers.ACTION_CHECKBOX_NAME: selection},
        follow=True,
    )
    assert "“abc”, which is not the id of a row" in response.content.decode()
    assert Department.objects.filter(pk=company.west.pk).exists()


def test_the_refusal_reads_in_chinese(company):
    (ann,) = signed_in_administrators("ann")
    ann.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = ann.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "index": "0", helpers.ACTION_CHECKBOX_NAME: ["abc"]},
        follow=True,
    )
    assert "未做任何操作：所选内容中的“abc”不是任何一行的编号。请在列表中重新选择。" in (
        response.content.decode()
    )


@pytest.mark.parametrize("row_id", ["9" * 20, str(2**63), "abc"])
def test_an_editable_list_saved_with_a_row_id_that_is_no_id_saves_nothing(row_id):
    # The custom fields' list edits "required" and "is_active" in place; an id beyond 64 bits
    # was an OverflowError from SQLite where Django filters the list on the rows' ids.
    (ann,) = signed_in_administrators("ann")
    definition = CustomFieldDefinition.objects.create(key="vip", label="VIP", field_type="text")
    url = reverse("admin:customers_customfielddefinition_changelist")
    data = changelist_data(ann.get(url), {definition.pk: {"required": True}})
    data["form-0-id"] = row_id
    response = ann.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == url
    shown = [str(message) for message in ann.get(url).context["messages"]]
    assert shown == [
        f"Nothing was saved: a row of the list held “{row_id}”, which is not the id of a row. "
        "Open the list again and make the changes anew."
    ]
    definition.refresh_from_db()
    assert not definition.required
