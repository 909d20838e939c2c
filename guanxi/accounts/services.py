"""Writes to accounts: API tokens, a user's language, deactivating a user who leaves,
departments and teams, passwords set, and the record of what users' and groups' admin pages
(and the commands adding administrators and setting passwords) change."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record, diff_values, setting_save, settings_delete
from guanxi.audit.summaries import Summary
from guanxi.core.locking import key_shared

from .models import ApiToken, Department, Team, User
from .roles import Role
from .selectors import Holdings, user_escalation_roles, user_holdings

# ``hand_over_to`` for handing a leaver's customers to the unowned pool rather than a person.
POOL = "pool"


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str) -> tuple[ApiToken, str]:
    """Make a new token for ``user`` and return it with the raw secret, which is shown once and
    never stored. People make tokens for themselves; administrators may make them for scripts'
    service accounts."""
    if actor.pk != user.pk and not actor.is_admin_role:
        raise PermissionDenied(_("You may only create tokens for yourself."))
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=user,
        name=(name or _("API token")).strip()[:100],
        key_hash=ApiToken.hash_raw(raw),
        hint=raw[:7],
    )
    # A token acts as its user from anywhere: who made one, for whom, is on record (its hint,
    # the first characters shown in lists, names it; the secret is never written).
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="api_token",
        object_id=token.pk,
        summary=f"{user.username}: {token.name} ({token.hint}…)",
        changes={
            "user": {"before": None, "after": user.username},
            "name": {"before": None, "after": token.name},
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke one of ``actor``'s own tokens. Raises ``ApiToken.DoesNotExist`` for an id that is
    no token of theirs (another user's is not told apart from none), ``ValidationError`` for a
    token revoked already (a second click)."""
    token = ApiToken.objects.select_for_update().get(pk=token_id, user=actor)
    if token.revoked_at is not None:
        raise ValidationError({"token_id": _("That token is revoked already.")})
    _api_token_revoke_on_record(actor=actor, token=token, owner=actor, at=timezone.now())
    return token


@transaction.atomic
def api_tokens_revoke(*, actor: User, token_ids: Iterable[int]) -> int:
    """Revoke other people's tokens (administrators only, from the admin site: a token that
    leaked, or a script's that no longer runs), each with an audit row as its owner's revoking
    writes. A token revoked already is left as it was; returns how many were revoked now."""
    if not (actor.is_active and actor.is_admin_role):
        raise PermissionDenied(_("Only administrators revoke other people's API tokens."))
    now = timezone.now()
    tokens = (
        ApiToken.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk__in=set(token_ids), revoked_at__isnull=True)
        .order_by("pk")
    )
    revoked = 0
    for token in tokens:
        _api_token_revoke_on_record(actor=actor, token=token, owner=token.user, at=now)
        revoked += 1
    return revoked


def _api_token_revoke_on_record(*, actor: User, token: ApiToken, owner: User, at: datetime) -> None:
    """Revoke ``token`` (locked, not revoked yet) with the audit row its owner's revoking and
    an administrator's alike write."""
    token.revoked_at = at
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="api_token",
        object_id=token.pk,
        summary=f"{owner.username}: {token.name} ({token.hint}…)",
        changes={"revoked_at": {"before": None, "after": at.isoformat()}},
    )


@transaction.atomic
def user_set_language(*, actor: User, language: str) -> User:
    """Remember the language ``actor`` switched to, so Guanxi speaks it when they sign in on
    another browser and in the mail and notices written for them outside a request."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(
            {
                "language": _("Choose one of: %(values)s.")
                % {"values": ", ".join(code for code, _name in settings.LANGUAGES)}
            }
        )
    user = User.objects.select_for_update().get(pk=actor.pk)
    if user.language != language:
        before = user.language
        user.language = language
        # Their admin page shows the language: one opened before must not put the old one back.
        user.version += 1
        user.save(update_fields=["language", "version"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="user",
            object_id=user.pk,
            summary=user.username,
            changes={"language": {"before": before, "after": language}},
        )
    actor.language = language
    return user


def api_token_authenticate(raw: str) -> User | None:
    """The active user a raw token belongs to, or None. Marks the token used (at most once a
    minute, to keep reads cheap)."""
    if not ApiToken.may_be_one(raw):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__team")
        .filter(key_hash=ApiToken.hash_raw(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _holdings_text(holdings: Holdings) -> str:
    parts = []
    if holdings.customers:
        parts.append(
            ngettext("%(count)d customer", "%(count)d customers", holdings.customers)
            % {"count": holdings.customers}
        )
    if holdings.open_tickets:
        parts.append(
            ngettext("%(count)d open ticket", "%(count)d open tickets", holdings.open_tickets)
            % {"count": holdings.open_tickets}
        )
    if holdings.open_follow_ups:
        parts.append(
            ngettext(
                "%(count)d open churn follow-up",
                "%(count)d open churn follow-ups",
                holdings.open_follow_ups,
            )
            % {"count": holdings.open_follow_ups}
        )
    return _(", ").join(parts)


def _require_administrator(actor: User) -> None:
    if not (actor.is_active and actor.is_admin_role):
        raise PermissionDenied(_("Only administrators deactivate users."))


def user_deactivation_problems(*, actor: User, user: User, hand_over_to) -> dict[str, list[str]]:
    """Why ``actor`` may not deactivate ``user`` handing over to ``hand_over_to`` as asked,
    keyed by the field each is about (empty: they may). Raises ``PermissionDenied`` for anyone
    but an administrator.

    ``user_id``: the user themselves may not be deactivated (it is the actor, or they are
    inactive already). ``hand_over_to``: what they still hold, or why that successor will not
    do.

    ``roles``: the departments they manage, teams they lead and service-level policies whose
    general manager they are. The sweep leaves inactive people out of escalations, so these
    would go to nobody. They are not handed to the successor: that is whoever should work the
    customers (a peer, often, or the unowned pool, which is nobody), while who heads a
    department or hears a policy's last escalation is an appointment someone decides on
    purpose; giving it to the successor silently could send a department's breaches to a
    sales rep. So deactivation is refused, naming each role and the admin page that changes
    it, until someone else holds it."""
    _require_administrator(actor)
    # Who is being deactivated, not whom to hand over to, is wrong here: named as the id the
    # caller gave for them (the API's path, the service's argument).
    if user.pk == actor.pk:
        return {"user_id": [_("You cannot deactivate yourself.")]}
    if not user.is_active:
        return {"user_id": [_("%(user)s is already inactive.") % {"user": user.label}]}
    problems = {}
    roles = user_escalation_roles(user)
    if roles:
        problems["roles"] = [
            _(
                "%(user)s is the %(role)s, who hears about service-level breaches: choose "
                "someone else at %(url)s before deactivating."
            )
            % {"user": user.label, "role": role.description, "url": role.admin_url}
            for role in roles
        ]
    problem = _hand_over_problem(user, hand_over_to)
    if problem:
        problems["hand_over_to"] = [problem]
    return problems


def user_deactivation_refusal(*, actor: User, user: User, hand_over_to) -> str | None:
    """:func:`user_deactivation_problems` in one sentence, or None when there are none. The
    admin site's change form asks this before it saves; :func:`user_deactivate` asks again."""
    problems = user_deactivation_problems(actor=actor, user=user, hand_over_to=hand_over_to)
    return " ".join(text for texts in problems.values() for text in texts) or None


