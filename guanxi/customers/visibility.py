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

from django.db.models import Q

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
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
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
        members = _member_ids(user, "department_id", user.department_id)
        return alive & (Q(owner_id__in=members) | Q(owner__isnull=True))
    if user.role == Role.SERVICE_AGENT:
        return alive if action != CHANGE else alive & Q(owner_id=user.pk)
    if user.role == Role.SALES_REP:
        return alive & Q(owner_id__in=_rep_owner_ids(user, action))
    return NOTHING


def _rep_owner_ids(user, action: str) -> list[int]:
    team = user.team
    if team is None:
        return [user.pk]
    sharing = team.customer_sharing
    shares = sharing == "edit" or (sharing == "view" and action != CHANGE)
    if not shares:
        return [user.pk]
    return _member_ids(user, "team_id", team.pk)


def _member_ids(user, field: str, value: int) -> list[int]:
    """Ids of active and former members of a team/department, cached on the user object for the
    length of a request so that one request asks only once."""
    cache = user.__dict__.setdefault("_guanxi_member_ids", {})
    key = (field, value)
    if key not in cache:
        from guanxi.accounts.models import User

        ids = list(User.objects.filter(**{field: value}).values_list("pk", flat=True))
        cache[key] = ids if user.pk in ids else [*ids, user.pk]
    return cache[key]


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
