from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import ApiToken, Department, User
from .roles import Role


def assignable_owners_for_user(user) -> QuerySet[User]:
    """Active users ``user`` may make account manager of a customer."""
    queryset = User.objects.filter(is_active=True).order_by("username")
    if user.is_superuser or user.role == Role.ADMIN:
        return queryset
    if user.role == Role.MANAGER and user.department_id:
        return queryset.filter(department_id=user.department_id)
    return queryset.filter(pk=user.pk)


def staff_directory_for_user(user) -> QuerySet[User]:
    """Colleagues a signed-in user may look up (names and roles only; everyone sees everyone,
    like a company phone book)."""
    if not user.is_authenticated:
        return User.objects.none()
    return (
        User.objects.filter(is_active=True)
        .select_related("team", "department")
        .order_by("username")
    )


def api_tokens_for_user(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def user_has_live_api_tokens(user) -> bool:
    """Whether ``user`` holds an API token not revoked: a new password revokes them
    (``services.user_password_change_record``), and the page setting it says so."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def api_token_revoked(raw: str) -> bool:
    """Whether ``raw`` is a token that was made and then revoked: the API tells a script
    sending one so, and its owner knows to make a new token rather than look for a typing
    mistake. It tells only what whoever holds the token could learn anyway (that it once
    worked), nothing of its owner nor of their other tokens."""
    if not ApiToken.may_be_one(raw):
        return False
    return ApiToken.objects.filter(
        key_hash=ApiToken.hash_raw(raw), revoked_at__isnull=False
    ).exists()


@dataclass(frozen=True)
class Holdings:
    """What a user still holds that someone must go on working when they leave: the customers
    they are account manager of (those in use; the recycle bin's keep their owner, and a
    restore gives those of someone who has left to the unowned pool), open tickets assigned to
    them or with them as first contact, and open churn follow-ups (both on customers in the
    recycle bin too: neither has such a fallback, and a restored customer's would stay with
    someone who has left)."""

    customers: int
    open_tickets: int
    open_follow_ups: int

    def __bool__(self) -> bool:
        return bool(self.customers or self.open_tickets or self.open_follow_ups)


def user_holdings(user: User) -> Holdings:
    """What ``user`` holds, counted across the company: a handover must leave nothing behind,
    whoever looks. Only administrators act on it (``user_deactivate``)."""
    from guanxi.analytics.models import ChurnFollowUp
    from guanxi.customers.models import Customer
    from guanxi.service.models import Ticket

    return Holdings(
        customers=Customer.objects.filter(owner=user, deleted_at__isnull=True).count(),
        open_tickets=Ticket.objects.held_open_by([user.pk]).count(),
        open_follow_ups=ChurnFollowUp.objects.filter(owner=user, done_at__isnull=True).count(),
    )


def user_last_agent_department(user: User) -> Department | None:
    """The department ``user`` is the last active service agent of, when it has active
    managers who are not superusers: they see every customer only while an active agent is in
    their department, so deactivating ``user`` puts their open tickets on customers they no
    longer see back in the queue (``services.user_deactivate``). ``None`` otherwise."""
    from .models import Department

    if not (user.is_active and user.role == Role.SERVICE_AGENT and user.department_id):
        return None
    active = User.objects.filter(department_id=user.department_id, is_active=True)
    if active.filter(role=Role.SERVICE_AGENT).exclude(pk=user.pk).exists():
        return None
    # A superuser sees every customer whatever their department holds, and loses nothing.
    if not active.filter(role=Role.MANAGER, is_superuser=False).exists():
        return None
    return Department.objects.get(pk=user.department_id)


@dataclass(frozen=True)
class EscalationRole:
    """A place where a user is named to hear about tickets going wrong: a department's manager,
    a team's lead, a service-level policy's general manager (see ``service.sweep``).
    ``description`` says which, in words; ``admin_url`` is the admin page where it is changed."""

    description: str
    admin_url: str


def user_escalation_roles(user: User) -> list[EscalationRole]:
    """Every department ``user`` manages, team they lead and service-level policy (active or
    not: tickets keep the policy they were opened under) they are the general manager of."""
    from guanxi.service.models import SlaPolicy

    from .models import Department, Team

    roles = [
        EscalationRole(
            _("manager of the department “%(name)s”") % {"name": department.name},
            reverse("admin:accounts_department_change", args=[department.pk]),
        )
        for department in Department.objects.filter(manager=user).order_by("name")
    ]
    roles += [
        EscalationRole(
            _("lead of the team “%(name)s”") % {"name": team},
            reverse("admin:accounts_team_change", args=[team.pk]),
        )
        for team in Team.objects.filter(lead=user).select_related("department")
    ]
    roles += [
        EscalationRole(
            _("general manager of the service-level policy “%(name)s”") % {"name": policy.name},
            reverse("admin:service_slapolicy_change", args=[policy.pk]),
        )
        for policy in SlaPolicy.objects.filter(general_manager=user).order_by("position", "pk")
    ]
    return roles


def inactive_users_holding_escalation_roles() -> QuerySet[User]:
    """Inactive users still named a department's manager, a team's lead or a service-level
    policy's general manager: deactivated before deactivating refused it while they held one
    (or changed straight in the database). The sweep leaves inactive people out, so the
    escalations meant for them reach nobody until someone else is chosen. Staff names only,
    for administrators (the admin site, ``guanxi check --database default``)."""
    from guanxi.service.models import SlaPolicy

    from .models import Department, Team

    # IN, never NOT IN: the subqueries hold NULL for every unmanaged department or team.
    return (
        User.objects.filter(is_active=False)
        .filter(
            Q(pk__in=Department.objects.values("manager"))
            | Q(pk__in=Team.objects.values("lead"))
            | Q(pk__in=SlaPolicy.objects.values("general_manager"))
        )
        .order_by("username")
    )