def _hand_over_problem(user: User, hand_over_to) -> str | None:
    if hand_over_to is None:
        holdings = user_holdings(user)
        if holdings:
            return _(
                "%(user)s still owns %(holdings)s. Choose who takes them over (a colleague or "
                "the unowned pool) before deactivating."
            ) % {"user": user.label, "holdings": _holdings_text(holdings)}
        return None
    if hand_over_to == POOL:
        return None
    successor = User.objects.filter(pk=hand_over_to).first()
    if successor is None or not successor.is_active:
        return _("Choose an active colleague, or the unowned pool.")
    if successor.pk == user.pk:
        return _("Choose someone other than the person leaving.")
    return None


def _agent_department(user: User) -> int | None:
    """The department ``user`` is a service agent of, if they are one."""
    return user.department_id if user.role == Role.SERVICE_AGENT else None


def _departments_lock(user: User, successor: User | None) -> None:
    """Lock the department of ``user`` (already locked) if they are one of its service agents,
    and share (a key) that of ``successor`` (already locked) if they are one of its managers,
    in ascending id order.

    Whether an active agent is left in it is asked once they are gone or changed (its manager
    sees every customer only while one is): two of its last agents leaving at once each saw
    the other still active and released nothing. Locked after the users, as a department's
    form locks its manager before saving it, and after their customers, as a user's page
    locks those of the one it moves before their departments.

    A manager successor is judged by what their department lets them see as the leaver's
    tickets are handed to them: every customer while an active agent is in it. Its last agent
    moved out on their page (or deactivated) at that moment, the page, which locks the
    department it takes someone out of, looked for the tickets its managers no longer saw
    while the hand-over was not yet committed, found the leaver's, and left the one handed
    over with the successor, who could no longer open its customer. Shared, the department is
    waited for by such a page or deactivation, or waits for it, and the second sees what the
    first did."""
    departments: dict[int, bool] = {}  # id -> locked for update
    if successor is not None and successor.role == Role.MANAGER and successor.department_id:
        departments[successor.department_id] = False
    if _agent_department(user) is not None:
        departments[user.department_id] = True
    for pk in sorted(departments):
        if departments[pk]:
            list(Department.objects.select_for_update().filter(pk=pk).values("pk"))
        else:
            key_shared(Department.objects.filter(pk=pk).values_list("pk"))


def _active_managers(department_id: int) -> list[int]:
    return list(
        User.objects.filter(
            role=Role.MANAGER, department_id=department_id, is_active=True
        ).values_list("pk", flat=True)
    )


def _has_active_agent(department_id: int) -> bool:
    return User.objects.filter(
        role=Role.SERVICE_AGENT, department_id=department_id, is_active=True
    ).exists()


def _managers_out_of_sight_release(
    *, actor: User, department_id: int, also: Iterable[int] = ()
) -> int:
    """Put back in the queue the tickets the department's managers (and ``also``) hold on
    customers they no longer see: they see every customer only while an active service agent
    is in their department."""
    from guanxi.service.services import tickets_out_of_sight_release

    managers = _active_managers(department_id)
    return tickets_out_of_sight_release(actor=actor, user_ids=[*managers, *also])


def user_edit_lock(*, user_id: int) -> User:
    """Lock a user whose role, department or team is about to be changed on their admin page,
    and the department they are in as stored (the page's ``User.clean`` locked it already, with
    the one they are put in, in id order); returns them as stored, for
    :func:`user_out_of_sight_release` once the change is saved. Call in the transaction that
    saves the change.

    Any member's department, not only an agent's: its managers see their members' customers,
    and every customer while an agent is in it. Its last agent and a member whose customer a
    manager holds a ticket on moved out at once, each asked without the other's move and found
    the manager still saw the customer; locked, one waits and sees both moves."""
    user = User.objects.select_for_update().get(pk=user_id)
    if user.department_id is not None:
        list(Department.objects.select_for_update().filter(pk=user.department_id).values("pk"))
    return user


def user_customers_lock(*, user_id: int) -> None:
    """Lock the customers whose account manager is ``user_id`` (locked already), in the one
    order of a hand-over (``customers_lock_for_hand_over``), before their role, department or
    team is changed on their admin page, and before that page locks the team (``User.clean``)
    or the department: after the users and before the tickets and teams, as a ticket's
    assignment locks them.

    Who else sees those customers follows from where their account manager is. An assignment
    holds the customer shared from before it asks whether the assignee sees it until it
    commits; the page, locking the manager alone, saved the move and looked for the tickets to
    release without waiting for it: the assignment, committed after, left the ticket with a
    teammate who could no longer open it. Now one of the two waits for the other, and sees what
    it did."""
    from guanxi.customers.models import Customer
    from guanxi.customers.services import customers_lock_for_hand_over

    customers_lock_for_hand_over(
        Customer.objects.filter(owner_id=user_id).values_list("pk", flat=True)
    )


