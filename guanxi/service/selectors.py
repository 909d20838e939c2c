"""Reads of the service desk, always through the customers a user can see: a ticket is visible
exactly when its customer is (``customers.visibility``), so a sales rep sees their own
customers' tickets, a manager their department's (all, for the manager of service agents), and
service agents and administrators all."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from guanxi.customers.models import Customer
from guanxi.customers.visibility import VIEW, customer_scopes

from .models import Notification, Ticket

OPEN = "open_any"  # filter value: new, open or pending customer


def _visible_customer_ids(user):
    return Customer.objects.visible_to(user, VIEW).values("pk")


READERS_PER_QUERY = 500
# SQLite as built by default takes 32,766 values in one query; a scope names its team's or
# department's members one value each.
VALUES_PER_QUERY = 30_000


def _values(scope: Q) -> int:
    """How many values ``scope`` asks the database: one per id of a list, one per other value."""
    count = 0
    for child in scope.children:
        if isinstance(child, Q):
            count += _values(child)
        else:
            value = child[1]
            count += len(value) if isinstance(value, (list, tuple, set, frozenset)) else 1
    return count


def _in_queries(scopes: list, room: int) -> list[list]:
    """``scopes`` cut into runs of at most ``READERS_PER_QUERY`` that ask at most ``room``
    values between them; a scope asking more than that on its own is asked alone, as the
    pages of its user ask it."""
    runs: list[list] = []
    run: list = []
    used = 0
    for item in scopes:
        values = _values(item[0])
        if run and (len(run) == READERS_PER_QUERY or used + values > room):
            runs.append(run)
            run, used = [], 0
        run.append(item)
        used += values
    if run:
        runs.append(run)
    return runs


def ticket_readers(ticket: Ticket, users: Iterable) -> list:
    """Those of ``users`` who may see ``ticket`` (as :func:`tickets_for_user` decides: its
    customer is visible to them), in their order."""
    return customer_readers([ticket.customer_id], users).get(ticket.customer_id, [])


def customer_readers(
    customer_ids: Iterable[int], users: Iterable, *, deleted: bool = False
) -> dict[int, list]:
    """For each of the customers, those of ``users`` who may see it (and so its tickets), in
    their order: the SLA sweep asks about the customers of a whole batch of tickets at once.

    Asked in one query for up to ``READERS_PER_QUERY`` scopes: each is one filtered count over
    the customers. A ticket watched by dozens of people otherwise cost a query for each of them
    on every reply, note and customer message, while the ticket's row stayed locked. People
    with the same scope (the reps of one sharing team, the managers of one department) are
    counted once: a scope lists its team's or department's members, and a count for each of
    500 members of a team of 500 asked more values than SQLite takes in one query (250,000, or
    32,766 as built by default). The scopes themselves are worked out together
    (:func:`customer_scopes`), in as many queries for 3,000 reps of 300 teams as for two.

    ``deleted``: a customer in the recycle bin counts as if it were back, for a notice the bell
    shows only once it is (:func:`notifications_for_user`)."""
    users = list(users)
    wanted = set(customer_ids) - {None}
    scopes: dict[Q, list[int]] = {}  # a scope -> the positions of the users who have it
    for position, scope in enumerate(customer_scopes(users, VIEW, deleted=deleted)):
        scopes.setdefault(scope, []).append(position)
    distinct = list(scopes.items())
    readers: dict[int, set[int]] = {pk: set() for pk in wanted}
    # A count is a column of the answer, and SQLite answers at most 2,000 of them; and the
    # scopes of managers of two departments of 20,000 each, asked together, are more values
    # than SQLite takes, though each alone is not.
    for some in _in_queries(distinct, VALUES_PER_QUERY - len(wanted)) if wanted else []:
        rows = (
            Customer.objects.filter(pk__in=wanted)
            .order_by()
            .values("pk")
            .annotate(
                **{
                    f"scope_{i}": Count("pk", filter=scope)
                    for i, (scope, _positions) in enumerate(some)
                }
            )
        )
        for row in rows:
            for i, (_scope, positions) in enumerate(some):
                if row[f"scope_{i}"]:
                    readers[row["pk"]].update(positions)
    return {pk: [users[p] for p in sorted(positions)] for pk, positions in readers.items()}


def tickets_for_user(
    user,
    *,
    status: str | None = None,
    type: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    category_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    customer_id: int | None = None,
    breached: bool = False,
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Ticket]:
    queryset = Ticket.objects.filter(customer__in=_visible_customer_ids(user))
    if status == OPEN:
        queryset = queryset.filter(status__in=Ticket.OPEN_STATUSES)
    elif status:
        queryset = queryset.filter(status=status)
    for name, value in (
        ("type", type),
        ("priority", priority),
        ("channel", channel),
        ("category_id", category_id),
        ("assignee_id", assignee_id),
        ("customer_id", customer_id),
    ):
        if value not in (None, ""):
            queryset = queryset.filter(**{name: value})
    if unassigned:
        queryset = queryset.filter(assignee__isnull=True)
    if breached:
        from django.db.models import Q
        from django.utils import timezone

        moment = now or timezone.now()
        queryset = queryset.filter(status__in=Ticket.OPEN_STATUSES).filter(
            Q(first_response_due__lt=moment)
            | Q(next_response_due__lt=moment)
            | Q(resolution_due__lt=moment)
        )
    if created_from:
        queryset = queryset.filter(created_at__date__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__date__lte=created_to)
    return queryset


def ticket_get_for_user(user, ticket_id) -> Ticket:
    """One ticket of a customer ``user`` may see; ``Ticket.DoesNotExist`` otherwise, whether it
    exists or not."""
    try:
        pk = int(ticket_id)
    except (TypeError, ValueError):
        raise Ticket.DoesNotExist from None
    return (
        tickets_for_user(user)
        .select_related("customer", "category", "assignee", "owner", "team", "sla_policy")
        .get(pk=pk)
    )


def ticket_orders_for_user(user, ticket: Ticket) -> QuerySet:
    """The orders ``ticket`` is about that ``user`` may see. A ticket is linked to orders of its
    own customer, but undoing a merge of customers gives the merged one its orders back while a
    ticket opened on the kept one meanwhile stays linked to them: such an order is named only to
    whoever may see the customer it belongs to now."""
    from guanxi.orders.selectors import orders_for_user

    return orders_for_user(user).filter(tickets=ticket)


def notifications_for_user(user) -> QuerySet[Notification]:
    """The user's in-app notices, newest first, but for those about a ticket whose customer
    they may no longer see (it changed hands, or they changed team since): a notice quotes its
    ticket's number and deadlines, and the one visibility rule decides who reads those now,
    not who did when it was written. A notice hidden so comes back should sight come back."""
    # Asked notice by notice, by primary keys, not as the set of every ticket the user may see:
    # the bell counts unread notices on every page, and an administrator sees them all. A
    # scalar subquery, not EXISTS: PostgreSQL may answer an EXISTS under OR with a hashed
    # subplan that reads every ticket the user may see (0.4 s for 100,000 tickets, for 80
    # unread notices), whereas this it asks once per notice.
    readable = Ticket.objects.filter(
        pk=OuterRef("ticket_id"), customer__in=_visible_customer_ids(user)
    ).values("pk")[:1]
    return Notification.objects.filter(user=user).filter(
        Q(ticket__isnull=True) | Q(ticket_id=Subquery(readable))
    )


def unread_notifications(user) -> QuerySet[Notification]:
    return notifications_for_user(user).filter(read_at__isnull=True)
