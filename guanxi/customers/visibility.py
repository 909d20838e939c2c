"""THE visibility rule: which customers a user may view, interact with, or change.

Every page, API endpoint, search, export and report reaches customers through
``Customer.objects.visible_to(user, action)``, which applies :func:`customer_scope`. Related
records (interactions, contacts, history) are reached through a visible customer.

    role            view                              interact            change
    admin           all                               all                 all
    analyst         all                               none (read-only)    none
    manager         their department's owners' + the  same as view        their department's
                    unowned pool; all if an active                        owners' + the unowned
                    service agent is in their                             pool
                    department
    service agent   all (they answer whoever calls)   all                 customers they own
    sales rep       own + teammates' when the team    same as view        own + teammates' when
                    shares (Team.customer_sharing)                        the team shares "edit"

A manager may view and interact with at least what the people they manage may: the manager
of a department with an active service agent sees every customer, as the agents do, so that
the tickets the agents work for any caller are not hidden from their own manager. What a
manager may change stays their department's owners' customers and the unowned pool.

Deleted customers are invisible to everyone.
"""

from collections.abc import Iterable
from typing import NamedTuple

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


def organisation_scope(user, action: str = VIEW) -> Q:
    """The people whose organisation ``user`` may ``action``, as a condition on the person's
    own row: the rule of :func:`customer_scope` asked of ``Customer.organization_owner``, the
    organisation's account manager that each person's row carries (kept by the database, see
    ``customers/migrations/0014_organisation_owner_of_people``). The rule reads nothing of a
    customer but its owner and whether it is in the recycle bin, and a person out of the bin
    belongs to no organisation in it (``customer_delete`` refuses an organisation with people),
    so this is the rule itself, for the organisation, read from the person.

    ``Q()`` (no condition) for whoever sees every organisation. Meant for filters where a
    condition on another row would cost every row read (see ``selectors.search_matches``);
    true for people with no organisation only where it is ``Q()``."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    return _scope(user, action, True, _Memberships([user]), owner="organization_owner")


def customer_scopes(users: Iterable, action: str = VIEW, *, deleted: bool = False) -> list[Q]:
    """:func:`customer_scope` for each of ``users``, in their order, in at most three queries
    however many they are (their teams' sharing, their teams' members, their departments'
    members and whether an active service agent is one), instead of one or two per sales rep
    or manager: a ticket followed by 3,000 reps otherwise asked 3,000 queries while its row
    stayed locked. Both go through :func:`_scope`, so the rule is written once and the two
    cannot disagree."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    users = list(users)
    memberships = _Memberships(users)
    return [_scope(user, action, deleted, memberships) for user in users]


def _scope(
    user, action: str, deleted: bool, memberships: "_Memberships", *, owner: str = "owner"
) -> Q:
    """The rule, for the customer whose account manager is the row's ``owner`` field."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    alive = Q() if deleted else NOT_DELETED
    if user.is_superuser or user.role == Role.ADMIN:
        return alive
    if user.role == Role.ANALYST:
        return alive if action == VIEW else NOTHING
    owned_by = f"{owner}_id"
    if user.role == Role.MANAGER:
        if user.department_id is None:
            return alive & Q(**{owned_by: user.pk})
        department = memberships.members(user, "department_id", user.department_id)
        if action != CHANGE and department.has_active_agent:
            # Their agents answer every customer; their manager must see what they work on.
            return alive
        return alive & (
            Q(**{f"{owned_by}__in": department.ids}) | Q(**{f"{owned_by}__isnull": True})
        )
    if user.role == Role.SERVICE_AGENT:
        return alive if action != CHANGE else alive & Q(**{owned_by: user.pk})
    if user.role == Role.SALES_REP:
        return alive & Q(**{f"{owned_by}__in": _rep_owner_ids(user, action, memberships)})
    return NOTHING


def _rep_owner_ids(user, action: str, memberships: "_Memberships") -> tuple[int, ...]:
    team = memberships.team(user)
    if team is None:
        return (user.pk,)
    sharing = team.customer_sharing
    shares = sharing == "edit" or (sharing == "view" and action != CHANGE)
    if not shares:
        return (user.pk,)
    return memberships.members(user, "team_id", team.pk).ids


class _Members(NamedTuple):
    """A team's or department's members as the rule needs them: the ids of its active and
    former members (a tuple, not a list: scopes are compared and hashed, ``ticket_readers``
    groups people by scope, and Django hashes a tuple of ids at C speed but a list an id at a
    time, which for 3,000 reps of one team was 9 million steps, most of a second and a half),
    and whether an active service agent is among them."""

    ids: tuple[int, ...]
    has_active_agent: bool


class _Group(NamedTuple):
    members: _Members
    known: frozenset[int]  # ``members.ids`` as a set, to tell quickly whether a user is one


class _Memberships:
    """The teams and departments the rule reads for a group of users. Each kind is read for the
    whole group the first time the rule asks about one of them, so a group costs the queries
    one user would, and a kind the rule never asks about (departments, when no manager is
    among them) costs nothing."""

    def __init__(self, users: list):
        self._users = [user for user in users if user is not None and user.pk is not None]
        self._teams_read = False
        self._groups: dict[str, dict[int, _Group]] = {}

    def team(self, user):
        if not self._teams_read:
            self._teams_read = True
            # Only the teams not already read with their users (``select_related("team")``).
            prefetch_related_objects([u for u in self._users if u.team_id is not None], "team")
        return user.team

    def members(self, user, field: str, value: int) -> _Members:
        """The members of ``user``'s team/department (``user`` always among them), cached on
        the user object for the length of a request so that one request asks only once."""
        cache = user.__dict__.setdefault("_guanxi_members", {})
        key = (field, value)
        if key not in cache:
            if field not in self._groups:
                self._groups[field] = self._read_groups(field)
            group = self._groups[field].get(value)
            if group is None:
                cache[key] = _Members((user.pk,), False)
            elif user.pk in group.known:
                cache[key] = group.members
            else:
                cache[key] = group.members._replace(ids=(*group.members.ids, user.pk))
        return cache[key]

    def _read_groups(self, field: str) -> dict[int, _Group]:
        """Each team's/department's members and whether an active service agent is one, in one
        query for all of them; the ids also as a set, so that telling whether a user is a member
        does not search a team of 3,000's tuple 3,000 times."""
        from guanxi.accounts.models import User

        wanted = {getattr(user, field) for user in self._users} - {None}
        ids: dict[int, list[int]] = {value: [] for value in wanted}
        with_agent: set[int] = set()
        rows = User.objects.filter(**{f"{field}__in": wanted}).order_by(field, "pk")
        for value, pk, role, is_active in rows.values_list(field, "pk", "role", "is_active"):
            ids[value].append(pk)
            if is_active and role == Role.SERVICE_AGENT:
                with_agent.add(value)
        return {
            value: _Group(_Members(tuple(pks), value in with_agent), frozenset(pks))
            for value, pks in ids.items()
        }


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


def can_restore_customers(user) -> bool:
    """Whether ``user`` may open the recycle bin and bring customers back from it:
    administrators only, since a restored customer is back in everyone's lists."""
    return bool(user and user.is_authenticated and user.is_active) and (
        user.is_superuser or user.role == Role.ADMIN
    )