def _holding_tickets_of(owners: Iterable[int] | QuerySet) -> set[int]:
    """Who holds an open ticket (assigned to them, or theirs as first contact) on a customer
    whose account manager is one of ``owners`` (user ids, or a query of them)."""
    from guanxi.service.services import open_ticket_holders

    return open_ticket_holders(customer__owner_id__in=owners)


@transaction.atomic
def user_out_of_sight_release(*, actor: User, user: User, before: User) -> int:
    """Once ``user``'s role, department or team has been saved (``before`` from
    :func:`user_edit_lock`): an agent no longer an agent of their department may have been its
    last, whose managers then no longer see every customer, and they themselves may no longer
    see the customers of the tickets they hold. Those tickets go back to the queue, each with
    an audit row, as when the agent is deactivated; returns how many.

    Teammates see each other's customers while their team shares them, and a department's
    managers its members' customers: once ``user`` is in another team or department, those
    they leave may no longer see ``user``'s customers, and let go of their tickets on them
    too."""
    from guanxi.service.services import tickets_out_of_sight_release

    if (user.role, user.department_id, user.team_id) == (
        before.role,
        before.department_id,
        before.team_id,
    ):
        return 0
    also = {user.pk}
    if (user.department_id, user.team_id) != (before.department_id, before.team_id):
        also |= _holding_tickets_of([user.pk])
    left = _agent_department(before)
    if left is not None:
        return _managers_out_of_sight_release(actor=actor, department_id=left, also=also)
    return tickets_out_of_sight_release(actor=actor, user_ids=also)


def _teammates_holding(members: list[int]) -> set[int]:
    """Which of ``members`` (a team's) hold an open ticket on a customer of one of them: those
    who may lose sight of it once their team no longer shares its customers, or is gone."""
    return _holding_tickets_of(User.objects.filter(pk__in=members).values("pk")) & set(members)


def _teammates_out_of_sight_release(*, actor: User, members: list[int]) -> int:
    """Put back in the queue the open tickets ``members`` (a team's, read before it changed)
    hold on each other's customers and no longer see, each with an audit row: their team no
    longer shares its customers. Called after the change, in its transaction, with the members,
    the customers of the tickets they hold on each other's and then the team locked
    (:func:`team_sharing_change_lock`), and before any ticket is."""
    from guanxi.service.services import tickets_out_of_sight_release

    holders = _teammates_holding(members)
    if not holders:
        return 0
    return tickets_out_of_sight_release(actor=actor, user_ids=holders)


def _follow_ups_customers_lock(user: User, also: set[int]) -> None:
    """Lock the customers ``user`` (locked, leaving) owns and those of their open churn
    follow-ups, in the one order of a hand-over (``customers_lock_for_hand_over``: the
    organisations, then the people with those of the leaver's organisations), before any
    follow-up or ticket of theirs, as everything that moves a customer's follow-ups and tickets
    locks the customer first.

    A follow-up of theirs may be on someone else's customer (the refresh opened it for them as
    the customer was being given to a colleague) or on one of theirs in the recycle bin, which
    the deactivation does not hand over with the others. Moving such a customer to someone else
    locks its follow-ups and then its tickets; restoring it to the pool, or merging it, its
    tickets and then its follow-ups. The deactivation, holding the leaver's ticket on that
    customer and not the customer, deadlocked with the one (handing the follow-up over after
    the tickets) or the others (before them). With the customer locked first, either waits for
    the other.

    With them, the customers of the leaver's open tickets, which go to the successor where
    they may work with the customer: asked before the customer was held, a successor who saw
    it only through its account manager (their team's sharing) was given the ticket as that
    customer was given to someone else, whose reassignment, looking for the tickets to put
    back in the queue while this had not committed, found the leaver's, and left the ticket
    with the successor, who could no longer open it. Held, the reassignment waits and then
    finds it the successor's.

    ``also``: the customers of those follow-ups and tickets, as read once the leaver was locked
    (:func:`_follow_ups_and_tickets_customers`)."""
    from guanxi.customers.models import Customer
    from guanxi.customers.services import customers_lock_for_hand_over

    customers_lock_for_hand_over(
        Customer.objects.filter(owner=user, deleted_at__isnull=True).values_list("pk", flat=True),
        also=also,
    )


def _follow_ups_and_tickets_customers(user_id: int) -> set[int]:
    """The customers of ``user_id``'s open churn follow-ups and open tickets."""
    from guanxi.analytics.models import ChurnFollowUp
    from guanxi.service.models import Ticket

    return {
        *ChurnFollowUp.objects.filter(owner_id=user_id, done_at__isnull=True).values_list(
            "customer_id", flat=True
        ),
        *Ticket.objects.held_open_by([user_id]).values_list("customer_id", flat=True),
    }


def _follow_ups_account_managers(user_id: int) -> set[int]:
    """The account managers of the customers of ``user_id``'s open churn follow-ups (those
    customers that have one)."""
    from guanxi.analytics.models import ChurnFollowUp

    return set(
        ChurnFollowUp.objects.filter(
            owner_id=user_id, done_at__isnull=True, customer__owner__isnull=False
        ).values_list("customer__owner_id", flat=True)
    )


def _leaver_and_named_lock(user_id: int, ids: set[int], named: set[int]) -> dict[int, User]:
    """Lock the leaver and their successor (``ids``) and return them, as locked, by id; with
    them, shared (``key_shared``), the users ``named``: all in one ascending id order."""
    locked: dict[int, User] = {}
    ids = {int(pk) for pk in ids}
    for pk in sorted(ids | named):
        if pk in ids:
            row = User.objects.select_for_update().filter(pk=pk).first()
            if row is not None:
                locked[pk] = row
        else:
            key_shared(User.objects.filter(pk=pk).values_list("pk"))
    return locked


# How many times a deactivation takes its locks again when a customer of the leaver's follow-ups
# got another account manager as it took them (see :func:`_leaver_named_and_customers_lock`).
_LOCK_ATTEMPTS = 3


