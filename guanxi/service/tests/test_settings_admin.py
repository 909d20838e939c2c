"""Ticket categories, service calendars (their working hours and holidays are part of the
definition), service-level policies and agents' profiles decide routing and every open ticket's
deadlines. Saving and deleting them in the admin site goes through services that record an
audit row, and a save from a page opened before someone else's save is refused, naming what
happened, instead of silently putting the old values back."""

import json

import pytest
from django.urls import reverse

from guanxi.core.testing.admin_forms import (
    audit_events,
    change_form_data,
    delete_confirmation_data,
    signed_in_administrators,
)
from guanxi.service.models import AgentProfile, ServiceCalendar, SlaPolicy, TicketCategory

pytestmark = pytest.mark.django_db

STALE = "changed by someone else since you opened it"


def _two_saves(url: str, first: dict, second: dict, **headers):
    """Two administrators open the same change page; the first saves ``first``, then the
    second saves ``second`` from the page they opened before that. Returns both answers."""
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    saved = ann.post(url, change_form_data(page_ann, **first), **headers)
    refused = bob.post(url, change_form_data(page_bob, **second), **headers)
    return saved, refused


def test_categories_are_audited_when_added_changed_and_deleted():
    (ann,) = signed_in_administrators("ann")
    response = ann.post(
        reverse("admin:service_ticketcategory_add"),
        {"name": "物流", "name_en": "Shipping", "is_active": "on"},
    )
    assert response.status_code == 302
    category = TicketCategory.objects.get(name="物流")
    change = reverse("admin:service_ticketcategory_change", args=[category.pk])
    page = ann.get(change)
    assert ann.post(change, change_form_data(page, name_en="Delivery")).status_code == 302
    # Saved again as it is: no row, and the version stays.
    page = ann.get(change)
    ann.post(change, change_form_data(page))
    category.refresh_from_db()
    assert category.version == 2
    delete = reverse("admin:service_ticketcategory_delete", args=[category.pk])
    ann.post(delete, delete_confirmation_data(ann.get(delete)))
    created, updated, deleted = audit_events("ticket_category", category.pk)
    assert (created.action, created.changes["name"]) == (
        "create",
        {"before": None, "after": "物流"},
    )
    assert updated.changes == {"name_en": {"before": "Shipping", "after": "Delivery"}}
    assert updated.actor.username == "ann"
    assert (deleted.action, deleted.changes["name_en"]["before"]) == ("delete", "Delivery")


def test_a_stale_category_save_is_refused():
    category = TicketCategory.objects.create(name="物流", name_en="Shipping")
    url = reverse("admin:service_ticketcategory_change", args=[category.pk])
    saved, refused = _two_saves(url, {"name_en": "Delivery"}, {"name_en": "Logistics"})
    assert saved.status_code == 302
    assert refused.status_code == 200
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    category.refresh_from_db()
    assert (category.name_en, category.version) == ("Delivery", 2)
    assert len(audit_events("ticket_category", category.pk)) == 1


def test_calendar_hours_and_holidays_are_audited():
    (ann,) = signed_in_administrators("ann")
    calendar = ServiceCalendar.objects.order_by("pk").first()
    url = reverse("admin:service_servicecalendar_change", args=[calendar.pk])
    definition = {**calendar.definition, "holidays": [{"date": "2027-02-17"}]}
    response = ann.post(url, change_form_data(ann.get(url), definition=json.dumps(definition)))
    assert response.status_code == 302
    [event] = audit_events("service_calendar", calendar.pk)
    assert event.action == "update"
    assert event.changes["definition"]["after"]["holidays"] == [{"date": "2027-02-17"}]
    assert set(event.changes) == {"definition"}
    calendar.refresh_from_db()
    assert calendar.version == 2


