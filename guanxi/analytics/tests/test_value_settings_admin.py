"""The value analytics settings decide every customer's tier and churn warning at the next
refresh: a save in the admin site goes through the service, which records the knobs that
changed in an audit row naming the settings."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import translation

from guanxi.analytics.models import ValueSettings
from guanxi.analytics.services import value_settings_save
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _form(settings_row: ValueSettings, **changes) -> dict:
    data = {k: v for k, v in model_to_dict(settings_row).items() if k != "id"}
    data["unit_costs"] = json.dumps(data["unit_costs"])
    data["version_read"] = settings_row.version
    return {**data, **changes}


def test_a_change_in_the_admin_site_is_audited(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    settings_row = ValueSettings.load()
    change = reverse("admin:analytics_valuesettings_change", args=[settings_row.pk])
    costs = {**settings_row.unit_costs, "visit": 250}
    response = client.post(
        change, _form(settings_row, gold_share="0.1", unit_costs=json.dumps(costs))
    )
    assert response.status_code == 302
    assert ValueSettings.load().gold_share == 0.1
    [event] = AuditEvent.objects.filter(object_type="value_settings")
    assert (event.actor, event.action, event.object_id, event.customer_id) == (
        root,
        "update",
        settings_row.pk,
        None,
    )
    assert event.changes["gold_share"] == {"before": 0.2, "after": 0.1}
    assert event.changes["unit_costs"]["after"]["visit"] == 250
    assert set(event.changes) == {"gold_share", "unit_costs"}
    # Saved again as it is: no row.
    client.post(change, _form(ValueSettings.load()))
    assert AuditEvent.objects.filter(object_type="value_settings").count() == 1


def test_the_audit_row_names_the_settings_in_each_readers_language(company):
    settings_row = ValueSettings.load()
    settings_row.lead_share = 0.5
    with translation.override("zh-hans"):
        value_settings_save(actor=company.admin, settings_row=settings_row)
    event = AuditEvent.objects.get(object_type="value_settings")
    assert event.summary == "价值分析设置"  # as written
    with translation.override("en"):
        assert event.summary_text() == "Value analytics settings"


def test_only_administrators_change_the_settings(company):
    settings_row = ValueSettings.load()
    settings_row.lead_share = 0.5
    with pytest.raises(PermissionDenied):
        value_settings_save(actor=company.analyst, settings_row=settings_row)
    assert ValueSettings.load().lead_share == 0.3
    assert not AuditEvent.objects.exists()


def test_a_stale_save_is_refused():
    from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators

    settings_row = ValueSettings.load()
    change = reverse("admin:analytics_valuesettings_change", args=[settings_row.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(change), bob.get(change)
    assert ann.post(change, change_form_data(page_ann, gold_share="0.1")).status_code == 302
    refused = bob.post(change, change_form_data(page_bob, lead_share="0.4"))
    assert refused.status_code == 200
    assert "changed by someone else since you opened it" in str(
        refused.context["adminform"].form.non_field_errors()
    )
    settings_row = ValueSettings.load()
    assert (settings_row.gold_share, settings_row.lead_share, settings_row.version) == (
        0.1,
        0.3,
        2,
    )
    assert AuditEvent.objects.filter(object_type="value_settings").count() == 1