def _leaver_named_and_customers_lock(user_id: int, ids: set[int]) -> dict[int, User]:
    """Lock the leaver and their successor (``ids``) and return them, as locked, by id; with
    them, shared, the account managers of the customers of the leaver's open follow-ups that
    are someone else's: all in one ascending id order, before any customer. Then, should the
    leaver hold open follow-ups or tickets, the customers (:func:`_follow_ups_customers_lock`).

    Those follow-ups go to those account managers (``follow_ups_hand_over``), the database
    locking each (a key) as it writes them in, after the customers. A user's page holding such
    an account manager, and waiting for their customers it locks next, deadlocked with the
    deactivation holding one of them. The account managers are read before anything is locked,
    so a follow-up may come to a customer with another one between the read and the customers'
    lock (a merge once moved it from a pool customer to the customer kept, leaving its holder
    as it was; none does now, but nothing keeps a later path from doing so): that one was
    locked only as its follow-up was written, after the customers, and the page deadlocked
    with the deactivation all the same. So they are read again once the customers
    are held (nobody gives those another account manager until this commits): a new one, the
    locks are let go (their savepoint rolled back: PostgreSQL frees a row lock taken since) and
    taken again with them. The customers of the leaver's follow-ups and tickets likewise: a
    merge under way moves them to the customer it keeps once it commits, and the deactivation,
    having read the merged one and waited for it, held it and not the one the ticket was on
    (whose reassignment then went ahead and left the ticket with a successor who could no
    longer open it). Read again once held, a customer not among them has the locks taken again
    with it. Changed at each of :data:`_LOCK_ATTEMPTS` attempts, the last locks are kept, and
    the database breaks off a deadlock should one come of it."""
    named: set[int] = set()
    for attempt in range(_LOCK_ATTEMPTS):
        savepoint = transaction.savepoint()
        named |= _follow_ups_account_managers(user_id)
        locked = _leaver_and_named_lock(user_id, ids, named)
        leaver = locked.get(user_id)
        held = _follow_ups_and_tickets_customers(user_id) if leaver is not None else set()
        if not held:
            return locked
        _follow_ups_customers_lock(leaver, held)
        now_named = _follow_ups_account_managers(user_id)
        now_held = _follow_ups_and_tickets_customers(user_id)
        if (now_named <= named and now_held <= held) or attempt == _LOCK_ATTEMPTS - 1:
            transaction.savepoint_commit(savepoint)
            return locked
        named |= now_named
        transaction.savepoint_rollback(savepoint)
    raise AssertionError("unreachable")


