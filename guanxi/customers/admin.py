"""Only reference data is edited in the admin site. Customers themselves are changed through the
services (web UI and API), so that every change is checked, scoped and audited."""

from django.contrib import admin

from .models import CustomFieldDefinition, Tag


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "label", "label_zh_hans", "field_type", "required", "is_active")
    list_editable = ("required", "is_active")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
