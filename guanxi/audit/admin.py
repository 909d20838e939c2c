from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from guanxi.web.admin_selection import CheckedSelectionMixin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """Read-only: the audit trail cannot be edited or deleted through the application."""

    list_display = ("occurred_at", "actor", "action", "object_type", "object_id", "shown", "via")
    list_filter = ("action", "object_type", "via")
    search_fields = ("summary",)

    @admin.display(description=_("summary"))
    def shown(self, event: AuditEvent) -> str:
        # In the reader's language; the search still finds the text as it was written.
        return event.summary_text()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