@transaction.atomic
def user_deactivate(
    *, actor: User, user_id: int, hand_over_to: int | Literal["pool"] | None = None
) -> Holdings:
    """Deactivate a user who leaves, handing over in the same transaction what they hold
    (:class:`Holdings`) to ``hand_over_to``: a colleague's id or :data:`POOL`. Returns what
    was handed over. Refused while they are still named to hear escalations (department
    manager, team lead, a policy's general manager; see :func:`user_deactivation_problems`).

    The company's customers must not stay with someone who can no longer sign in, where
    nobody works them and no history says where they went; so with something still held and
    no ``hand_over_to`` this is refused rather than done half-way. Everything moves through
    the services that move it day to day (each customer, ticket and follow-up gets its audit
    row): customers to the successor (who must be allowed to change them) or the pool; open
    tickets to the successor where they may work with the customer, otherwise to their
    team's queue; open follow-ups to the customer's new account manager, closed if it has
    none. Colleagues' open tickets on the customers handed over go back to the queue from
    whoever no longer sees those customers (``tickets_customers_release``), as when customers
    are reassigned day to day. Signing in and API tokens stop working for inactive users by
    themselves."""
    from guanxi.analytics.services import follow_ups_hand_over
    from guanxi.customers.models import Customer
    from guanxi.customers.services import customer_chunks, customers_reassign
    from guanxi.service.services import (
        tickets_customers_release,
        tickets_hand_over,
        tickets_held_lock,
    )

    _require_administrator(actor)
    # The successor is locked too, in id order, and so read after anyone deactivating them
    # meanwhile has committed: two leavers handing over to each other in turn (A to B while B
    # goes to C) cannot both succeed and leave A's customers with someone who has gone.
    ids = {user_id}
    if hand_over_to not in (None, POOL):
        ids.add(hand_over_to)
    locked = _leaver_named_and_customers_lock(user_id, ids)
    if user_id not in locked:
        raise User.DoesNotExist(f"No user {user_id}.")
    user = locked[user_id]
    # Asked once the leaver is locked: an administrator naming them team lead meanwhile locks
    # them too (``accounts.forms.ActiveUserFieldsForm``), so one of the two waits and sees the
    # other's change.
    problems = user_deactivation_problems(actor=actor, user=user, hand_over_to=hand_over_to)
    if problems:
        raise ValidationError(problems)
    holdings = user_holdings(user)
    successor_id = None if hand_over_to in (None, POOL) else int(hand_over_to)
    # Inactive before anything is handed over (the transaction undoes it should a hand-over be
    # refused): what the successor may work with is asked as it will be once the leaver has
    # gone. The manager of a department whose only active service agent is leaving sees every
    # customer until then, and would otherwise take tickets they can no longer open.
    user.is_active = False
    # An admin page of theirs opened before must not make them active again.
    user.version += 1
    user.save(update_fields=["is_active", "version"])
    handed_customers: list[int] = []
    if holdings.customers:
        # Read once the leaver is locked: whoever gives them a customer meanwhile locks them
        # first, waits, and finds them gone. One moved to someone else meanwhile, which the
        # reassignment leaves alone, had its tickets seen to by whoever moved it: looked at
        # again below, none of them moves.
        handed_customers = list(
            Customer.objects.filter(owner=user, deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        try:
            # The leaver's tickets go below, to the successor where they may work with the
            # customer; released here, those on their own customers would go to the queue.
            customers_reassign(
                actor=actor,
                from_owner_id=user.pk,
                to_owner_id=successor_id,
                release_tickets=False,
            )
        except ValidationError as exc:
            raise ValidationError({"hand_over_to": exc.messages}) from exc
    # The successor's team and then the leaver's and the successor's departments, after the
    # customers, as a user's page locks the customers of the one it saves, their team and then
    # their departments. The tickets given to the successor go to that team, the database
    # locking it (a key) after the department; and the department, locked before the
    # customers, was held while a page saving someone held one of their customers locked above
    # (a person of the leaver's organisation, say) and waited for it: each held what the other
    # waited for. The team's row alone (``key_shared`` locks no table its query joins, such as
    # the department its ordering reads, which came ahead of the leaver's: two agents of two
    # departments handing over to each other's teams each held the department the other waited
    # for).
    successor = locked.get(successor_id) if successor_id is not None else None
    if successor is not None and successor.team_id is not None:
        key_shared(Team.objects.filter(pk=successor.team_id).values_list("pk"))
    _departments_lock(user, successor)
    left = _agent_department(user)
    # The leaver's tickets are handed over, and then those their department's managers no
    # longer see are put back in the queue: every ticket either may touch is locked first, in
    # one ascending id order (after the customers, as everything moving both locks them), as a
    # ticket merge locks its two. Locked pass by pass, a manager's older ticket came after the
    # leaver's newer one, and a merge of the two, holding the older, deadlocked with this.
    # Every ticket of the managers only when the leaver was the department's last active
    # agent: with one left, the managers still see every customer but those in the recycle
    # bin, and locking every open ticket of every manager kept each deactivation waiting on
    # any of them being worked on. (The department is locked, so no other agent of it leaves
    # meanwhile.) Their tickets on customers in the recycle bin, which nobody works on and
    # which they let go of below, are locked in the pass all the same: locked after it, a
    # manager's page moving them away, locking their tickets in id order, held such an older
    # one while waiting for a newer one of theirs the leaver works on, which this held. With
    # them, the tickets colleagues hold on the customers handed over, which those who saw them
    # only through the leaver (their team's sharing) let go of below.
    managers: list[int] = []
    binned_of: list[int] = []
    if left is not None:
        if _has_active_agent(left):
            binned_of = _active_managers(left)
        else:
            managers = _active_managers(left)
    if left is not None or handed_customers:
        tickets_held_lock(
            user_ids=[user.pk, *managers], customer_ids=handed_customers, binned_of=binned_of
        )
    if holdings.open_tickets:
        # What was handed over, for the audit row and the caller: a ticket closed or given to
        # someone else after the count, before it was locked, is not.
        holdings = replace(
            holdings,
            open_tickets=tickets_hand_over(
                actor=actor, from_user_id=user.pk, to_user_id=successor_id
            ),
        )
    # Once the leaver's own tickets have gone (released before, those on their own customers
    # would have gone to the queue rather than to the successor), the customers' other open
    # tickets go back to the queue from whoever no longer sees them, as when customers are
    # reassigned day to day: left with them, a ticket stays with someone who cannot open it.
    for chunk in customer_chunks(handed_customers):
        tickets_customers_release(actor=actor, customer_ids=chunk)
    if holdings.open_follow_ups:
        follow_ups_hand_over(actor=actor, from_user_id=user.pk)
    if left is not None:
        _managers_out_of_sight_release(actor=actor, department_id=left)
    # Every hand-over above is scoped to what the actor may change; an administrator changes
    # everything, but should that ever differ, nothing is left behind with an inactive owner.
    if user_holdings(user):
        raise ValidationError(
            {
                "hand_over_to": _("Not everything %(user)s holds could be handed over.")
                % {"user": user.label}
            }
        )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="user",
        object_id=user.pk,
        summary=Summary(gettext_noop("%(user)s deactivated"), {"user": user.label}),
        changes={
            "is_active": {"before": True, "after": False},
            "hand_over_to": {"before": None, "after": hand_over_to},
            "customers": {"before": None, "after": holdings.customers},
            "open_tickets": {"before": None, "after": holdings.open_tickets},
            "open_follow_ups": {"before": None, "after": holdings.open_follow_ups},
        },
    )
    return holdings


# --- departments and teams -------------------------------------------------------------------
# Edited in the admin site only. They decide which customers managers and teammates see and who
# hears about escalations, so each change is audited (rows named by the department or team) and
# refused when the form it comes from was read before someone else's save.


def _require_settings_admin(actor: User) -> None:
    # The admin site shows its own refusal page.
    if not actor.is_admin_role:
        raise PermissionDenied


def _member_names(group: Department | Team) -> dict[str, list[str]]:
    return {"members": sorted(group.members.values_list("username", flat=True))}


@transaction.atomic
def department_save(
    *, actor: User, department: Department, expected_version: int | None = None
) -> Department:
    """Add a department or store the edited one (administrators only), audited."""
    _require_settings_admin(actor)
    setting_save(
        actor=actor,
        instance=department,
        object_type="department",
        expected_version=expected_version,
    )
    return department


class DepartmentsJoinedMeanwhileError(Exception):
    """Someone or a team was put in departments being deleted after the page deleting them was
    shown with nobody in them: the departments are kept (their people and teams protect them)."""

    def __init__(self, departments: Iterable[Department]):
        names = [department.name for department in departments]
        super().__init__(
            ngettext(
                "Nothing was deleted: people or teams were put in %(departments)s since this "
                "page was opened.",
                "Nothing was deleted: people or teams were put in these departments since this "
                "page was opened: %(departments)s.",
                len(names),
            )
            % {"departments": _(", ").join(names)}
        )


@transaction.atomic
def departments_delete(*, actor: User, department_ids: Iterable[int]) -> int:
    """Delete departments nobody and no team belongs to (administrators only), audited.

    The admin site's confirmation page refuses to delete one that people or teams are in,
    listing them. Whoever is put in one after the page looked locks it first
    (``User.clean``, ``Team.clean``): the deletion waits for them, and then finds them once the
    departments are locked. :class:`DepartmentsJoinedMeanwhileError` is raised and nothing is
    deleted, for the page to be shown again with those it now lists: leaving them without a
    department would change, unrecorded, which customers they and its managers see."""
    _require_settings_admin(actor)
    department_ids = set(department_ids)
    try:
        deleted = settings_delete(
            actor=actor,
            queryset=Department.objects.filter(pk__in=department_ids),
            object_type="department",
        )
    except ProtectedError as error:
        # Django stops at the first department someone or a team keeps; all of them (locked by
        # the deletion) are named, so the page shown again is not refused once more for the next.
        joined = Department.objects.filter(pk__in=department_ids).filter(
            Q(members__isnull=False) | Q(teams__isnull=False)
        )
        raise DepartmentsJoinedMeanwhileError(joined.distinct().order_by("name")) from error
    return len(deleted)


@transaction.atomic
def team_save(*, actor: User, team: Team, expected_version: int | None = None) -> Team:
    """Add a team or store the edited one (administrators only), audited. A team that no
    longer shares its customers takes back from its members the open tickets they hold on each
    other's, each with an audit row of its own (back to the queue)."""
    _require_settings_admin(actor)
    if team.pk is not None and _sharing_changed(team):
        team_sharing_change_lock(team_id=team.pk)
    changes = setting_save(
        actor=actor, instance=team, object_type="team", expected_version=expected_version
    )
    if "customer_sharing" in changes and team.pk is not None:
        # Its members may no longer see each other's customers. The team is locked: nobody
        # joins it meanwhile (``User.clean``); one leaving it lets go of their own on their page.
        # Should its sharing have been changed by someone else between the look above and the
        # lock (a save without an expected version: a script), the release is done all the
        # same, with the members locked after the team.
        _teammates_out_of_sight_release(
            actor=actor, members=list(User.objects.filter(team=team).values_list("pk", flat=True))
        )
    return team


def _sharing_changed(team: Team) -> bool:
    """Whether ``team`` (edited, not saved yet) shares its members' customers otherwise than as
    stored."""
    stored = Team.objects.filter(pk=team.pk).values_list("customer_sharing", flat=True).first()
    return stored is not None and stored != team.customer_sharing


def team_sharing_change_lock(*, team_id: int, also: Iterable[int] = ()) -> None:
    """Lock, in an open transaction, what a team's save changing its ``customer_sharing``
    locks before the team: its members (with ``also``, users the page names, its lead, in one
    ascending id order), then the customers of the open tickets they hold on each other's (in
    the one order of a hand-over, ``customers_lock_for_hand_over``), then the team; again should
    someone join it in between. For :func:`team_save`, and for its admin page, whose form locks
    the lead and the team before the service runs.

    Those are the tickets the save may put back in the queue (``_teammates_out_of_sight_release``).
    Locked after the team, as the save did, a ticket given at that moment to the account manager
    by an agent (who holds the customer, then the ticket, and then locks the assignee's team)
    deadlocked with it, one of the two failing; and one given to a teammate waited for the team
    only once it had found the teammate saw the customer, and stayed with them after the save.
    Users, then customers, then the team, as a user's page locks a user, their customers and then
    their team: the assignment, which locks the users it names and tells first, waits for the
    save or the save for it, and whichever comes second sees what the other did."""
    _members_and_teams_lock([team_id], also=also, held_customers=True)


def _members_and_teams_lock(
    team_ids: list[int], *, also: Iterable[int] = (), held_customers: bool = False
) -> dict[int, list[int]]:
    """Lock the members of the teams ``team_ids`` (in one ascending id order, with the users
    ``also``) and then the teams, and return each team's members, read with both locked. With
    ``held_customers``, between the two, the customers of the open tickets each team's members
    hold on each other's (see :func:`team_sharing_change_lock`).

    The members first, as a user's page locks the user and then their team (``User.clean``),
    and a deactivation the leaver and then their tickets: locked last, as the teams' deletion
    empties their team, a member whose page was being saved, or who was leaving, held what the
    deletion waited for while waiting for the team or a ticket the deletion held. Someone who
    joined a team between the two looks (their page had locked it) is not locked yet: the locks
    are let go of and taken again, rather than that member locked after the team."""
    also = set(also)
    while True:
        attempt = transaction.savepoint()
        locked = set(
            User.objects.select_for_update()
            .filter(Q(team_id__in=team_ids) | Q(pk__in=also))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if held_customers:
            _teammates_customers_lock(team_ids)
        list(Team.objects.select_for_update().filter(pk__in=team_ids).order_by("pk").values("pk"))
        # Left without a team, the members of one that shared its customers no longer see each
        # other's: each team's members, as only they saw each other's.
        members: dict[int, list[int]] = {}
        for team_id, pk in User.objects.filter(team_id__in=team_ids).values_list("team_id", "pk"):
            members.setdefault(team_id, []).append(pk)
        if {pk for pks in members.values() for pk in pks} <= locked:
            # Left open, not released, as routing leaves its choice's (``_routed``).
            return members
        transaction.savepoint_rollback(attempt)


def _teammates_customers_lock(team_ids: list[int]) -> None:
    """Lock the customers of the open tickets the members of each of the teams ``team_ids``
    (locked) hold on customers of one of them, in the one order of a hand-over. Whoever gives
    one of them a ticket locks them first, so the set read here stays what it is."""
    from guanxi.customers.services import customers_lock_for_hand_over
    from guanxi.service.models import Ticket

    held: set[int] = set()
    for team_id in team_ids:
        members = list(User.objects.filter(team_id=team_id).values_list("pk", flat=True))
        held.update(
            Ticket.objects.held_open_by(members)
            .filter(customer__owner_id__in=members)
            .values_list("customer_id", flat=True)
        )
    customers_lock_for_hand_over((), also=held)


def teams_delete_lock(*, team_ids: Iterable[int]) -> None:
    """Lock, in an open transaction, what :func:`teams_delete` locks first: the members of the
    teams ``team_ids`` and then the teams, again should someone join one in between. For a
    page that checks the teams under their lock before deleting them: locking a team on its
    own first, it waited for a member whose page held them while waiting for the team."""
    _members_and_teams_lock(sorted(set(team_ids)))


@transaction.atomic
def teams_delete(*, actor: User, team_ids: Iterable[int]) -> int:
    """Delete teams (administrators only). Their members are left without a team, so the
    audit row of each team names who its members were; so are their tickets, each with an
    audit row of its own (``tickets_team_deleted``). No longer seeing each other's customers,
    the members let go of the open tickets they hold on them (back to the queue, audited)."""
    from guanxi.service.services import (
        tickets_held_lock,
        tickets_out_of_sight_release,
        tickets_team_deleted,
    )

    _require_settings_admin(actor)
    team_ids = sorted(set(team_ids))
    members = _members_and_teams_lock(team_ids)
    # No customer is locked, the one lock of the order left out: the deletion changes no
    # customer, and only members see a teammate's customer through a team. An assignment of a
    # ticket shares its assignee and whoever holds it before the customer and the ticket, so
    # one giving a ticket the deletion releases to a member waits for the members' lock above,
    # and is refused once they no longer see the customer, or is waited for, and the deletion
    # then releases the ticket from them.
    holders: set[int] = set()
    for team_members in members.values():
        holders |= _teammates_holding(team_members)
    # The teams' tickets and the holders' are locked in one ascending id order, as a ticket
    # merge locks its two: the teams' locked first and the holders' after, a merge holding an
    # older ticket of a holder waited for a newer one of a team while this waited for the older.
    tickets_held_lock(user_ids=holders, team_ids=team_ids)
    tickets_team_deleted(actor=actor, team_ids=team_ids)
    deleted = len(
        settings_delete(
            actor=actor,
            queryset=Team.objects.filter(pk__in=team_ids),
            object_type="team",
            related_before=_member_names,
        )
    )
    if holders:
        tickets_out_of_sight_release(actor=actor, user_ids=holders)
    return deleted


# What a user's admin page changes that decides what they may see and do, and who they are to
# the people who read the history: each change is on record. The password is changed on its own
# page and never recorded; the moment of the last sign-in is not edited.
USER_RECORDED_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "display_name",
    "email",
    "language",
    "is_active",
    "is_staff",
    "is_superuser",
    "role",
    "department_id",
    "team_id",
)


def _permission_names(permissions) -> list[str]:
    """Permissions as ``app_label.codename``, sorted: what a reader of the row recognises
    (``accounts.view_sensitive_data``), unlike an id."""
    return sorted(
        f"{app_label}.{codename}"
        for app_label, codename in permissions.values_list("content_type__app_label", "codename")
    )


def user_access_as_stored(*, user_id: int) -> dict[str, Any]:
    """What :func:`user_change_record` compares, as stored now: the recorded fields, the names
    of the groups and the permissions given to the user directly. Read in the transaction that
    saves the page, before it saves."""
    user = User.objects.get(pk=user_id)
    values = {name: getattr(user, name) for name in USER_RECORDED_FIELDS}
    values["groups"] = sorted(user.groups.values_list("name", flat=True))
    values["user_permissions"] = _permission_names(user.user_permissions.all())
    return values


@transaction.atomic
def user_change_record(*, actor: User | None, user: User, before: dict[str, Any] | None) -> None:
    """Record the change made to ``user`` on their admin page (``before`` from
    :func:`user_access_as_stored`; the caller saved the change, groups and permissions
    included, in this transaction): one row with each field that changed, before and after.
    The role, the department, the team, the groups and the permissions decide which customers
    they see and what they may do to them; being staff or a superuser opens the admin site;
    reactivating someone lets them sign in again. Nothing is recorded when nothing changed.

    A deactivation is left out: :func:`user_deactivate` records it with what was handed over.
    ``before`` is None for a user just added (on the add page, by ``createsuperuser`` or a
    script calling ``create_superuser``, as the demo staff): what they were given is recorded
    (an account that can sign in, its role), the empty fields left out. ``actor`` is None on
    the command line."""
    after = user_access_as_stored(user_id=user.pk)
    if before is None:  # a flag left off is nothing given
        changes = diff_values({}, {name: v for name, v in after.items() if v is not False})
    else:
        changes = diff_values(before, after)
        if before.get("is_active") and not after.get("is_active"):
            del changes["is_active"]  # recorded by user_deactivate
    if changes:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE if before is not None else AuditEvent.Action.CREATE,
            object_type="user",
            object_id=user.pk,
            summary=user.username,
            changes=changes,
        )


