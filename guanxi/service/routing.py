"""Who gets a new ticket, and which service level applies to it.

Assignment, in order:

1. a top-tier (gold) customer's request goes to their key-account manager — the customer's
   owner — when that person is active and not marked absent;
2. otherwise to an agent with the skill for the ticket's category (or a parent category),
   the one with the fewest open tickets (then the lowest id, so the choice is repeatable),
   skipping absent and inactive agents;
3. otherwise nobody: the ticket waits in the unassigned queue.

Whoever is passed over (``passed_over``: deleted or deactivated as the ticket was routed to
them) is skipped as an inactive agent is, and the next in that order gets the ticket.
"""

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, Q

from guanxi.accounts.models import User

from .models import SlaPolicy, Ticket, TicketCategory

TOP_TIERS = ("gold",)


@dataclass(frozen=True)
class Assignment:
    user: User | None
    reason: str  # "key_account", "skill" or "unassigned"


def customer_tier(customer_id: int) -> str:
    """The customer's value tier in the current analytics run ("" before any run, or for a
    customer who never bought)."""
    from guanxi.analytics.models import CustomerValue

    tier = (
        CustomerValue.objects.filter(run__is_current=True, customer_id=customer_id)
        .values_list("pareto_tier", flat=True)
        .first()
    )
    return tier or ""


def customer_tiers(customer_ids) -> dict[int, str]:
    """:func:`customer_tier` of many customers in one query (missing ones have none)."""
    from guanxi.analytics.models import CustomerValue

    return dict(
        CustomerValue.objects.filter(run__is_current=True, customer_id__in=set(customer_ids))
        .exclude(pareto_tier="")
        .values_list("customer_id", "pareto_tier")
    )


def category_lineage(category_id: int | None) -> list[int]:
    """The category and its ancestors, nearest first."""
    lineage: list[int] = []
    while category_id is not None and category_id not in lineage:
        lineage.append(category_id)
        category_id = (
            TicketCategory.objects.filter(pk=category_id)
            .values_list("parent_id", flat=True)
            .first()
        )
    return lineage


def _available(users, passed_over: Collection[int]):
    return (
        users.filter(is_active=True)
        .exclude(agent_profile__is_absent=True)
        .exclude(pk__in=list(passed_over))
    )


def choose_assignee(ticket: Ticket, *, tier: str, passed_over: Collection[int] = ()) -> Assignment:
    owner_id = ticket.customer.owner_id
    if tier in TOP_TIERS and owner_id is not None:
        owner = _available(User.objects.filter(pk=owner_id), passed_over).first()
        if owner is not None:
            return Assignment(owner, "key_account")
    lineage = category_lineage(ticket.category_id)
    for category_id in lineage:
        skilled = (
            _available(User.objects.filter(agent_profile__skills=category_id), passed_over)
            .annotate(
                open_load=Count(
                    "assigned_tickets",
                    filter=Q(assigned_tickets__status__in=Ticket.OPEN_STATUSES),
                )
            )
            .order_by("open_load", "pk")
            .first()
        )
        if skilled is not None:
            return Assignment(skilled, "skill")
    return Assignment(None, "unassigned")


def policy_matches(policy: SlaPolicy, *, tier: str, ticket: Ticket) -> bool:
    conditions = (
        (policy.customer_tiers, tier),
        (policy.ticket_types, ticket.type),
        (policy.priorities, ticket.priority),
        (policy.channels, ticket.channel),
    )
    return all(not allowed or value in allowed for allowed, value in conditions)


def active_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True).select_related("calendar"))


def policy_for(ticket: Ticket, *, tier: str, policies=None) -> SlaPolicy | None:
    """The first active policy, in order, whose rule matches the ticket (``policies``: the
    active ones, read once by a caller matching many tickets)."""
    for policy in active_policies() if policies is None else policies:
        if policy_matches(policy, tier=tier, ticket=ticket):
            return policy
    return None
