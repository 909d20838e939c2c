"""The service-level sweep: every minute, find the open tickets whose warning or breach moment
has come, tell the people the policy's escalation names, and schedule the next look.

A notice and its email quote the ticket, so only people who may see its customer are told, as
the one visibility rule decides (``ticket_readers``); someone the chain names by their place who
may not see it is passed over for the next person up who may (see :func:`_recipients_for`).

Only tickets whose ``sla_check_at`` has passed are read (a partial index holds just the tickets
with a moment scheduled), so a backlog of a million open tickets costs what the few due ones
cost. Each batch runs in one transaction that locks its tickets (``SKIP LOCKED``: two sweeps
share the work instead of doubling it), records every step in :class:`SlaNotification` — unique
per ticket, target, run of the clock and step — writes the in-app notices and moves each
ticket's next check, all or nothing. A sweep that dies half-way leaves its batch as it was, and
the next sweep sends exactly what it would have.

Emails go out after the commit, claimed a batch at a time (``emailed_at`` set in one short
transaction, skipping rows another sweep holds) and sent over one connection: a crash after a
claim loses that batch's emails rather than sending any twice, and the notices are in the app
either way; a send that fails with an error is released for the next sweep.
"""

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.audit.summaries import Summary, prefixed
from guanxi.core.languages import by_language, in_language
from guanxi.core.locking import key_shared_unless_held
from guanxi.core.masking import mask_numbers_in_text
from guanxi.customers.models import Customer

from . import mail
from .models import ESCALATION_ROLES, Notification, SlaNotification, Ticket
from .selectors import customer_readers, ticket_readers
from .services import (
    _seeing_masked,
    _steps_done,
    customer_email_give_up,
    customer_emails_retry,
    customer_emails_to_give_up,
    policy_targets,
    status_histories,
)
from .sla import BREACH, running_clocks, steps_due

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Who hears at a step the policy says nothing about.
DEFAULT_WARNING = ("assignee",)
DEFAULT_BREACH = ("assignee", "team_lead")


@dataclass
class SweepResult:
    tickets: int = 0
    notifications: int = 0
    emails: int = 0
    customer_emails: int = 0  # emails to customers sent again
    customer_emails_given_up: int = 0  # emails to customers no longer tried again
    by_step: dict[str, int] = field(default_factory=dict)


# Why someone a role names does not hear of a step themselves.
LEFT = "left"  # no longer active
CANNOT_SEE = "cannot_see"  # may not see the ticket's customer
UNHELD = "unheld"  # nobody holds the role, nor any role above it

# The roles' names, for the notices and audit rows that say who was not there to be told.
ROLE_NAMES = {
    "assignee": gettext_noop("assignee"),
    "owner": gettext_noop("owner"),
    "team_lead": gettext_noop("team lead"),
    "department_manager": gettext_noop("department manager"),
    "general_manager": gettext_noop("general manager"),
}


@dataclass
class PassedOver:
    """Someone a role named who is not told, why (:data:`LEFT` or :data:`CANNOT_SEE`), and who
    is told in their place (nobody, when nobody up the chain nor any administrator may be).
    For :data:`UNHELD` there is no such person (``None``): ``role`` is the highest role the
    step names, which nobody holds."""

    person: Any
    reason: str
    stand_ins: list
    role: str = ""


@dataclass
class Recipients:
    """Who hears of one step: ``people`` in order, and ``passed_over``: each person a role
    named who may not be told, with those who hear of the step in their place."""

    people: list
    passed_over: list[PassedOver] = field(default_factory=list)

    def stands_in_for(self, user) -> list[PassedOver]:
        """Those in whose place ``user`` hears of the step."""
        return [passed for passed in self.passed_over if user in passed.stand_ins]


class _Administrators:
    """The active administrators, the last step of every chain; read once per batch, when the
    first of its tickets has a step due (who may see the ticket is asked for them too)."""

    def __init__(self):
        self._users: list | None = None

    def __call__(self) -> list:
        if self._users is None:
            from guanxi.accounts.models import User
            from guanxi.accounts.roles import Role

            self._users = list(
                User.objects.filter(
                    Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True
                ).order_by("pk")
            )
        return self._users


def _chain(ticket: Ticket) -> dict[str, Any]:
    """The person each role of :data:`ESCALATION_ROLES` names for this ticket, or ``None``."""
    team = ticket.team
    people = {
        "assignee": ticket.assignee,
        "owner": ticket.owner,
        "team_lead": team.lead if team else None,
        "department_manager": team.department.manager if team else None,
        "general_manager": ticket.sla_policy.general_manager if ticket.sla_policy else None,
    }
    if people["assignee"] is None:
        people["assignee"] = people["owner"]
    return people


