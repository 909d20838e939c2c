"""Reads of customer data, always through the visibility rule."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet

from guanxi.core.text import digits_only, fold

from .models import Customer, MarketingConsent
from .visibility import VIEW


def access_customer(user, customer_id, action: str = VIEW, *, for_update: bool = False) -> Customer:
    """Fetch one customer through ``user``'s scope for ``action``.

    Raises ``Customer.DoesNotExist`` when the user may not even see it (so its existence is not
    revealed) and ``PermissionDenied`` when they may see it but not do ``action`` to it.
    """
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        raise Customer.DoesNotExist from None
    queryset = Customer.objects.visible_to(user, action)
    if for_update:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(pk=pk)
    except Customer.DoesNotExist:
        if action != VIEW and Customer.objects.visible_to(user, VIEW).filter(pk=pk).exists():
            raise PermissionDenied from None
        raise


def customer_list_for_user(user, *, filters: dict | None = None) -> QuerySet[Customer]:
    """Customers ``user`` may see, narrowed by the list filters (all optional)."""
    queryset = Customer.objects.visible_to(user, VIEW)
    filters = filters or {}
    query = (filters.get("q") or "").strip()
    if query:
        queryset = queryset.filter(search_matches(query))
    for name in (
        "kind",
        "lifecycle_stage",
        "relationship_level",
        "source_channel",
        "party_type",
        "industry",
        "region",
    ):
        value = filters.get(name)
        if value:
            queryset = queryset.filter(**{name: value})
    if filters.get("owner_id"):
        queryset = queryset.filter(owner_id=filters["owner_id"])
    if filters.get("unowned"):
        queryset = queryset.filter(owner__isnull=True)
    if filters.get("tag"):
        queryset = queryset.filter(tags__name=filters["tag"])
    if filters.get("organization_id"):
        queryset = queryset.filter(organization_id=filters["organization_id"])
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gte=filters["updated_since"])
    return queryset


def search_matches(query: str):
    """Every word of the query must appear in the customer's search text.

    The search text holds folded names, pinyin, phone digits, emails and tags (see
    ``customers.search.build_search_text``), so one ``contains`` per word covers all of them.
    """
    from django.db.models import Q

    condition = Q()
    for word in fold(query).split():
        digits = digits_only(word)
        # Phone fragments are matched on digits alone: "138-1234" finds 13812345678.
        term = digits if len(digits) >= 4 and len(digits) >= len(word) - 2 else word
        condition &= Q(search_text__contains=term)
    return condition


def customer_detail_for_user(user, customer_id) -> Customer:
    customer = access_customer(user, customer_id, VIEW)
    return (
        Customer.objects.filter(pk=customer.pk)
        .select_related("owner", "organization", "created_by")
        .prefetch_related(
            "phones",
            "emails",
            "addresses",
            "tags",
            Prefetch("consents", queryset=MarketingConsent.objects.select_related("recorded_by")),
        )
        .get()
    )


def organization_people_for_user(user, organization: Customer) -> QuerySet[Customer]:
    """The people of an organisation that ``user`` may see."""
    return (
        Customer.objects.visible_to(user, VIEW)
        .filter(organization=organization)
        .prefetch_related("phones", "emails")
        .order_by("name", "id")
    )
