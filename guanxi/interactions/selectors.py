"""Reads of the interaction timeline, scoped through the customers a user can see."""

from django.db.models import QuerySet

from guanxi.customers.models import Customer
from guanxi.customers.visibility import VIEW

from .models import Interaction


def interactions_for_customer(*, customer: Customer) -> QuerySet[Interaction]:
    """Timeline of a customer already fetched through the visibility rule."""
    return Interaction.objects.filter(customer=customer).select_related("staff")


def interaction_list_for_user(user, *, filters: dict | None = None) -> QuerySet[Interaction]:
    """Interactions on every customer ``user`` may see."""
    filters = filters or {}
    visible = Customer.objects.visible_to(user, VIEW)
    queryset = Interaction.objects.filter(customer__in=visible.values("pk")).select_related(
        "staff", "customer"
    )
    for name in ("channel", "direction", "staff_id", "customer_id"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("since"):
        queryset = queryset.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(occurred_at__lt=filters["until"])
    return queryset


def interaction_timeline_for_user(user, customer_id) -> QuerySet[Interaction]:
    """Timeline of one customer ``user`` may see; raises ``Customer.DoesNotExist`` otherwise."""
    from guanxi.customers.selectors import access_customer

    customer = access_customer(user, customer_id, VIEW)
    return interactions_for_customer(customer=customer).select_related("customer")
