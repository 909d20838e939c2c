"""What every page's layout needs: the navigation for the signed-in user's role."""

from functools import cache

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.roles import REASSIGNING_ROLES
from guanxi.customers.visibility import can_create_customers


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        ("customers", _("Customers"), reverse("customers:list")),
        ("interactions", _("Interactions"), reverse("interactions:list")),
        ("service", _("Service desk"), reverse("service:list")),
        ("knowledge", _("Knowledge base"), reverse("knowledge:list")),
        ("dedup", _("Duplicates"), reverse("dedup:queue")),
        # Everyone sees some customers, so everyone gets the figures of those they see.
        ("analytics", _("Analytics"), reverse("analytics:dashboard")),
    ]
    if can_create_customers(user):
        items.append(("imports", _("Import"), reverse("imports:list")))
    if user.is_superuser or user.role in REASSIGNING_ROLES:
        items.append(("reassign", _("Reassign"), reverse("customers:reassign")))
    section = (request.resolver_match.namespace if request.resolver_match else "") or ""
    if request.resolver_match and request.resolver_match.url_name == "reassign":
        section = "reassign"
    from guanxi.service.selectors import unread_notifications

    # The bell in the header: service-level warnings and escalations not read yet. Every render
    # with a request runs this processor, the htmx fragments too (a suggestion list on each
    # keystroke), and they have no bell; so the count is a callable the template calls only
    # where it shows the bell, and cached, since the bell reads it more than once per page.
    @cache
    def unread_notices() -> int:
        return unread_notifications(user).count()

    return {
        "unread_notices": unread_notices,
        "nav_items": [
            {"key": key, "label": label, "url": url, "active": key == section}
            for key, label, url in items
        ],
    }