def group_access_as_stored(*, group_id: int | None) -> dict[str, Any]:
    """A group's name and permissions (``app_label.codename``) as stored now; none for a group
    not added yet."""
    group = Group.objects.filter(pk=group_id).first() if group_id else None
    if group is None:
        return {"name": None, "permissions": []}
    return {"name": group.name, "permissions": _permission_names(group.permissions.all())}


@transaction.atomic
def group_change_record(*, actor: User, group: Group, before: dict[str, Any]) -> None:
    """Record a group added or changed on its admin page (``before`` from
    :func:`group_access_as_stored`; the caller saved the group and its permissions in this
    transaction): everyone in the group holds its permissions, seeing ID and phone numbers in
    full, say. Nothing is recorded when nothing changed."""
    changes = diff_values(before, group_access_as_stored(group_id=group.pk))
    if changes:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE if before["name"] else AuditEvent.Action.CREATE,
            object_type="group",
            object_id=group.pk,
            summary=group.name,
            changes=changes,
        )


@transaction.atomic
def groups_delete(*, actor: User, group_ids: Iterable[int]) -> int:
    """Delete groups on their admin pages, one audit row each with the name, the permissions
    and the members it had: deleting a group takes its permissions from everyone in it, as
    taking them from the group does."""
    groups = list(Group.objects.filter(pk__in=set(group_ids)).select_for_update().order_by("pk"))
    for group in groups:
        before = {
            **group_access_as_stored(group_id=group.pk),
            "members": sorted(group.user_set.values_list("username", flat=True)),
        }
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type="group",
            object_id=group.pk,
            summary=group.name,
            changes={
                name: {"before": value, "after": None if name == "name" else []}
                for name, value in before.items()
                if value
            },
        )
    Group.objects.filter(pk__in=[group.pk for group in groups]).delete()
    return len(groups)


