"""Administrators edit the category tree, calendars, service-level policies and agents' skills
here. Saving a policy or a calendar recomputes the open tickets' deadlines in the background."""

from django.contrib import admin
from django.db import transaction

from guanxi.accounts.forms import ActiveUserFieldsForm

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


class SlaPolicyForm(ActiveUserFieldsForm):
    active_user_fields = ("general_manager",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _recompute_later()  # a new or changed rule may now match other open tickets


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Absence and skills decide who routing gives tickets to: saving and deleting go through
    the services, which write the audit rows."""

    list_display = ("user", "is_absent")
    list_filter = ("is_absent",)
    filter_horizontal = ("skills",)

    def save_model(self, request, obj, form, change):
        from .services import agent_profile_save

        agent_profile_save(
            actor=request.user,
            profile=obj,
            skill_ids=[category.pk for category in form.cleaned_data["skills"]],
        )

    def save_related(self, request, form, formsets, change):
        # The skills were set (and audited) by agent_profile_save; the form must not set them
        # a second time outside the audit.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        from .services import agent_profiles_delete

        agent_profiles_delete(actor=request.user, profile_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        from .services import agent_profiles_delete

        agent_profiles_delete(
            actor=request.user, profile_ids=list(queryset.values_list("pk", flat=True))
        )
