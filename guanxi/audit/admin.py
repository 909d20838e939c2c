from django.contrib import admin

from guanxi.web.admin_selection import CheckedSelectionMixin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """Read-only: the audit trail cannot be edited or deleted through the application."""

    list_display = ("occurred_at", "actor", "action", "object_type", "object_id", "summary", "via")
    list_filter = ("action", "object_type", "via")
    search_fields = ("summary",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