@transaction.atomic
def user_password_change_record(
    *, actor: User | None, user_id: int, before: str | None, summary: Summary | None = None
) -> int:
    """Record a password set for ``user_id``, or password sign-in disabled (``before``, the
    stored hash it replaced, read with the row locked; the caller saved it in this
    transaction): whoever knows the new password can sign in as them. Only that it changed is
    recorded, never the password nor its hash. ``actor`` is None on the command line.
    ``summary`` says how, where the username alone would not (a password reset by email).

    The user's API tokens are revoked with it, each on record. A password is changed or reset
    because someone else may know it, and with it they could have made a token, which acts as
    the user from anywhere and outlives the password. Django ends a user's other sessions
    whenever the password changes (the session keeps a hash made from it); a token is one more
    way in, so it ends alike, whether the password was forgotten, changed on purpose or set by
    an administrator. Scripts are given a new token afterwards. Returns how many tokens were
    revoked, for the caller to say so."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or before is None or user.password == before:
        return 0
    now = timezone.now()
    tokens = list(
        ApiToken.objects.select_for_update()
        .filter(user=user, revoked_at__isnull=True)
        .order_by("pk")
    )
    for token in tokens:
        _api_token_revoke_on_record(actor=actor, token=token, owner=user, at=now)
    was_usable = User(password=before).has_usable_password()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="user",
        object_id=user.pk,
        summary=summary or user.username,
        changes={
            "password": {
                "before": "set" if was_usable else "unusable",
                "after": "changed" if user.has_usable_password() else "unusable",
            }
        },
    )
    return len(tokens)


@contextmanager
def user_password_change_recorded(
    *, actor: User, user_id: int | None, summary: Summary | None = None
) -> Iterator[User | None]:
    """Around one of Django's pages that set a password themselves (an administrator's for
    someone, someone's own, a reset by email): the password the page sets is recorded in its
    transaction (:func:`user_password_change_record`), compared with what it replaced.

    The user's row is locked and read once, as stored, and given to the page (``as``) to work
    on: Django's forms save the whole row, and the one the request read before the lock would
    put back what an administrator changed meanwhile (a role, a deactivation, a password).
    None instead when there is no such user, or when someone setting their own password
    (``actor`` is the user: their own page, a reset by email) is no longer active: a
    deactivation is the company taking the account's way in away, and one deactivated as the
    page was sent sets no password. An administrator setting someone else's password is given
    the account active or not: setting it before the account is made active again is how it
    is handed back."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is not None and not user.is_active and actor is not None and actor.pk == user.pk:
            user = None
        # Kept apart: the page sets the new password on the very row it is given.
        before = None if user is None else user.password
        yield user
        if user is not None:
            user_password_change_record(
                actor=actor, user_id=user.pk, before=before, summary=summary
            )


