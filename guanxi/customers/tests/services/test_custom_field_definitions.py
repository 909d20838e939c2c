"""Custom field definitions are edited in the admin site; adding, changing (on the form or in
the list) and deleting one each leave an audit row naming the definition, through the
services."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import (
    delete_confirmation_data,
    delete_selected_confirmation_data,
)
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import CustomFieldDefinition
from guanxi.customers.services import (
    custom_field_definition_save,
    custom_field_definitions_delete,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _events(definition_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type="custom_field_definition", object_id=definition_id
        ).order_by("id")
    )


FORM = {
    "key": "wechat_group",
    "label": "WeChat group",
    "label_zh_hans": "微信群",
    "field_type": "choice",
    "choices": '["A", "B"]',
    "position": "0",
    "is_active": "on",
}


def test_adding_changing_and_deleting_in_the_admin_site_are_audited(client, superuser):
    response = client.post(reverse("admin:customers_customfielddefinition_add"), FORM)
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get(key="wechat_group")
    [created] = _events(definition.pk)
    assert (created.actor, created.action, created.customer_id) == (superuser, "create", None)
    assert created.changes["choices"] == {"before": None, "after": ["A", "B"]}
    assert created.changes["label_zh_hans"] == {"before": None, "after": "微信群"}

    change = reverse("admin:customers_customfielddefinition_change", args=[definition.pk])
    edited = {**FORM, "choices": '["A", "B", "C"]', "required": "on"}
    response = client.post(change, {**edited, "version_read": 1})
    assert response.status_code == 302
    updated = _events(definition.pk)[-1]
    assert updated.action == "update"
    assert updated.changes == {
        "choices": {"before": ["A", "B"], "after": ["A", "B", "C"]},
        "required": {"before": False, "after": True},
    }
    # Saved again unchanged: nothing to record.
    client.post(change, {**edited, "version_read": 2})
    assert len(_events(definition.pk)) == 2

    # Unticking "active" in the list saves through the same service.
    response = client.post(
        reverse("admin:customers_customfielddefinition_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(definition.pk),
            "form-0-required": "on",
            "form-0-version_read": "2",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert _events(definition.pk)[-1].changes == {"is_active": {"before": True, "after": False}}

    delete = reverse("admin:customers_customfielddefinition_delete", args=[definition.pk])
    assert client.post(delete, delete_confirmation_data(client.get(delete))).status_code == 302
    assert not CustomFieldDefinition.objects.exists()
    deleted = _events(definition.pk)[-1]
    assert deleted.action == "delete"
    assert deleted.changes["key"] == {"before": "wechat_group", "after": None}


def test_deleting_several_from_the_list_audits_each(client, superuser):
    ids = [
        CustomFieldDefinition.objects.create(key=key, label=key, field_type="text").pk
        for key in ("a", "b")
    ]
    changelist = reverse("admin:customers_customfielddefinition_changelist")
    confirmation = client.post(changelist, {"action": "delete_selected", "_selected_action": ids})
    response = client.post(changelist, delete_selected_confirmation_data(confirmation))
    assert response.status_code == 302
    assert not CustomFieldDefinition.objects.exists()
    assert sorted(
        AuditEvent.objects.filter(action="delete").values_list("object_id", flat=True)
    ) == sorted(ids)


def test_only_administrators_edit_custom_fields(company):
    definition = CustomFieldDefinition(key="grade", label="Grade", field_type="text")
    with pytest.raises(PermissionDenied):
        custom_field_definition_save(actor=company.manager, definition=definition)
    assert not CustomFieldDefinition.objects.exists()
    definition = custom_field_definition_save(actor=company.admin, definition=definition)
    with pytest.raises(PermissionDenied):
        custom_field_definitions_delete(actor=company.manager, definition_ids=[definition.pk])
    assert CustomFieldDefinition.objects.exists()
    assert [e.action for e in _events(definition.pk)] == ["create"]
