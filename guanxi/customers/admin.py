"""Only reference data is edited in the admin site. Customers themselves are changed through the
services (web UI and API), so that every change is checked, scoped and audited."""

from django.contrib import admin

from .models import CustomFieldDefinition, Tag


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    """Adding, changing (on the form or in the list) and deleting go through the services,
    which write the audit rows."""

    list_display = ("key", "label", "label_zh_hans", "field_type", "required", "is_active")
    list_editable = ("required", "is_active")

    def save_model(self, request, obj, form, change):
        from .services import custom_field_definition_save

        custom_field_definition_save(actor=request.user, definition=obj)

    def delete_model(self, request, obj):
        from .services import custom_field_definitions_delete

        custom_field_definitions_delete(actor=request.user, definition_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        from .services import custom_field_definitions_delete

        custom_field_definitions_delete(
            actor=request.user, definition_ids=list(queryset.values_list("pk", flat=True))
        )


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """A tag is renamed or deleted on every customer wearing it, so both go through the
    services, which give those customers their audit rows and search text."""

    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        from .services import tag_rename

        tag_rename(actor=request.user, tag_id=obj.pk, name=obj.name)

    def delete_model(self, request, obj):
        from .services import tags_delete

        tags_delete(actor=request.user, tag_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        from .services import tags_delete

        tags_delete(actor=request.user, tag_ids=list(queryset.values_list("pk", flat=True)))
