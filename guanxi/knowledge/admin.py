"""Articles in the admin site, to look up only: they are written, edited and unpublished on the
knowledge base's pages, whose services rebuild the search tokens, check the version and write
the audit row — none of which a save from the admin site would do."""

from django.contrib import admin

from guanxi.web.admin_selection import CheckedSelectionMixin

from .models import Article


@admin.register(Article)
class ArticleAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    list_display = ("title", "category", "is_published", "created_by", "updated_at", "version")
    list_filter = ("is_published", "category")
    search_fields = ("title", "problem", "solution")
    list_select_related = ("category", "created_by")
    fields = (
        "title",
        "problem",
        "cause",
        "solution",
        "category",
        "source_ticket",
        "is_published",
        "created_by",
        "created_at",
        "updated_at",
        "version",
    )
    raw_id_fields = ("source_ticket",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