def _readers(
    due: list[tuple[Ticket, list]], administrators, *, deleted: bool = False
) -> dict[int, set[int]]:
    """For each ticket with steps due, the ids of everyone its steps could tell (its whole
    chain, the administrators it ends with, and its watchers when a step is the breach) who may
    see it, through the one rule that decides that: one query for the whole batch, however many
    tickets and people. ``deleted``: or would, were its customer out of the recycle bin."""
    if not due:
        return {}
    everyone = {user.pk: user for user in administrators()}
    for ticket, steps in due:
        people = [user for user in _chain(ticket).values() if user is not None]
        if any(step.percent == BREACH for step in steps):
            people += ticket.watchers.all()
        everyone.update((user.pk, user) for user in people)
    by_customer = customer_readers(
        {t.customer_id for t, _s in due}, everyone.values(), deleted=deleted
    )
    readable = {pk: {user.pk for user in users} for pk, users in by_customer.items()}
    return {ticket.pk: readable.get(ticket.customer_id, set()) for ticket, _s in due}


def _recipients_for(
    ticket: Ticket,
    roles,
    *,
    watchers: bool = False,
    administrators=None,
    readers: set[int] | None = None,
) -> Recipients:
    """The users the roles name for this ticket; when none of them exists (an unassigned
    ticket without a team), the next person up the chain who does. ``watchers``: the ticket's
    watchers too, after them. Nobody is named twice.

    Only those in ``readers`` (:func:`_readers`) are told: the notice and its email quote the
    ticket, and a role names people by their place, not by what they may see (a policy's
    general manager may head another department; a sales department's manager may not see a
    customer who moved to another department while their team works its ticket). ``None``
    checks only who is active: for a ticket that quotes no customer to anyone, such as the demo
    data's probes.

    A person named who may not be told, because they are no longer active (deactivated while
    still a team's lead, a department's manager or a policy's general manager, before
    deactivation refused that) or may not see the ticket, would leave an escalation naming only
    them reaching nobody. A breach nobody hears of is worse than one heard of by someone a
    level higher, so the step goes on up the chain (:data:`ESCALATION_ROLES`) to the next
    person who may be told, and to the administrators (who see every customer) when nobody
    above may; ``passed_over`` says who stood in for whom and why."""
    administrators = administrators or _Administrators()

    def may_be_told(user) -> bool:
        return user.is_active and (readers is None or user.pk in readers)

    people = _chain(ticket)
    named = [r for r in roles if r in people and people[r] is not None]
    highest = max((ESCALATION_ROLES.index(r) for r in roles if r in ESCALATION_ROLES), default=0)
    if not named:
        named = [r for r in ESCALATION_ROLES[highest:] if people[r] is not None][:1]
    found: list = []
    passed_over: list[PassedOver] = []
    if not named:
        # Nobody holds the roles the step names, nor any above them: typically the breach step
        # of a policy that names a general manager nobody was made. The administrators, who
        # end every chain, hear of it in their place rather than nobody at all.
        stand_ins = [u for u in administrators() if may_be_told(u)]
        found += stand_ins
        passed_over.append(
            PassedOver(
                person=None, reason=UNHELD, stand_ins=stand_ins, role=ESCALATION_ROLES[highest]
            )
        )
    for role in named:
        person = people[role]
        if may_be_told(person):
            found.append(person)
            continue
        above = ESCALATION_ROLES[ESCALATION_ROLES.index(role) + 1 :]
        stand_in = next(
            (people[r] for r in above if people[r] is not None and may_be_told(people[r])), None
        )
        stand_ins = [stand_in] if stand_in else [u for u in administrators() if may_be_told(u)]
        found += stand_ins
        reason = CANNOT_SEE if person.is_active else LEFT
        passed_over.append(PassedOver(person=person, reason=reason, stand_ins=stand_ins))
    if watchers:
        # A watcher whose customers changed hands since may no longer read the ticket, which the
        # notice and its email quote: only those the one visibility rule still lets see it.
        active = [user for user in ticket.watchers.all() if user.is_active]
        found += (
            ticket_readers(ticket, active)
            if readers is None
            else [user for user in active if user.pk in readers]
        )
    unique = {}
    for user in found:
        unique.setdefault(user.pk, user)
    return Recipients(people=list(unique.values()), passed_over=passed_over)