@transaction.atomic
def user_password_set(*, actor: User | None, user_id: int, password: str | None) -> int:
    """Set the password of ``user_id`` (None disables password sign-in) and record that it
    changed; returns how many of their API tokens it revoked (see
    :func:`user_password_change_record`). Only the password is written, on the row locked: a
    command that asks for the new password has read the user before someone typed it, and
    saving that whole reading would put back what an administrator changed meanwhile (a role,
    a deactivation)."""
    user = User.objects.select_for_update().get(pk=user_id)
    before = user.password
    user.set_password(password)
    user.save(update_fields=["password"])
    return user_password_change_record(actor=actor, user_id=user.pk, before=before)


class UsersNamedMeanwhileError(Exception):
    """Records naming users being deleted (a ticket they hold, a customer they own, a contact
    they logged) were added after the page deleting them was shown without any: deleting the
    users would delete those records, or fail on them."""

    def __init__(self, users: Iterable[User]):
        super().__init__(
            _(
                "Nothing was deleted: records naming %(users)s were added since this page "
                "was opened."
            )
            % {"users": _(", ").join(user.username for user in users)}
        )


@transaction.atomic
def users_delete(*, actor: User, user_ids: Iterable[int]) -> int:
    """Delete users on the admin site, one audit row each with what they had (the fields of
    :func:`user_change_record` with a value, their groups and permissions), never the
    password: an account deleted can no longer sign in, and nothing else would say who it was
    or who deleted it. Someone who leaves is deactivated instead (:func:`user_deactivate`).
    Nobody deletes themselves: the row would name an actor that no longer exists.

    The admin site's confirmation page refuses to delete someone whom records still name (their
    tickets, customers, contacts), listing them. One added after the page looked, before the
    users are locked here, is found once they are (a record added later waits for the
    deletion, and then finds them gone): :class:`UsersNamedMeanwhileError` is raised and
    nothing is deleted, for the page to be shown again with the records it now lists."""
    user_ids = set(user_ids)
    if actor.pk in user_ids:
        # The admin site shows its own refusal page.
        raise PermissionDenied
    users = list(User.objects.filter(pk__in=user_ids).select_for_update().order_by("pk"))
    # Deleting them takes them off the departments they manage and then the teams they lead
    # (Django's order): the teams are locked first, and then the departments, each in id order,
    # as a page saving one of the team's members locks the team and then the department
    # (``User.clean``), and a team's page the team and then its department.
    found = [user.pk for user in users]
    list(Team.objects.select_for_update().filter(lead_id__in=found).order_by("pk").values("pk"))
    list(
        Department.objects.select_for_update()
        .filter(manager_id__in=found)
        .order_by("pk")
        .values("pk")
    )
    for user in users:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type="user",
            object_id=user.pk,
            summary=user.username,
            changes={
                name: {"before": value, "after": None}
                for name, value in user_access_as_stored(user_id=user.pk).items()
                if value not in (None, "", [], False)
            },
        )
    try:
        User.objects.filter(pk__in=[user.pk for user in users]).delete()
    except (ProtectedError, RestrictedError) as error:
        raise UsersNamedMeanwhileError(users) from error
    return len(users)
