from django.contrib import admin

from guanxi.audit.setting_admin import AuditedSettingAdmin
from guanxi.web.admin_selection import CheckedSelectionMixin

from .models import AnalyticsRun, Blacklist, ChurnFollowUp, ValueSettings


@admin.register(ValueSettings)
class ValueSettingsAdmin(AuditedSettingAdmin):
    """The one settings row: it can be edited (through the audited service, refused when the
    page is stale), never added a second time or deleted."""

    list_display = ("__str__", "gold_share", "lead_share", "clv_horizon_months")

    def has_add_permission(self, request):
        return not ValueSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        ValueSettings.load()  # so there is always a row to open
        return super().changelist_view(request, extra_context)

    def save_setting(self, request, obj, form, *, expected_version):
        from .services import value_settings_save

        value_settings_save(actor=request.user, settings_row=obj, expected_version=expected_version)


@admin.register(AnalyticsRun)
class AnalyticsRunAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """Read-only here: a run holds every customer's stored value (tier, lifecycle stage, credit
    rating, which holds new orders for approval), so deleting one would change them all with no
    row in any customer's history; the refresh writes runs and prunes the old ones."""

    list_display = ("id", "as_of", "status", "is_current", "started_at", "finished_at")
    list_filter = ("status", "is_current")
    readonly_fields = [f.name for f in AnalyticsRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Blacklist)
class BlacklistAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """Read-only here: adding and removing go through the audited services."""

    list_display = ("customer", "reason", "added_by", "added_at")
    raw_id_fields = ("customer",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChurnFollowUp)
class ChurnFollowUpAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """Read-only here: the refresh opens follow-ups and closing one goes through the audited
    service."""

    list_display = (
        "customer",
        "owner",
        "reason",
        "value_at_risk",
        "value_at_risk_partial",
        "created_at",
        "done_at",
    )
    list_filter = ("reason",)
    raw_id_fields = ("customer", "owner", "run")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