def _roles_for(policy, percent: int, warn_percent: int) -> tuple[str, ...]:
    for step in policy.escalation or []:
        try:
            if int(step.get("at_percent")) == percent:
                return tuple(step.get("notify") or ())
        except (AttributeError, TypeError, ValueError):
            continue
    return DEFAULT_BREACH if percent >= BREACH else DEFAULT_WARNING


def _text(ticket: Ticket, target: str, percent: int, due: datetime | None) -> str:
    label = str(SlaNotification.Target(target).label)
    when = timezone.localtime(due).strftime("%Y-%m-%d %H:%M") if due else "-"
    if percent < BREACH:
        text = _("%(number)s: %(target)s due at %(when)s (%(percent)d%% of the time used)")
    elif percent == BREACH:
        text = _("%(number)s: %(target)s overdue since %(when)s")
    else:
        text = _("%(number)s: %(target)s overdue since %(when)s, escalated (%(percent)d%%)")
    return (text % {"number": ticket.number, "target": label, "when": when, "percent": percent})[
        :300
    ]


def _in_place_of(text: str, passed: list[PassedOver]) -> str:
    """A notice's text, for someone who hears of it in place of people who may not be told."""
    because = {
        LEFT: _("%(text)s (to you because %(name)s is no longer active)"),
        CANNOT_SEE: _("%(text)s (to you because %(name)s may not see this customer)"),
    }
    for reason, template in because.items():
        names = [p.person.label for p in passed if p.reason == reason]
        if names:
            text = template % {"text": text, "name": ", ".join(names)}
    for p in passed:
        if p.reason == UNHELD:
            text = _("%(text)s (to you because this ticket has no %(role)s)") % {
                "text": text,
                "role": _(ROLE_NAMES.get(p.role, p.role)),
            }
    return text[:300]


# The targets' names (SlaNotification.Target's labels) as messages, for audit summaries that each
# reader reads in their own language.
TARGET_NAMES = {
    SlaNotification.Target.FIRST_RESPONSE: gettext_noop("first response"),
    SlaNotification.Target.NEXT_RESPONSE: gettext_noop("next response"),
    SlaNotification.Target.RESOLUTION: gettext_noop("resolution"),
}


PASSED_OVER = {
    LEFT: gettext_noop(
        "%(target)s escalation went to %(names)s because %(name)s is no longer active"
    ),
    CANNOT_SEE: gettext_noop(
        "%(target)s escalation went to %(names)s because %(name)s may not see this customer"
    ),
    UNHELD: gettext_noop(
        "%(target)s escalation went to %(names)s because this ticket has no %(role)s"
    ),
}
# Only when no active administrator may see the customer either (there is none; a customer in
# the recycle bin has its tickets passed over, see _binned_customers): the step is still
# recorded, so it is not tried again every minute, and this row and a warning in the log are
# what is left of it.
TOLD_NOBODY = gettext_noop(
    "%(target)s escalation reached nobody: %(name)s may not be told, and nobody up the chain "
    "nor any administrator may see this customer"
)
TOLD_NOBODY_UNHELD = gettext_noop(
    "%(target)s escalation reached nobody: this ticket has no %(role)s, and no administrator "
    "may see this customer"
)


def _audit_passed_over(ticket: Ticket, target: str, recipients: Recipients) -> None:
    """Record on the ticket that a step went past people who may not be told, and to whom: the
    chain of people a policy names is part of what the desk answers for."""
    for passed in recipients.passed_over:
        person, stand_ins = passed.person, passed.stand_ins
        if passed.reason == UNHELD:
            template = PASSED_OVER[UNHELD] if stand_ins else TOLD_NOBODY_UNHELD
            named = {"role": Summary(ROLE_NAMES[passed.role])}
        else:
            template = PASSED_OVER[passed.reason] if stand_ins else TOLD_NOBODY
            named = {"name": person.label}
        summary = Summary(
            template,
            {
                "target": Summary(TARGET_NAMES[target]),
                "names": ", ".join(user.label for user in stand_ins),
                **named,
            },
        )
        audit_record(
            actor=None,
            action=AuditEvent.Action.UPDATE,
            object_type="ticket",
            object_id=ticket.pk,
            customer_id=ticket.customer_id,
            summary=prefixed(ticket.number, summary),
            changes={
                "escalated_to": {
                    "before": person.username if person else "",
                    "after": [user.username for user in stand_ins],
                }
            },
        )


