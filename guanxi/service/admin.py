"""Administrators edit the category tree, calendars, service-level policies and agents' skills
here, each through its audited service and refused when the page is stale (see
``guanxi.audit.setting_admin``). Saving a policy or a calendar recomputes the open tickets'
deadlines in the background."""

from django.contrib import admin

from guanxi.accounts.forms import ActiveUserFieldsForm
from guanxi.audit.setting_admin import AuditedSettingAdmin, VersionCheckForm

from . import services
from .models import AgentProfile, ServiceCalendar, SlaPolicy, TicketCategory


@admin.register(TicketCategory)
class TicketCategoryAdmin(AuditedSettingAdmin):
    list_display = ("name", "name_en", "parent", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "name_en")

    def save_setting(self, request, obj, form, *, expected_version):
        services.ticket_category_save(
            actor=request.user, category=obj, expected_version=expected_version
        )

    def delete_settings(self, request, queryset):
        services.ticket_categories_delete(
            actor=request.user, category_ids=list(queryset.values_list("pk", flat=True))
        )


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(AuditedSettingAdmin):
    """Working hours and holidays are part of the calendar's definition, so they are saved,
    versioned and audited with it."""

    list_display = ("name", "updated_at")

    def save_setting(self, request, obj, form, *, expected_version):
        services.service_calendar_save(
            actor=request.user, calendar=obj, expected_version=expected_version
        )

    def delete_settings(self, request, queryset):
        services.service_calendars_delete(
            actor=request.user, calendar_ids=list(queryset.values_list("pk", flat=True))
        )


class SlaPolicyForm(ActiveUserFieldsForm, VersionCheckForm):
    active_user_fields = ("general_manager",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedSettingAdmin):
    form = SlaPolicyForm
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

    def save_setting(self, request, obj, form, *, expected_version):
        services.sla_policy_save(actor=request.user, policy=obj, expected_version=expected_version)

    def delete_settings(self, request, queryset):
        services.sla_policies_delete(
            actor=request.user, policy_ids=list(queryset.values_list("pk", flat=True))
        )


@admin.register(AgentProfile)
class AgentProfileAdmin(AuditedSettingAdmin):
    """Absence and skills decide who routing gives tickets to."""

    list_display = ("user", "is_absent")
    list_filter = ("is_absent",)
    filter_horizontal = ("skills",)

    def save_setting(self, request, obj, form, *, expected_version):
        services.agent_profile_save(
            actor=request.user,
            profile=obj,
            skill_ids=[category.pk for category in form.cleaned_data["skills"]],
            expected_version=expected_version,
        )

    def delete_settings(self, request, queryset):
        services.agent_profiles_delete(
            actor=request.user, profile_ids=list(queryset.values_list("pk", flat=True))
        )
