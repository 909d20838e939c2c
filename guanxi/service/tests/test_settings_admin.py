"""Ticket categories, service calendars (their working hours and holidays are part of the
definition), service-level policies and agents' profiles decide routing and every open ticket's
deadlines. Saving and deleting them in the admin site goes through services that record an
audit row, and a save from a page opened before someone else's save is refused, naming what
happened, instead of silently putting the old values back."""

import json

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse, reverse_lazy

from guanxi.core.testing.admin_forms import (
    audit_events,
    change_form_data,
    delete_confirmation_data,
    delete_selected_confirmation_data,
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
    changelist = reverse("admin:service_slapolicy_changelist")
    confirmation = _bulk_delete_confirmation(ann, changelist, [policy])
    response = ann.post(changelist, delete_selected_confirmation_data(confirmation))
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
    [went_absent] = audit_events("agent", company.agent.pk)
    refused = ann.post(url, change_form_data(page))
    assert refused.status_code == 200
    # Refused as stale, saying so, rather than for some other reason of the form's.
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    assert STALE in refused.content.decode()
    assert AgentProfile.objects.get(pk=profile.pk).is_absent
    # The agent's going absent is the only change on record: the refused save wrote nothing.
    assert audit_events("agent", company.agent.pk) == [went_absent]


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


# --- the list's bulk delete action ---------------------------------------------------------------

BULK_STALE = "Nothing was deleted: someone else changed or deleted these ticket categories"
CATEGORIES = reverse_lazy("admin:service_ticketcategory_changelist")


def _bulk_delete_confirmation(client, changelist, rows):
    """The confirmation page of the list's "Delete selected" action for ``rows``."""
    page = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [row.pk for row in rows]}
    )
    assert page.status_code == 200
    return page


def _three_categories():
    return [
        TicketCategory.objects.create(name=name, name_en=name_en)
        for name, name_en in (("物流", "Shipping"), ("退货", "Returns"), ("发票", "Invoices"))
    ]


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _stored(categories):
    return set(TicketCategory.objects.filter(pk__in=[c.pk for c in categories]))


def _category_events(categories):
    return [[e.action for e in audit_events("ticket_category", c.pk)] for c in categories]


def test_a_bulk_delete_confirmed_after_someone_else_changed_a_row_is_refused():
    shipping, returns, invoices = _three_categories()
    ann, bob = signed_in_administrators("ann", "bob")
    confirmation = _bulk_delete_confirmation(bob, CATEGORIES, [shipping, returns])
    change = reverse("admin:service_ticketcategory_change", args=[returns.pk])
    assert ann.post(change, change_form_data(ann.get(change), name_en="Refunds")).status_code == 302

    refused = bob.post(CATEGORIES, delete_selected_confirmation_data(confirmation), follow=True)
    [message] = _messages(refused)
    assert message.startswith(BULK_STALE)
    assert "“Refunds” (changed)" in message and "Shipping" not in message
    assert _stored([shipping, returns, invoices]) == {shipping, returns, invoices}
    assert _category_events([shipping, returns, invoices]) == [[], ["update"], []]
    # Nor does Django's own admin log tell of a deletion that did not happen.
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
    # Nor without the versions a confirmation page sends (an old page, a script).
    bob.post(
        CATEGORIES,
        {"action": "delete_selected", "_selected_action": [shipping.pk], "post": "yes"},
    )
    assert _stored([shipping, returns]) == {shipping, returns}

    # Confirmed on a page showing them as they now are, both go, each audited.
    confirmation = _bulk_delete_confirmation(bob, CATEGORIES, [shipping, returns])
    deleted = bob.post(CATEGORIES, delete_selected_confirmation_data(confirmation), follow=True)
    assert _messages(deleted) == ["Successfully deleted 2 ticket categories."]
    assert _stored([shipping, returns, invoices]) == {invoices}
    assert _category_events([shipping, returns, invoices]) == [["delete"], ["update", "delete"], []]
    gone = audit_events("ticket_category", returns.pk)[-1]
    assert gone.actor.username == "bob"
    assert gone.changes["name_en"] == {"before": "Refunds", "after": None}


def test_a_bulk_delete_of_a_row_someone_else_deleted_since_is_refused_in_chinese_too():
    shipping, returns, invoices = _three_categories()
    ann, bob = signed_in_administrators("ann", "bob")
    confirmation = _bulk_delete_confirmation(bob, CATEGORIES, [shipping, returns, invoices])
    change = reverse("admin:service_ticketcategory_change", args=[shipping.pk])
    assert ann.post(change, change_form_data(ann.get(change), name="快递")).status_code == 302
    delete = reverse("admin:service_ticketcategory_delete", args=[invoices.pk])
    assert ann.post(delete, delete_confirmation_data(ann.get(delete))).status_code == 302

    refused = bob.post(
        CATEGORIES,
        delete_selected_confirmation_data(confirmation),
        follow=True,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert _messages(refused) == [
        "未删除任何内容：自确认页面显示以来，以下工单分类已被他人修改或删除："
        f"“快递”（已修改）、#{invoices.pk}（已删除）。请重新查看，再选择要删除的项。"
    ]
    assert _stored([shipping, returns, invoices]) == {shipping, returns}
    assert _category_events([shipping, returns]) == [["update"], []]

    # Every selected row gone is refused too, rather than quietly doing nothing.
    confirmation = _bulk_delete_confirmation(bob, CATEGORIES, [returns])
    TicketCategory.objects.filter(pk=returns.pk).delete()
    refused = bob.post(CATEGORIES, delete_selected_confirmation_data(confirmation), follow=True)
    [message] = _messages(refused)
    assert message.startswith(BULK_STALE) and f": #{returns.pk} (deleted)." in message


def test_the_bulk_delete_confirmation_keeps_the_summary_and_the_protection():
    shipping, returns, _ = _three_categories()
    (ann,) = signed_in_administrators("ann")
    page = _bulk_delete_confirmation(ann, CATEGORIES, [shipping, returns])
    text = page.content.decode()
    assert "Are you sure you want to delete the selected ticket categories?" in text
    assert "Ticket categories: 2" in text  # Django's summary of what goes
    chinese = ann.post(
        CATEGORIES,
        {"action": "delete_selected", "_selected_action": [shipping.pk]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    assert "确定要删除所选工单分类吗？" in chinese

    # A calendar a policy uses cannot go: the page says why, and confirming deletes nothing.
    calendar = SlaPolicy.objects.order_by("pk").first().calendar
    calendars = reverse("admin:service_servicecalendar_changelist")
    page = _bulk_delete_confirmation(ann, calendars, [calendar])
    assert "would require deleting the following protected related objects" in page.content.decode()
    ann.post(
        calendars,
        {
            "action": "delete_selected",
            "_selected_action": [calendar.pk],
            f"version_read_{calendar.pk}": calendar.version,
            "post": "yes",
        },
    )
    assert ServiceCalendar.objects.filter(pk=calendar.pk).exists()
    assert not audit_events("service_calendar", calendar.pk)