def test_a_stale_calendar_save_is_refused_in_chinese_too():
    calendar = ServiceCalendar.objects.order_by("pk").first()
    url = reverse("admin:service_servicecalendar_change", args=[calendar.pk])
    first = {**calendar.definition, "holidays": [{"date": "2027-02-17"}]}
    second = {**calendar.definition, "holidays": [{"date": "2027-02-18"}]}
    saved, refused = _two_saves(
        url,
        {"definition": json.dumps(first)},
        {"definition": json.dumps(second)},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert saved.status_code == 302
    assert "在您打开后已被他人修改" in refused.content.decode()
    calendar.refresh_from_db()
    assert calendar.definition["holidays"] == [{"date": "2027-02-17"}]
    assert len(audit_events("service_calendar", calendar.pk)) == 1


def test_policies_are_audited_and_a_deleted_one_leaves_its_record():
    (ann,) = signed_in_administrators("ann")
    policy = SlaPolicy.objects.order_by("pk").first()
    url = reverse("admin:service_slapolicy_change", args=[policy.pk])
    response = ann.post(url, change_form_data(ann.get(url), resolution_minutes=960))
    assert response.status_code == 302
    [updated] = audit_events("sla_policy", policy.pk)
    assert updated.changes == {
        "resolution_minutes": {"before": policy.resolution_minutes, "after": 960}
    }
    # Deleted with the list's bulk action: one row per policy, with what it held.
    response = ann.post(
        reverse("admin:service_slapolicy_changelist"),
        {"action": "delete_selected", "_selected_action": [policy.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not SlaPolicy.objects.filter(pk=policy.pk).exists()
    deleted = audit_events("sla_policy", policy.pk)[-1]
    assert (deleted.action, deleted.changes["resolution_minutes"]["before"]) == ("delete", 960)


def test_a_stale_policy_save_is_refused_and_so_is_a_save_and_continue():
    policy = SlaPolicy.objects.order_by("pk").first()
    url = reverse("admin:service_slapolicy_change", args=[policy.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    # "Save and continue editing" saves and shows the page again, at the new version…
    kept = ann.post(url, {**change_form_data(page_ann, warn_percent=70), "_continue": "1"})
    assert kept.status_code == 302
    page_ann = ann.get(kept["Location"])
    assert ann.post(url, change_form_data(page_ann, warn_percent=75)).status_code == 302
    # …and a page opened before those saves cannot put its values back, either way.
    for extra in ({}, {"_continue": "1"}):
        refused = bob.post(url, {**change_form_data(page_bob, warn_percent=90), **extra})
        assert refused.status_code == 200
        assert STALE in str(refused.context["adminform"].form.non_field_errors())
    policy.refresh_from_db()
    assert (policy.warn_percent, policy.version) == (75, 3)
    assert len(audit_events("sla_policy", policy.pk)) == 2


def test_a_stale_agent_profile_save_is_refused(company):
    profile = AgentProfile.objects.create(user=company.agent)
    url = reverse("admin:service_agentprofile_change", args=[profile.pk])
    saved, refused = _two_saves(url, {"is_absent": "on"}, {})
    assert saved.status_code == 302
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    profile.refresh_from_db()
    assert profile.is_absent and profile.version == 2
    assert [e.action for e in audit_events("agent", company.agent.pk)] == ["update"]


def test_a_profile_page_opened_before_the_agent_went_absent_is_stale(company):
    from guanxi.service.services import agent_set_absent

    profile = AgentProfile.objects.create(user=company.agent)
    url = reverse("admin:service_agentprofile_change", args=[profile.pk])
    (ann,) = signed_in_administrators("ann")
    page = ann.get(url)
    agent_set_absent(actor=company.agent, user_id=company.agent.pk, absent=True)
    refused = ann.post(url, change_form_data(page))
    assert refused.status_code == 200
    assert AgentProfile.objects.get(pk=profile.pk).is_absent


def test_the_service_refuses_a_version_overtaken_after_the_form_was_checked(company):
    """The admin forms check the version first; the service checks it again under its lock,
    which is what catches a save that became stale between the two (the editable list is
    checked before its transaction starts, and SQLite takes no row locks)."""
    from guanxi.audit.services import StaleSettingError
    from guanxi.service.services import sla_policy_save

    policy = SlaPolicy.objects.order_by("pk").first()
    SlaPolicy.objects.filter(pk=policy.pk).update(version=2)
    policy.warn_percent = 60
    with pytest.raises(StaleSettingError):
        sla_policy_save(actor=company.admin, policy=policy, expected_version=1)
    stored = SlaPolicy.objects.get(pk=policy.pk)
    assert (stored.warn_percent, stored.version) == (80, 2)
    assert not audit_events("sla_policy", policy.pk)


def test_a_delete_confirmed_after_someone_else_changed_the_setting_is_refused():
    category = TicketCategory.objects.create(name="物流", name_en="Shipping")
    delete = reverse("admin:service_ticketcategory_delete", args=[category.pk])
    change = reverse("admin:service_ticketcategory_change", args=[category.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    confirmation = bob.get(delete)
    saved = ann.post(change, change_form_data(ann.get(change), name_en="Delivery"))
    assert saved.status_code == 302

    refused = bob.post(delete, delete_confirmation_data(confirmation), follow=True)
    assert STALE in refused.content.decode()
    assert TicketCategory.objects.filter(pk=category.pk).exists()
    # Nor without the version a confirmation page sends (an old page, a script).
    bob.post(delete, {"post": "yes"})
    assert TicketCategory.objects.filter(pk=category.pk).exists()
    assert [e.action for e in audit_events("ticket_category", category.pk)] == ["update"]

    # Confirmed on the page as it now is, it goes, audited.
    assert bob.post(delete, delete_confirmation_data(bob.get(delete))).status_code == 302
    assert not TicketCategory.objects.filter(pk=category.pk).exists()
    assert [e.action for e in audit_events("ticket_category", category.pk)] == ["update", "delete"]
