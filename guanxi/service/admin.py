"""Administrators edit the category tree, calendars, service-level policies and agents' skills
here. Saving a policy or a calendar recomputes the open tickets' deadlines in the background."""

from django.contrib import admin
from django.db import transaction

from .models import AgentProfile, ServiceCalendar, SlaPolicy, TicketCategory


def _recompute_later(policy_id=None) -> None:
    from .tasks import recompute_policy_deadlines

    transaction.on_commit(lambda: recompute_policy_deadlines.enqueue(policy_id))


@admin.register(TicketCategory)
class TicketCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "parent", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "name_en")


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "updated_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            _recompute_later()


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "name",
        "is_active",
        "calendar",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
    )
    list_display_links = ("name",)
    ordering = ("position", "id")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _recompute_later()  # a new or changed rule may now match other open tickets


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "is_absent")
    list_filter = ("is_absent",)
    filter_horizontal = ("skills",)
