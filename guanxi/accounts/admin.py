from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Department, Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "role", "department", "team", "is_active")
    list_filter = ("role", "department", "team", "is_active")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Guanxi"), {"fields": ("display_name", "role", "department", "team")}),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "department", "customer_sharing", "lead")
    list_filter = ("department", "customer_sharing")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "key_hash", "hint", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False