def _due_tickets(now: datetime, limit: int):
    queryset = (
        Ticket.objects.filter(sla_check_at__lte=now)
        # With their teams: a rep's scope, which decides whether they hear of a breach, reads
        # the team's sharing.
        .prefetch_related(Prefetch("watchers", queryset=User.objects.select_related("team")))
        .select_related(
            "sla_policy__calendar",
            "sla_policy__general_manager",
            "assignee",
            "owner",
            "team__lead",
            "team__department__manager",
        )
        .order_by("sla_check_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(queryset[:limit])


def _told_later(told: list[tuple[Ticket, Any, Recipients, Any]]) -> set[int]:
    """Lock the people the batch tells (FOR KEY SHARE, as the database's check of each
    notice's user would lock them only as it commits) and return the tickets left for the
    next run: those telling someone held FOR UPDATE (a deactivation, a deletion, their page
    being saved), or who has left since the batch read them. The sweep holds the tickets,
    which a deactivation locks after the leaver (``tickets_held_lock``), as a user's page
    does the tickets it puts back in the queue: waiting for the user, the sweep deadlocked
    with it. So whoever is held is skipped instead, and the next run tells whoever holds the
    ticket then."""
    wanted = {user.pk for _t, _s, recipients, _d in told for user in recipients.people}
    if not wanted:
        return set()
    users = User.objects.filter(pk__in=wanted, is_active=True).order_by("pk")
    locked = {pk for (pk,) in key_shared_unless_held(users.values_list("pk"))}
    return {
        ticket.pk
        for ticket, _s, recipients, _d in told
        if any(user.pk not in locked for user in recipients.people)
    }


def _binned_customers(customer_ids: set[int]) -> set[int]:
    """Those of ``customer_ids`` in the recycle bin. Their tickets are seen by nobody, so a step
    due on one could only be recorded as told to no one, with a row on the ticket and a
    warning in the log every time, about a customer nobody may be told of: the sweep stops
    looking at them instead, and a restore has it look again
    (``tickets_customers_restored``). Read after the tickets are locked, which a restore
    locks after bringing their customer back: one under way either waits for this batch and
    then schedules the tickets again, or holds them, and they are skipped."""
    return set(
        Customer.objects.filter(pk__in=customer_ids, deleted_at__isnull=False).values_list(
            "pk", flat=True
        )
    )


def sweep_batch(now: datetime, *, limit: int = BATCH_SIZE) -> tuple[int, list[int]]:
    """One batch, in the caller's transaction: returns how many tickets it looked at and the
    ids of the notifications it recorded."""
    tickets = _due_tickets(now, limit)
    if not tickets:
        return 0, []
    ids = [t.pk for t in tickets]
    statuses = status_histories(ids)
    done = _steps_done(ids)
    records: list[SlaNotification] = []
    notices: list[Notification] = []
    administrators = _Administrators()
    due = []  # (ticket, its targets, its steps due, its deadlines)
    binned = _binned_customers({ticket.customer_id for ticket in tickets})
    for ticket in tickets:
        policy = ticket.sla_policy
        if (
            policy is None
            or ticket.status not in Ticket.OPEN_STATUSES
            or ticket.merged_into_id
            or ticket.customer_id in binned
        ):
            ticket.sla_check_at = None
            continue
        targets = policy_targets(policy)
        clocks = running_clocks(
            policy.calendar.calendar,
            targets,
            statuses=statuses[ticket.pk],
            first_responded_at=ticket.first_responded_at,
            waiting_since=ticket.waiting_since,
        )
        due_steps, upcoming = steps_due(clocks, now, done=done[ticket.pk])
        ticket.sla_check_at = upcoming
        if due_steps:
            due.append((ticket, targets, due_steps, {c.target: c.due for c in clocks}))
    readers = _readers([(ticket, steps) for ticket, _t, steps, _d in due], administrators)
    told = []  # (ticket, step, its recipients, its deadlines)
    for ticket, targets, due_steps, deadlines in due:
        policy = ticket.sla_policy
        for step in due_steps:
            recipients = _recipients_for(
                ticket,
                _roles_for(policy, step.percent, targets.warn_percent),
                # watchers hear of the breach, not of every warning
                watchers=step.percent == BREACH,
                administrators=administrators,
                readers=readers[ticket.pk],
            )
            told.append((ticket, step, recipients, deadlines))
    later = _told_later(told)
    for ticket in tickets:
        if ticket.pk in later:
            # Due still, just after this run's moment: the next run looks at it again.
            ticket.sla_check_at = now + timedelta.resolution
    for ticket, step, recipients, deadlines in told:
        if ticket.pk in later:
            continue
        people = recipients.people
        if recipients.passed_over:
            _audit_passed_over(ticket, step.target, recipients)
        if not people:
            # Two different things to put right: someone named who may not be told, or a
            # step whose roles (and those above them) nobody holds, such as a policy
            # without a general manager; in both, no administrator could stand in.
            unheld = any(p.reason == UNHELD for p in recipients.passed_over)
            logger.warning(
                "SLA %s step %d%% of ticket %s told nobody: %s",
                step.target,
                step.percent,
                ticket.number,
                "nobody holds the roles it notifies, nor any role above them, and no "
                "administrator may be told of it"
                if unheld
                else "nobody in its escalation chain, nor any administrator, may be told of it",
            )
        records.append(
            SlaNotification(
                ticket=ticket,
                target=step.target,
                clock_started_at=step.started_at,
                percent=step.percent,
                due_at=deadlines.get(step.target),
                recipients=[u.pk for u in people],
                created_at=now,
            )
        )
        # The notice is stored as written, so it is written in each reader's language.
        for language, users in by_language(people).items():
            with in_language(language):
                text = _text(ticket, step.target, step.percent, deadlines.get(step.target))
                notices += [
                    Notification(
                        user=u,
                        ticket=ticket,
                        text=_in_place_of(text, recipients.stands_in_for(u)),
                        created_at=now,
                    )
                    for u in users
                ]
    Ticket.objects.bulk_update(tickets, ["sla_check_at"], batch_size=1000)
    created = SlaNotification.objects.bulk_create(records, batch_size=1000)
    Notification.objects.bulk_create(notices, batch_size=1000)
    return len(tickets), [r.pk for r in created if r.pk is not None]


EMAIL_BATCH = 500


def _claim(limit: int) -> list[int]:
    """Mark up to ``limit`` unsent steps as emailed, in one transaction, and return them: rows
    another sweep holds are skipped (``SKIP LOCKED``), so no step is claimed twice."""
    pending = SlaNotification.objects.filter(emailed_at__isnull=True)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        ids = list(pending.order_by("id").values_list("pk", flat=True)[:limit])
        SlaNotification.objects.filter(pk__in=ids).update(emailed_at=timezone.now())
    return ids


def _release(ids: list[int]) -> None:
    """Give claimed steps back, unsent, for the next sweep to email."""
    SlaNotification.objects.filter(pk__in=ids).update(emailed_at=None)


def deliver_emails(*, batch_size: int = EMAIL_BATCH) -> int:
    """Email the recipients of recorded steps not emailed yet; returns how many were sent.

    Steps are claimed a batch at a time and sent over one connection to the mail server; a
    step whose sending fails is released for the next sweep."""
    from django.core.mail import get_connection

    from guanxi.accounts.models import User

    # Claim before connecting: the sweep runs every minute, and most minutes there is nothing
    # to send, so it should not reach the mail server (nor fail when the server is down) then.
    ids = _claim(batch_size)
    if not ids:
        return 0
    sent = 0
    with ExitStack() as stack:
        try:
            mail_connection = stack.enter_context(get_connection())
        except Exception:
            logger.exception(
                "Could not connect to the mail server; %d SLA notifications retried later",
                len(ids),
            )
            _release(ids)
            return sent
        while ids:
            records = list(SlaNotification.objects.filter(pk__in=ids).select_related("ticket"))
            wanted = {pk for record in records for pk in record.recipients}
            users = User.objects.filter(pk__in=wanted, is_active=True).exclude(email="")
            users_by_pk = {user.pk: user for user in users.select_related("team")}
            # The email quotes the ticket's subject: its numbers masked for whoever sees the
            # customer's numbers masked, in an email of their own.
            masked_pks = _seeing_masked(list(users_by_pk.values()))
            # The email quotes the ticket's subject, and may go out long after the step was
            # recorded (the mail server was down): to those who may see the ticket now.
            readable = {
                customer: {user.pk for user in readers}
                for customer, readers in customer_readers(
                    {record.ticket.customer_id for record in records}, users_by_pk.values()
                ).items()
            }
            failed = []
            for record in records:
                link = mail.ticket_url(record.ticket_id)
                may_see = readable.get(record.ticket.customer_id, set())
                recipients = [
                    users_by_pk[pk]
                    for pk in record.recipients
                    if pk in users_by_pk and pk in may_see
                ]
                try:
                    # One email per language its recipients read. Should a later one fail, the
                    # step is sent again next time to all of them, the earlier ones included.
                    for language, group in by_language(recipients).items():
                        with in_language(language):
                            text = _text(
                                record.ticket, record.target, record.percent, record.due_at
                            )
                        subject = record.ticket.subject
                        for alike, shown in (
                            ([u for u in group if u.pk not in masked_pks], subject),
                            (
                                [u for u in group if u.pk in masked_pks],
                                mask_numbers_in_text(subject),
                            ),
                        ):
                            if alike:
                                mail.send_to_staff(
                                    to=[user.email for user in alike],
                                    subject=text,
                                    body=f"{text}\n\n{shown}\n{link}",
                                    connection=mail_connection,
                                )
                except Exception:
                    logger.exception(
                        "Could not email SLA notification %s; retried later", record.pk
                    )
                    failed.append(record.pk)
                    continue
                sent += 1
            if failed:
                _release(failed)
                break  # the mail server is in trouble: the next sweep tries again
            ids = _claim(batch_size)
    return sent


# What the bell says of an email to the customer the sweep stopped trying, by its kind.
GIVEN_UP = {
    "reply": gettext_noop(
        "%(number)s: a reply was not sent to the customer and is no longer tried again: send "
        "it again from the ticket"
    ),
    "acknowledgement": gettext_noop(
        "%(number)s: the acknowledgement of the request was not sent to the customer and is no "
        "longer tried again: send it again from the ticket"
    ),
    "survey": gettext_noop(
        "%(number)s: the satisfaction survey was not sent to the customer and is no longer "
        "tried again: send it again from the ticket"
    ),
}


def _ticket_of(email):
    # A reply is read through its message, which follows a merge.
    return email.message.ticket if email.message_id else email.ticket


def customer_emails_give_up(*, now: datetime) -> int:
    """Give up the emails to customers the sweep no longer tries, and tell on the bell, in
    their language, whoever holds each one's ticket: its assignee, or for a ticket nobody holds
    whoever its service-level warning would tell in their place (its owner, then up its team's
    chain, then the administrators), among those who may see its customer, or would were it
    out of the recycle bin (they read the notice once it is); nobody else would know it was
    never sent. Each email in a transaction of its own, marked and told together,
    once (:func:`customer_email_give_up`). Returns how many were given up."""
    administrators = _Administrators()
    given_up = 0
    for email_id in customer_emails_to_give_up(now=now):
        with transaction.atomic():
            email = customer_email_give_up(email_id, now=now)
            if email is None:
                continue
            given_up += 1
            ticket = Ticket.objects.select_related(
                "sla_policy__general_manager",
                "assignee",
                "owner",
                "team__lead",
                "team__department__manager",
            ).get(pk=_ticket_of(email).pk)
            # Its customer may be in the recycle bin (an email held there is given up all the
            # same): whoever would see it were it back is told, and reads the notice once it is.
            readers = _readers([(ticket, [])], administrators, deleted=True)
            recipients = _recipients_for(
                ticket, DEFAULT_WARNING, administrators=administrators, readers=readers[ticket.pk]
            )
            if not recipients.people:
                logger.warning(
                    "Email %s to the customer of ticket %s is no longer tried again, and nobody "
                    "who may see the ticket could be told",
                    email.pk,
                    ticket.number,
                )
            notices = []
            for language, users in by_language(recipients.people).items():
                with in_language(language):
                    text = (_(GIVEN_UP[email.kind]) % {"number": ticket.number})[:300]
                notices += [
                    Notification(user=user, ticket=ticket, text=text, created_at=now)
                    for user in users
                ]
            Notification.objects.bulk_create(notices)
    return given_up


def sla_sweep(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, email: bool = True
) -> SweepResult:
    """Run batches until no ticket is due; then send the emails, and try again those to
    customers the mail server did not take."""
    now = now or timezone.now()
    result = SweepResult()
    recorded: list[int] = []
    while True:
        with transaction.atomic():
            looked_at, ids = sweep_batch(now, limit=batch_size)
        result.tickets += looked_at
        recorded += ids
        if looked_at < batch_size:
            break
    result.notifications = len(recorded)
    if email:
        result.emails = deliver_emails()
        result.customer_emails = customer_emails_retry(now=now)
    # Marked and told whether or not the sweep emails (its emails are what stopped trying).
    result.customer_emails_given_up = customer_emails_give_up(now=now)
    return result
