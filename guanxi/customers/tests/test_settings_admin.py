"""Tags and custom field definitions carry a version: a rename or an edit from an admin page
(or a row of the custom fields' editable list) opened before someone else's save is refused,
naming what happened, instead of silently putting the old values back."""

import pytest
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import (
    change_form_data,
    changelist_data,
    signed_in_administrators,
)
from guanxi.customers.models import CustomFieldDefinition, Tag

pytestmark = pytest.mark.django_db

STALE = "changed by someone else since you opened it"


def test_a_stale_tag_rename_is_refused(company):
    tag = Tag.objects.create(name="VIP")
    company.west_customer.tags.add(tag)
    url = reverse("admin:customers_tag_change", args=[tag.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    assert ann.post(url, change_form_data(page_ann, name="Key account")).status_code == 302
    refused = bob.post(url, change_form_data(page_bob, name="大客户"))
    assert refused.status_code == 200
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    tag.refresh_from_db()
    assert (tag.name, tag.version) == ("Key account", 2)
    # The customer wearing it changed once, by the first rename only.
    [event] = AuditEvent.objects.filter(customer_id=company.west_customer.pk)
    assert event.changes["tags"] == {"before": ["VIP"], "after": ["Key account"]}


@pytest.fixture
def definition():
    return CustomFieldDefinition.objects.create(
        key="wechat_group", label="WeChat group", field_type="text"
    )


def test_a_stale_custom_field_save_is_refused(definition):
    url = reverse("admin:customers_customfielddefinition_change", args=[definition.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    assert ann.post(url, change_form_data(page_ann, required="on")).status_code == 302
    refused = bob.post(url, change_form_data(page_bob, label="WeChat groups"))
    assert refused.status_code == 200
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    definition.refresh_from_db()
    assert (definition.required, definition.label, definition.version) == (
        True,
        "WeChat group",
        2,
    )
    assert AuditEvent.objects.filter(object_type="custom_field_definition").count() == 1


def test_a_stale_row_of_the_editable_list_is_refused(definition):
    other = CustomFieldDefinition.objects.create(key="region", label="Region", field_type="text")
    changelist = reverse("admin:customers_customfielddefinition_changelist")
    change = reverse("admin:customers_customfielddefinition_change", args=[definition.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    listed = ann.get(changelist)
    # Meanwhile someone makes the field required on its own page.
    assert bob.post(change, change_form_data(bob.get(change), required="on")).status_code == 302
    # Saving the list as it was read would untick "required" again: the row is refused, and
    # so is the whole save (nothing of it is written).
    refused = ann.post(changelist, changelist_data(listed, {other.pk: {"is_active": False}}))
    assert refused.status_code == 200
    assert STALE in refused.content.decode()
    definition.refresh_from_db()
    other.refresh_from_db()
    assert definition.required and other.is_active
    # The list read again saves.
    listed = ann.get(changelist)
    saved = ann.post(changelist, changelist_data(listed, {other.pk: {"is_active": False}}))
    assert saved.status_code == 302
    other.refresh_from_db()
    assert (other.is_active, other.version) == (False, 2)
    definition.refresh_from_db()
    assert definition.required and definition.version == 2
