"""Only reference data is edited in the admin site. Customers themselves are changed through the
services (web UI and API), so that every change is checked, scoped and audited."""

from django.contrib import admin

from guanxi.audit.setting_admin import AuditedSettingAdmin

from . import services
from .models import CustomFieldDefinition, Tag


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(AuditedSettingAdmin):
    """Adding, changing (on the form or in the list) and deleting go through the services,
    which write the audit rows; a stale form or list row is refused (see
    ``guanxi.audit.setting_admin``)."""

    list_display = ("key", "label", "label_zh_hans", "field_type", "required", "is_active")
    list_editable = ("required", "is_active")

    def save_setting(self, request, obj, form, *, expected_version):
        services.custom_field_definition_save(
            actor=request.user, definition=obj, expected_version=expected_version
        )

    def delete_settings(self, request, queryset):
        services.custom_field_definitions_delete(
            actor=request.user, definition_ids=list(queryset.values_list("pk", flat=True))
        )


@admin.register(Tag)
class TagAdmin(AuditedSettingAdmin):
    """A tag is renamed or deleted on every customer wearing it, so both go through the
    services, which give those customers their audit rows and search text; a rename from a page
    opened before someone else's is refused. A new tag is worn by nobody yet: it is simply
    stored."""

    search_fields = ("name",)

    def save_setting(self, request, obj, form, *, expected_version):
        if obj.pk is None:
            obj.save()
            return
        services.tag_rename(
            actor=request.user, tag_id=obj.pk, name=obj.name, expected_version=expected_version
        )

    def delete_settings(self, request, queryset):
        services.tags_delete(
            actor=request.user, tag_ids=list(queryset.values_list("pk", flat=True))
        )
