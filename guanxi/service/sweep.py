"""The service-level sweep: every minute, find the open tickets whose warning or breach moment
has come, tell the people the policy's escalation names, and schedule the next look.

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
from datetime import datetime
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

from . import mail
from .models import ESCALATION_ROLES, Notification, SlaNotification, Ticket
from .selectors import ticket_readers
from .services import _steps_done, policy_targets, status_histories
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
    by_step: dict[str, int] = field(default_factory=dict)


@dataclass
class Recipients:
    """Who hears of one step: ``people`` in order, and ``passed_over``: each person a role
    named who is no longer active, with those who hear of the step in their place."""

    people: list
    passed_over: list[tuple[Any, list]] = field(default_factory=list)

    def stands_in_for(self, user) -> list:
        """The people no longer active in whose place ``user`` hears of the step."""
        return [left for left, stand_ins in self.passed_over if user in stand_ins]


class _Administrators:
    """The active administrators, the last step of every chain; read once per batch, and only
    when some chain runs out of active people."""

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


def _recipients_for(
    ticket: Ticket, roles, *, watchers: bool = False, administrators=None
) -> Recipients:
    """The users the roles name for this ticket; when none of them exists (an unassigned
    ticket without a team), the next person up the chain who does. ``watchers``: the ticket's
    watchers too, after them. Nobody is named twice.

    A person named who is no longer active (deactivated while still a team's lead, a
    department's manager or a policy's general manager, before deactivation refused that)
    would leave an escalation naming only them reaching nobody, so the step goes on up the
    chain (:data:`ESCALATION_ROLES`) to the next active person, and to the administrators when
    nobody above is active; ``passed_over`` says who stood in for whom."""
    administrators = administrators or _Administrators()
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
    named = [r for r in roles if r in people and people[r] is not None]
    if not named:
        highest = max(
            (ESCALATION_ROLES.index(r) for r in roles if r in ESCALATION_ROLES), default=0
        )
        named = [r for r in ESCALATION_ROLES[highest:] if people[r] is not None][:1]
    found: list = []
    passed_over: list[tuple[Any, list]] = []
    for role in named:
        person = people[role]
        if person.is_active:
            found.append(person)
            continue
        above = ESCALATION_ROLES[ESCALATION_ROLES.index(role) + 1 :]
        stand_ins = [
            next(
                (people[r] for r in above if people[r] is not None and people[r].is_active),
                None,
            )
        ]
        if stand_ins[0] is None:
            stand_ins = administrators()
        found += stand_ins
        passed_over.append((person, stand_ins))
    if watchers:
        # A watcher whose customers changed hands since may no longer read the ticket, which the
        # notice and its email quote: only those the one visibility rule still lets see it.
        found += ticket_readers(ticket, [user for user in ticket.watchers.all() if user.is_active])
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


def _in_place_of(text: str, left: list) -> str:
    """A notice's text, for someone who hears of it in place of people no longer active."""
    if not left:
        return text
    reason = _("%(text)s (to you because %(name)s is no longer active)") % {
        "text": text,
        "name": ", ".join(user.label for user in left),
    }
    return reason[:300]


# The targets' names (SlaNotification.Target's labels) as messages, for audit summaries that each
# reader reads in their own language.
TARGET_NAMES = {
    SlaNotification.Target.FIRST_RESPONSE: gettext_noop("first response"),
    SlaNotification.Target.NEXT_RESPONSE: gettext_noop("next response"),
    SlaNotification.Target.RESOLUTION: gettext_noop("resolution"),
}


def _audit_passed_over(ticket: Ticket, target: str, recipients: Recipients) -> None:
    """Record on the ticket that a step went past people no longer active, and to whom: the
    chain of people a policy names is part of what the desk answers for."""
    for left, stand_ins in recipients.passed_over:
        names = ", ".join(user.label for user in stand_ins) or "-"
        summary = Summary(
            gettext_noop(
                "%(target)s escalation went to %(names)s because %(name)s is no longer active"
            ),
            {"target": Summary(TARGET_NAMES[target]), "names": names, "name": left.label},
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
                    "before": left.username,
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
    for ticket in tickets:
        policy = ticket.sla_policy
        if policy is None or ticket.status not in Ticket.OPEN_STATUSES or ticket.merged_into_id:
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
        deadlines = {c.target: c.due for c in clocks}
        for step in due_steps:
            recipients = _recipients_for(
                ticket,
                _roles_for(policy, step.percent, targets.warn_percent),
                # watchers hear of the breach, not of every warning
                watchers=step.percent == BREACH,
                administrators=administrators,
            )
            people = recipients.people
            if recipients.passed_over:
                _audit_passed_over(ticket, step.target, recipients)
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
        ticket.sla_check_at = upcoming
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
            users_by_pk = {user.pk: user for user in users.only("pk", "email", "language")}
            failed = []
            for record in records:
                link = mail.absolute_url(f"/service/tickets/{record.ticket_id}/")
                recipients = [users_by_pk[pk] for pk in record.recipients if pk in users_by_pk]
                try:
                    # One email per language its recipients read. Should a later one fail, the
                    # step is sent again next time to all of them, the earlier ones included.
                    for language, group in by_language(recipients).items():
                        with in_language(language):
                            text = _text(
                                record.ticket, record.target, record.percent, record.due_at
                            )
                        mail.send_to_staff(
                            to=[user.email for user in group],
                            subject=text,
                            body=f"{text}\n\n{record.ticket.subject}\n{link}",
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


def sla_sweep(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, email: bool = True
) -> SweepResult:
    """Run batches until no ticket is due; then send the emails."""
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
    return result
