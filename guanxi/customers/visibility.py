"""THE visibility rule: which customers a user may view, interact with, or change.

Every page, API endpoint, search, export and report reaches customers through
``Customer.objects.visible_to(user, action)``, which applies :func:`customer_scope`. Related
records (interactions, contacts, history) are reached through a visible customer.

    role            view                              interact            change
    admin           all                               all                 all
    analyst         all                               none (read-only)    none
    manager         their department's owners' + the  same as view        same as view
                    unowned pool
    service agent   all (they answer whoever calls)   all                 customers they own
    sales rep       own + teammates' when the team    same as view        own + teammates' when
                    shares (Team.customer_sharing)                        the team shares "edit"

Deleted customers are invisible to everyone.
"""

from collections.abc import Iterable

from django.db.models import Q, prefetch_related_objects

from guanxi.accounts.roles import WRITING_ROLES, Role

VIEW = "view"
INTERACT = "interact"
CHANGE = "change"
ACTIONS = (VIEW, INTERACT, CHANGE)

NOTHING = Q(pk__in=[])  # Django answers this without querying the database
NOT_DELETED = Q(deleted_at__isnull=True)


def customer_scope(user, action: str = VIEW, *, deleted: bool = False) -> Q:
    """Which customers ``user`` may ``action``. With ``deleted``, customers in the recycle bin
    count as if they were not: who may undo a merge must be allowed to change the customer it
    brings back."""
    return customer_scopes([user], action, deleted=deleted)[0]


def customer_scopes(users: Iterable, action: str = VIEW, *, deleted: bool = False) -> list[Q]:
    """:func:`customer_scope` for each of ``users``, in their order, in at most three queries
    however many they are (their teams' sharing, their teams' members, their departments'
    members), instead of one or two per sales rep or manager: a ticket followed by 3,000 reps
    otherwise asked 3,000 queries while its row stayed locked. Both go through
    :func:`_scope`, so the rule is written once and the two cannot disagree."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    users = list(users)
    memberships = _Memberships(users)
    return [_scope(user, action, deleted, memberships) for user in users]


def _scope(user, action: str, deleted: bool, memberships: "_Memberships") -> Q:
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    alive = Q() if deleted else NOT_DELETED
    if user.is_superuser or user.role == Role.ADMIN:
        return alive
    if user.role == Role.ANALYST:
        return alive if action == VIEW else NOTHING
    if user.role == Role.MANAGER:
        if user.department_id is None:
            return alive & Q(owner_id=user.pk)
        members = memberships.member_ids(user, "department_id", user.department_id)
        return alive & (Q(owner_id__in=members) | Q(owner__isnull=True))
    if user.role == Role.SERVICE_AGENT:
        return alive if action != CHANGE else alive & Q(owner_id=user.pk)
    if user.role == Role.SALES_REP:
        return alive & Q(owner_id__in=_rep_owner_ids(user, action, memberships))
    return NOTHING


def _rep_owner_ids(user, action: str, memberships: "_Memberships") -> tuple[int, ...]:
    team = memberships.team(user)
    if team is None:
        return (user.pk,)
    sharing = team.customer_sharing
    shares = sharing == "edit" or (sharing == "view" and action != CHANGE)
    if not shares:
        return (user.pk,)
    return memberships.member_ids(user, "team_id", team.pk)


class _Memberships:
    """The teams and departments the rule reads for a group of users. Each kind is read for the
    whole group the first time the rule asks about one of them, so a group costs the queries
    one user would, and a kind the rule never asks about (departments, when no manager is
    among them) costs nothing."""

    def __init__(self, users: list):
        self._users = [user for user in users if user is not None and user.pk is not None]
        self._teams_read = False
        self._members: dict[str, dict[int, tuple[tuple[int, ...], frozenset[int]]]] = {}

    def team(self, user):
        if not self._teams_read:
            self._teams_read = True
            # Only the teams not already read with their users (``select_related("team")``).
            prefetch_related_objects([u for u in self._users if u.team_id is not None], "team")
        return user.team

    def member_ids(self, user, field: str, value: int) -> tuple[int, ...]:
        """Ids of active and former members of a team/department, cached on the user object for
        the length of a request so that one request asks only once.

        A tuple, not a list: scopes are compared and hashed (``ticket_readers`` groups people
        by scope), and Django hashes a tuple of ids at C speed but a list an id at a time, which
        for 3,000 reps of one team was 9 million steps, most of a second and a half."""
        cache = user.__dict__.setdefault("_guanxi_member_ids", {})
        key = (field, value)
        if key not in cache:
            if field not in self._members:
                self._members[field] = self._read_members(field)
            ids, known = self._members[field].get(value, ((), frozenset()))
            cache[key] = ids if user.pk in known else (*ids, user.pk)
        return cache[key]

    def _read_members(self, field: str) -> dict[int, tuple[tuple[int, ...], frozenset[int]]]:
        """Each team's/department's members, as a tuple (the scope's) and a set (to tell quickly
        whether a user is among them: a team of 3,000 would otherwise search its tuple 3,000
        times)."""
        from guanxi.accounts.models import User

        wanted = {getattr(user, field) for user in self._users} - {None}
        members: dict[int, list[int]] = {value: [] for value in wanted}
        rows = User.objects.filter(**{f"{field}__in": wanted}).order_by(field, "pk")
        for value, pk in rows.values_list(field, "pk"):
            members[value].append(pk)
        return {value: (tuple(ids), frozenset(ids)) for value, ids in members.items()}


def may_own_customers(user) -> bool:
    """Whether ``user`` may be a customer's account manager: someone who may change the
    customers they own. Every writing role may (see ``customer_scope``: an admin everything, a
    manager their department's owners' customers, an agent and a rep their own); an analyst
    may change nothing, so customers given to one could be worked by nobody on their side.
    ``test_visibility`` checks this against ``customer_scope`` role by role."""
    return bool(user and user.is_active) and (user.is_superuser or user.role in WRITING_ROLES)


def can_create_customers(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active) and (
        user.is_superuser or user.role in WRITING_ROLES
    )
