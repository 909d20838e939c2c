"""Writes to the service desk.

Staff reach a ticket through its customer: whoever may *interact* with the customer (see
``customers.visibility``) may open, answer, assign and resolve the customer's tickets. Every
service takes the acting user, checks, writes, recomputes the ticket's service-level deadlines
and records the audit row (with the customer's id, so it shows in the customer's history) in one
transaction. Writes that change a ticket someone may be looking at take the version they read:
a stale version is refused rather than overwriting the other person's change.

Customers write through the public form, email and the survey link; those services take no
acting user and are reached only through a verified token or the inbound mail path.
"""

import functools
import logging
import smtplib
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import (
    audit_record,
    audit_record_many,
    audit_value,
    diff_values,
    setting_save,
    settings_delete,
    summary_fields,
)
from guanxi.audit.summaries import Summary, prefixed
from guanxi.core.languages import by_language, chinese_if_written_in_it, in_language
from guanxi.core.limits import at_most_characters
from guanxi.core.locking import ActorDeactivated, key_share_active_users, key_shared, shared
from guanxi.core.masking import mask_numbers_in_text, text_as_seen_by, texts_as_read
from guanxi.customers.models import Customer
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import INTERACT, customer_scope, customer_scopes

from . import mail
from .dangerous_files import MAX_ATTACHMENT_BYTES, Danger, Hazard, danger_in
from .models import (
    LEFT_TO_ITS_REQUEST,
    MAX_TICKET_ORDERS,
    RETRY_FOR,
    AgentProfile,
    CustomerEmail,
    SatisfactionSurvey,
    ServiceCalendar,
    SlaNotification,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketMessage,
    TicketStatusChange,
    claim_holds_for,
    email_languages,
)
from .routing import (
    Assignment,
    active_policies,
    choose_assignee,
    customer_tier,
    customer_tiers,
    policy_for,
)
from .selectors import ticket_get_for_user, ticket_readers
from .sla import Targets, running_clocks

logger = logging.getLogger(__name__)


# The files a service call wrote to storage so far, while one runs under
# ``_removing_files_on_failure``.
_WRITTEN_FILES: ContextVar[list | None] = ContextVar("written_files", default=None)


@contextmanager
def files_removed_on_failure():
    """Files written to storage inside the block are deleted again if it fails: a rollback
    takes the attachment rows back, but never the files, which nothing would point to."""
    if _WRITTEN_FILES.get() is not None:  # an enclosing block cleans up
        yield
        return
    written: list = []
    token = _WRITTEN_FILES.set(written)
    try:
        yield
    except BaseException:
        for storage, name in written:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("Could not delete the attachment file %s", name)
        raise
    finally:
        _WRITTEN_FILES.reset(token)


def _removing_files_on_failure(service):
    """For services that attach files: put outside ``transaction.atomic``, so that a failure
    anywhere in the transaction, its commit included, removes the files it wrote."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with files_removed_on_failure():
            return service(*args, **kwargs)

    return wrapper


S = Ticket.Status
# The status workflow: where each status may go next. Resolved and closed tickets reopen.
TRANSITIONS = {
    S.NEW: {S.OPEN, S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED},
    S.OPEN: {S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED},
    S.PENDING_CUSTOMER: {S.OPEN, S.RESOLVED, S.CLOSED},
    S.RESOLVED: {S.OPEN, S.CLOSED},
    S.CLOSED: {S.OPEN},
}
EDITABLE_FIELDS = (
    "type",
    "subject",
    "description",
    "category_id",
    "area",
    "priority",
    "channel",
    "language",
)
# The subject's column, which holds it collapsed onto one line (``mail.one_line``).
SUBJECT_LENGTH = Ticket._meta.get_field("subject").max_length
# What a change sending null for a field leaves in it; the other editable fields cannot be empty.
CLEARED_BY_NULL = {"description": "", "category_id": None, "area": ""}
SNAPSHOT_FIELDS = (
    "type",
    "subject",
    "category_id",
    "area",
    "priority",
    "channel",
    "language",
    "status",
    "assignee_id",
    "owner_id",
    "team_id",
    "sla_policy_id",
)
# As much of a description as the audit row keeps (the similar-case search reads as much).
DESCRIPTION_AUDITED = 2000


class StaleTicketError(Exception):
    """The ticket changed since the caller read it. ``field`` names the input that carried the
    stale version (``into_version`` when it is the other ticket of a merge)."""

    def __init__(self, current_version: int, *, field: str = "version"):
        super().__init__(f"The ticket is at version {current_version}.")
        self.current_version = current_version
        self.field = field


class CustomerInTheBin(Exception):
    """The customer wrote on a ticket whose customer is in the recycle bin, and nothing was
    filed (see :func:`customer_message`). ``ticket``: the one the message would have gone to
    (the last of those it was merged into, one into the next, or itself)."""

    def __init__(self, ticket: Ticket):
        super().__init__(f"The customer of ticket {ticket.number} is in the recycle bin.")
        self.ticket = ticket


def ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    snapshot = {name: audit_value(getattr(ticket, name)) for name in SNAPSHOT_FIELDS}
    # The language the customer is written in, not the one stored: a ticket storing none is
    # written to in the site default, and its history would otherwise read as if it had none.
    snapshot["language"] = ticket.email_language
    return snapshot


def ticket_details_snapshot(ticket: Ticket) -> dict[str, Any]:
    """:func:`ticket_snapshot` with what only opening and editing a ticket change: the
    customer's description of the problem and the orders it is about (one more query, so the
    writes that cannot change these leave them out)."""
    return {
        **ticket_snapshot(ticket),
        "description": ticket.description[:DESCRIPTION_AUDITED],
        "order_ids": sorted(ticket.orders.values_list("pk", flat=True)),
    }


def _audit(actor, ticket: Ticket, action: str, summary: str | Summary, changes: Mapping) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="ticket",
        object_id=ticket.pk,
        customer_id=ticket.customer_id,
        summary=prefixed(ticket.number, summary),
        changes=changes,
    )


def _search_text(ticket: Ticket) -> str:
    """The ticket's words as search tokens (the customer search's rules: Han fragments, pinyin,
    folded Latin words), for finding similar tickets."""
    from guanxi.customers.search import text_tokens

    return text_tokens(f"{ticket.subject} {ticket.description[:2000]}")


# --- service levels --------------------------------------------------------------------------


def policy_targets(policy: SlaPolicy) -> Targets:
    percents = []
    for step in policy.escalation or []:
        try:
            percents.append(int(step.get("at_percent")))
        except (AttributeError, TypeError, ValueError):
            continue
    return Targets(
        first_response=policy.first_response_minutes,
        next_response=policy.next_response_minutes,
        resolution=policy.resolution_minutes,
        warn_percent=policy.warn_percent,
        escalation_percents=tuple(p for p in percents if p > 0),
    )


def status_history(ticket: Ticket) -> list[tuple[datetime, str]]:
    return status_histories([ticket.pk])[ticket.pk]


def status_histories(ticket_ids) -> dict[int, list[tuple[datetime, str]]]:
    """The ``(moment, status)`` history of each ticket, oldest first, in one query."""
    from collections import defaultdict

    histories: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for ticket_id, at, status in (
        TicketStatusChange.objects.filter(ticket_id__in=list(ticket_ids))
        .order_by("ticket_id", "at", "id")
        .values_list("ticket_id", "at", "to_status")
    ):
        histories[ticket_id].append((at, status))
    return histories


def ticket_clocks(ticket: Ticket, *, statuses=None):
    policy = ticket.sla_policy
    if policy is None:
        return []
    return running_clocks(
        policy.calendar.calendar,
        policy_targets(policy),
        statuses=statuses if statuses is not None else status_history(ticket),
        first_responded_at=ticket.first_responded_at,
        waiting_since=ticket.waiting_since,
    )


def _steps_done(ticket_ids) -> dict[int, set]:
    """The warning and breach steps already recorded, per ticket, in one query."""
    from collections import defaultdict

    done: dict[int, set] = defaultdict(set)
    for ticket_id, target, started, percent in SlaNotification.objects.filter(
        ticket_id__in=list(ticket_ids)
    ).values_list("ticket_id", "target", "clock_started_at", "percent"):
        done[ticket_id].add((target, started, percent))
    return done


def recompute_deadlines(
    ticket: Ticket, *, now: datetime | None = None, statuses=None, done=None
) -> None:
    """Set the ticket's deadlines and its next check from its history and current policy
    (in memory; the caller saves)."""
    from .sla import FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION, steps_due

    now = now or timezone.now()
    clocks = ticket_clocks(ticket, statuses=statuses)
    due = {clock.target: clock.due for clock in clocks}
    ticket.first_response_due = due.get(FIRST_RESPONSE)
    ticket.next_response_due = due.get(NEXT_RESPONSE)
    ticket.resolution_due = (
        due.get(RESOLUTION) if ticket.status not in Ticket.DONE_STATUSES else None
    )
    if ticket.status in Ticket.DONE_STATUSES or ticket.merged_into_id:
        ticket.sla_check_at = None
        return
    if done is None:
        done = _steps_done([ticket.pk])[ticket.pk] if ticket.pk else set()
    passed, upcoming = steps_due(clocks, now, done=done)
    # A step whose moment has passed and was not yet recorded is for the sweep to send now.
    ticket.sla_check_at = now if passed else upcoming


def _save(ticket: Ticket, *, now: datetime) -> None:
    ticket.updated_at = now
    ticket.version = F("version") + 1
    ticket.save()
    ticket.refresh_from_db(fields=["version"])


def _save_audited(
    actor,
    ticket: Ticket,
    *,
    now: datetime,
    action: str,
    summary: str | Summary,
    before: dict,
    snapshot=ticket_snapshot,
    **extra,
) -> None:
    """Save a changed ticket (a new version) and record what changed since ``before`` (taken
    with ``snapshot``), plus ``extra`` changes (a reply's text, the customer's message), as one
    audit row."""
    _save(ticket, now=now)
    changes = diff_values(before, snapshot(ticket))
    changes.update({name: {"before": None, "after": value} for name, value in extra.items()})
    _audit(actor, ticket, action, summary, changes)


def _change_status(ticket: Ticket, new_status: str, *, actor, now: datetime) -> None:
    if new_status == ticket.status:
        return
    if new_status not in TRANSITIONS[ticket.status]:
        raise ValidationError(
            {
                "status": _("A %(old)s ticket cannot become %(new)s.")
                % {"old": ticket.get_status_display(), "new": S(new_status).label}
            }
        )
    old = ticket.status
    if old in Ticket.DONE_STATUSES and new_status not in Ticket.DONE_STATUSES:
        ticket.reopened_count += 1
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.resolution_met = None
        # A survey the mail server has not taken yet would tell the customer their request is
        # resolved, and ask how that went, while it is open again: it is not sent (resolving it
        # again writes a new one).
        CustomerEmail.objects.filter(
            ticket=ticket, kind=CustomerEmail.Kind.SURVEY, sent_at=None
        ).delete()
    ticket.status = new_status
    TicketStatusChange.objects.create(
        ticket=ticket, at=now, from_status=old, to_status=new_status, by=actor
    )
    if new_status == S.RESOLVED or (new_status == S.CLOSED and ticket.resolved_at is None):
        ticket.resolved_at = now
        ticket.resolution_met = _met(ticket.resolution_due, now)
    if new_status == S.CLOSED:
        ticket.closed_at = now


def _met(due: datetime | None, at: datetime) -> bool | None:
    return None if due is None else at <= due


def _matched_policy(ticket: Ticket, *, tier: str) -> SlaPolicy | None:
    """The policy :func:`policy_for` matches ``ticket`` to, locked until the transaction ends
    where the ticket does not have it already (FOR KEY SHARE, as the database's check of the
    ticket's policy would lock it only as the transaction commits): a deletion of it under way
    is waited for, and the ticket matched again to the policies left, instead of the commit
    failing on the policy gone (a server error). Not the ticket's own policy: its deletion
    comes to the ticket, which the caller holds, and would wait for it while this waited."""
    while True:
        policy = policy_for(ticket, tier=tier)
        if (
            policy is None
            or policy.pk == ticket.sla_policy_id
            or key_shared(SlaPolicy.objects.filter(pk=policy.pk).values_list("pk"))
        ):
            return policy


# --- creating --------------------------------------------------------------------------------


def _clean_fields(data: Mapping[str, Any], errors: dict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    unknown = set(data) - set(EDITABLE_FIELDS) - {"order_ids", "requester_email"}
    for name in sorted(unknown):
        errors.setdefault(name, []).append(_("Unknown field."))
    for name in EDITABLE_FIELDS:
        if name in data and data[name] is not None:
            values[name] = data[name]
    choices = {
        "type": Ticket.Type,
        "priority": Ticket.Priority,
        "channel": Ticket.Channel,
        "area": Ticket.Area,
    }
    for name, enum in choices.items():
        if name in values and values[name] not in enum.values:
            errors.setdefault(name, []).append(
                _("Choose one of: %(values)s.") % {"values": ", ".join(v for v in enum.values if v)}
            )
    # Blank is the take-down form's "as the request is written": the language is then guessed
    # as for a request without a choice (see ``ticket_create``).
    if values.get("language") == "":
        del values["language"]
    offered = [code for code, _name in email_languages()]
    if "language" in values and values["language"] not in offered:
        errors.setdefault("language", []).append(
            _("Choose one of: %(values)s.") % {"values": ", ".join(offered)}
        )
    if "subject" in values:
        # One line: the subject heads every email about the ticket, and a line break in a
        # header is refused by the mailer (after the change was saved) or read as a new header.
        values["subject"] = mail.one_line(str(values["subject"]))
        if not values["subject"]:
            errors.setdefault("subject", []).append(_("This field is required."))
        elif len(values["subject"]) > SUBJECT_LENGTH:
            errors.setdefault("subject", []).append(at_most_characters(SUBJECT_LENGTH))
    if (
        values.get("category_id") is not None
        and not TicketCategory.objects.filter(pk=values["category_id"], is_active=True).exists()
    ):
        errors.setdefault("category_id", []).append(_("No such category."))
    return values


# The most ids of orders that are not the customer's a refusal names: one sent a thousand of
# them (a client's bug, or a caller guessing ids) is told the first few and how many others,
# not handed back a page of numbers.
NAMED_ORDER_IDS = 10


def _not_the_customers_orders(ids: list[int]) -> str:
    named = ", ".join(str(i) for i in ids[:NAMED_ORDER_IDS])
    others = len(ids) - NAMED_ORDER_IDS
    if others <= 0:
        return _("Orders %(ids)s are not this customer's.") % {"ids": named}
    return ngettext(
        "Orders %(ids)s and %(others)d other are not this customer's.",
        "Orders %(ids)s and %(others)d others are not this customer's.",
        others,
    ) % {"ids": named, "others": others}


def _link_orders(ticket: Ticket, order_ids: Iterable[int], errors: dict) -> None:
    from guanxi.orders.models import Order

    wanted = set(order_ids or [])
    if not wanted:
        return
    # Locked: an order import moving one of them to another customer finishes first, and the
    # order is then found to be that customer's; one starting after reads the link and keeps
    # the order where it is.
    found = set(
        Order.objects.select_for_update()
        .filter(pk__in=wanted, customer_id=ticket.customer_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if found != wanted:
        errors.setdefault("order_ids", []).append(_not_the_customers_orders(sorted(wanted - found)))
        return
    ticket.orders.add(*found)


def _routed(ticket: Ticket, *, tier: str, actor=None) -> Assignment:
    """Whom routing gives the new ticket to (:func:`choose_assignee`), locked until the
    transaction ends (FOR KEY SHARE, as the database's check of the ticket's assignee and owner
    would lock them only as it commits): a deletion or deactivation of theirs under way is
    waited for, and they are then passed over for the next in routing's order (nobody, at the
    end of it), instead of the commit failing on a user gone (a server error) or the ticket
    going to someone who has left, after their tickets were handed over.

    The ``actor`` taking the request in, whom the ticket names as its author (and an agent as
    its owner, or its assignee when routing gives it nobody), is locked likewise, with the
    user chosen in one id order, as a deactivation locks the leaver and their successor; one
    deleted or deactivated meanwhile is refused as any inactive user is
    (:class:`ActorDeactivated`).

    Each choice is locked in a savepoint of its own, undone when the user chosen is passed
    over: kept, the actor locked with them was still held as the next choice was locked with
    them, and a deactivation of that next one (a lower id than the actor) handing over to the
    actor, holding the one and waiting for the other, deadlocked with this. The savepoint of
    the choice kept is left open, not released: PostgreSQL keeps the row locks of a released
    savepoint even when the caller's savepoint around it is undone (``_open_ticket`` routing
    again), and they would then be held out of order as well."""

    passed_over: set[int] = set()
    while True:
        assignment = choose_assignee(ticket, tier=tier, passed_over=passed_over)
        wanted = {person.pk for person in (assignment.user, actor) if person is not None}
        if not wanted:
            return assignment
        choice = transaction.savepoint()
        locked = key_share_active_users(wanted)
        if actor is not None and actor.pk not in locked:
            raise ActorDeactivated
        if assignment.user is None or assignment.user.pk in locked:
            return assignment
        transaction.savepoint_rollback(choice)
        passed_over.add(assignment.user.pk)


def _customer_locked(customer_id: int, *, actor=None) -> Customer:
    """The customer a new ticket is for, locked and read as stored (once the user routed to
    is), so that a merge or deletion of it under way finishes first: the ticket is then refused
    with ``Customer.DoesNotExist``, as for a customer gone, instead of being written after the
    merge moved the customer's tickets to the kept one and left it behind in the recycle bin.

    With an ``actor`` (staff opening the ticket), who may open a ticket for it is asked again
    once it is locked, through the visibility rule (:func:`access_customer`): a customer given
    to someone else out of the actor's sight between the caller's first read and this lock is
    refused as that read would refuse it now, not given a ticket by someone who may no longer
    see it. Locked first and asked after, so the answer is about the customer as it will stay
    until the ticket commits."""
    locked = Customer.objects.select_for_update().get(pk=customer_id, deleted_at=None)
    if actor is not None:
        access_customer(actor, customer_id, INTERACT)
    return locked


def _open_ticket(
    *,
    actor,
    customer: Customer,
    values: dict[str, Any],
    order_ids: Iterable[int] = (),
    requester_email: str = "",
    now: datetime,
) -> Ticket:
    """Open a ticket for ``customer`` (as read, unlocked), locked here with
    :func:`_customer_locked`: ``Customer.DoesNotExist`` when it has gone meanwhile, and, for an
    ``actor``, ``Customer.DoesNotExist`` or ``PermissionDenied`` when it has left their sight."""
    errors: dict[str, list[str]] = {}
    for required in ("type", "subject"):
        if not values.get(required):
            errors.setdefault(required, []).append(_("This field is required."))
    if errors:
        raise ValidationError(errors)
    ticket = Ticket(
        customer=customer,
        created_by=actor,
        created_at=now,
        updated_at=now,
        requester_email=requester_email,
        **values,
    )
    if ticket.type != Ticket.Type.COMPLAINT:
        ticket.area = ""
    tier = customer_tier(customer.pk)
    # The user routed to is locked before the customer, as a deactivation locks the leaver and
    # then the customers they own: a gold customer's request, routed to their account manager
    # as they left, held the customer while it waited for them, and the deactivation waited
    # for the customer. Routed again only if the customer's owner changed meanwhile (a key
    # account moves with its owner), the customer's lock let go first (a savepoint undone):
    # the new owner locked while it was held, deactivating them waited for the customer here
    # as this waited for them. The users routed to are locked in that savepoint too, and let
    # go with the customer: kept, the first owner was held while the new one was locked after
    # them, and a deactivation of the new one (the lower id) handing over to the first, holding
    # the one and waiting for the other, deadlocked with this.
    while True:
        with transaction.atomic():
            assignment = _routed(ticket, tier=tier, actor=actor)
            locked = _customer_locked(customer.pk, actor=actor)
            if locked.owner_id == ticket.customer.owner_id:
                break
            transaction.set_rollback(True)
        ticket.customer = locked
    ticket.customer = locked
    ticket.assignee = assignment.user
    # The agent who takes the request in (on the phone, at the counter) owns it; a request
    # that comes in by itself is owned by whoever routing gives it to.
    is_agent = actor is not None and getattr(actor, "role", "") == "service_agent"
    ticket.owner = actor if is_agent else assignment.user
    if ticket.assignee is None and is_agent:
        ticket.assignee = actor
    if ticket.assignee is not None:
        ticket.team_id = ticket.assignee.team_id
    ticket.sla_policy = _matched_policy(ticket, tier=tier)
    ticket.search_text = _search_text(ticket)
    ticket.save()
    TicketStatusChange.objects.create(
        ticket=ticket, at=now, from_status="", to_status=ticket.status, by=actor
    )
    _link_orders(ticket, order_ids, errors)
    if errors:
        raise ValidationError(errors)
    recompute_deadlines(ticket, now=now)
    ticket.save(update_fields=["first_response_due", "resolution_due", "sla_check_at"])
    changes = {
        name: {"before": None, "after": value}
        for name, value in ticket_details_snapshot(ticket).items()
        if value not in (None, "", [])
    }
    changes["routing"] = {"before": None, "after": assignment.reason}
    if ticket.continues_id is not None:
        changes["continues"] = {"before": None, "after": ticket.continues_id}
    _audit(actor, ticket, AuditEvent.Action.CREATE, ticket.subject, changes)
    return ticket


@transaction.atomic
def ticket_create(*, actor, customer_id: int, data: Mapping[str, Any]) -> Ticket:
    """Open a ticket for a customer the actor may interact with."""
    customer = access_customer(actor, customer_id, INTERACT)
    errors: dict[str, list[str]] = {}
    values = _clean_fields(data, errors)
    requester_email = _requester_email(data.get("requester_email"), errors)
    if errors:
        raise ValidationError(errors)
    values.setdefault("channel", Ticket.Channel.PHONE)
    # Taken down on the phone or at the counter without a choice of language: a request
    # written down in Chinese was most likely made in it, so the customer's mail about it is in
    # Chinese too. The agent who heard the caller knows better, and may say so.
    if "language" not in values:
        values["language"] = chinese_if_written_in_it(
            values.get("subject", ""), values.get("description", "")
        )
    return _open_ticket(
        actor=actor,
        customer=customer,
        values=values,
        order_ids=data.get("order_ids") or (),
        requester_email=requester_email,
        now=timezone.now(),
    )


def _requester_email(value: Any, errors: dict) -> str:
    """The one address replies and the survey go to: anything else (a list of addresses, a
    line break that would add a header) would reach other people or fail in the mailer."""
    address = str(value or "").strip().lower()
    if address:
        try:
            validate_email(address)
        except ValidationError:
            errors.setdefault("requester_email", []).append(_("Enter one valid email address."))
    return address


@transaction.atomic
def ticket_create_from_customer(
    *,
    customer: Customer,
    data: Mapping[str, Any],
    requester_email: str = "",
    email_message_id: str = "",
    email_copied: Iterable[str] = (),
    acknowledge: bool = True,
    sender_unverified: bool = False,
    continues: Ticket | None = None,
) -> Ticket:
    """A ticket the customer opened themselves (public form, email): no acting user; the
    customer is told its number and status link unless ``acknowledge`` is false (mail that
    came through a mailing list, where the answer would go to the whole list). ``email_copied``
    are the others an email was sent to, who may write to the ticket too;
    ``sender_unverified`` marks an email whose sender could not be verified (see ``intake``);
    ``continues``, the ticket in the recycle bin the customer wrote on (see ``Ticket.continues``).

    Raises ``Customer.DoesNotExist`` when ``customer`` was merged into another or deleted by
    the time it is locked (see :func:`_customer_locked`); the caller finds the customer again."""
    errors: dict[str, list[str]] = {}
    values = _clean_fields(data, errors)
    if errors:
        raise ValidationError(errors)
    values["language"] = _requester_language(values)
    values["sender_unverified"] = sender_unverified
    values["continues"] = continues
    now = timezone.now()
    ticket = _open_ticket(
        actor=None,
        customer=customer,
        values=values,
        requester_email=requester_email,
        now=now,
    )
    TicketMessage.objects.create(
        ticket=ticket,
        kind=TicketMessage.Kind.CUSTOMER,
        body=values.get("description") or values["subject"],
        created_at=now,
        email_message_id=email_message_id,
        email_from=requester_email if email_message_id else "",
        email_copied=list(email_copied),
    )
    if requester_email and acknowledge and not _acknowledged_often(ticket):
        _email_customer_on_commit(ticket, CustomerEmail.Kind.ACKNOWLEDGEMENT, requester_email)
    return ticket


def _requester_language(values: Mapping[str, Any]) -> str:
    """The language to write to a customer in about the request they make: Chinese when they
    wrote in it; on the request form, the language they had chosen there; otherwise the site
    default (blank). Customers have no stored language: one address may be read by different
    people, and each request says for itself."""
    written = chinese_if_written_in_it(values.get("subject", ""), values.get("description", ""))
    if written or values.get("channel") != Ticket.Channel.WEB_FORM:
        return written
    active = translation.get_language() or ""
    return active if active in dict(settings.LANGUAGES) else ""


# More requests than this from one address within an hour are still filed, but not acknowledged:
# an autoresponder that does not say it is one would otherwise answer each acknowledgement with
# a new request, for ever (RFC 3834, 2: not answering the same sender again and again).
ACKNOWLEDGEMENTS_PER_HOUR = 3


def _acknowledged_often(ticket: Ticket) -> bool:
    earlier = Ticket.objects.filter(
        requester_email=ticket.requester_email,
        created_at__gt=ticket.created_at - timedelta(hours=1),
        created_at__lte=ticket.created_at,
    ).exclude(pk=ticket.pk)
    return earlier.count() >= ACKNOWLEDGEMENTS_PER_HOUR


# --- changing --------------------------------------------------------------------------------


def _locked(pk: int) -> Ticket:
    """The ticket, its row locked for the rest of the transaction, with its policy and calendar.

    Only the ticket's row is locked: its policy is joined with an outer join (it may have
    none), and PostgreSQL cannot lock the nullable side of one."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("sla_policy__calendar")
        .get(pk=pk)
    )


class _ToldMeanwhile(Exception):
    """Raised by :func:`_lock` called with ``told_named``: the ticket tells someone the caller
    did not lock with the other users (given it or watching it since the caller read it), or
    belongs to another customer now; the caller undoes its savepoint and starts again."""


def _lock(
    actor,
    ticket_id: int,
    expected_version: int | None,
    *,
    naming: Iterable = (),
    told_named: bool = False,
) -> Ticket:
    """The ticket through the actor's view (``Ticket.DoesNotExist`` when out of sight), then
    ``PermissionDenied`` unless they may interact with its customer; locked; version checked.

    Locked in the order every writer locks, users, then the customer, then the ticket (as a
    deactivation locks the leaver and their successor and then what they hold, and a
    customer's reassignment, deletion or merge locks it and then its tickets):

    - the actor, the users the change names (``naming``: an assignee) and those it may tell
      (:func:`_told_of`), in one statement (:func:`key_share_active_users`): a deactivation
      under way is waited for, and an actor it made inactive is refused
      (:class:`ActorDeactivated`) rather than changing a ticket after their hand-over; the
      caller refuses a named user left out by its own field, reading them again, as locked.
      Locked one by one, or the actor only as the audit row's key is checked at the commit,
      a change naming a leaver's successor held the successor while the deactivation held
      the leaver, and the database broke one of them off;
    - the customer, shared (see :func:`_customer_shared`), and only then asked about: a
      change of its owner or a move to the recycle bin under way is waited for and then seen,
      and none can start until this commits, so the answer holds for the change it allows.
      Asked before the lock, a customer given out of the actor's sight (or deleted) between
      the two was still changed, by someone who could no longer open the ticket.

    ``told_named``: the caller locks another ticket too, and named (``naming``) whom this one
    tells as it read it, with the users of that one. One it tells now besides them raises
    :class:`_ToldMeanwhile`, for the caller to let its locks go and start again: locked here,
    they were locked after the other ticket, and a deactivation of theirs waiting for it (or
    for the customer) deadlocked with the caller."""
    ticket = ticket_get_for_user(actor, ticket_id)
    customer_id, told = ticket.customer_id, _told_of(ticket)
    naming = set(naming)
    # A customer merge moves the tickets of the customer merged away to the kept one (both
    # customers locked first): one finished between the read above and the customer's lock is
    # seen on the ticket, and the other customer locked instead, the first one let go (a
    # savepoint undone) so as not to be holding a customer and a ticket while waiting for
    # another customer. Likewise a ticket given to someone else, or watched by someone new,
    # meanwhile: those it tells are locked before it, afresh.
    while True:
        if told_named and not told <= naming:
            raise _ToldMeanwhile
        # With ``told_named`` the locks are taken in the caller's savepoint, which it undoes
        # itself to start again: taken in one of ours, kept, and then let go with the caller's,
        # they were still waited for by whoever had come to them meanwhile, until the whole
        # transaction ended.
        with nullcontext() if told_named else transaction.atomic():
            if actor.pk not in key_share_active_users([actor.pk, *naming, *told]):
                raise ActorDeactivated
            _customer_shared(customer_id)
            ticket = _locked(ticket.pk)
            if ticket.customer_id == customer_id and _told_of(ticket) <= told:
                break
            if told_named:
                raise _ToldMeanwhile
            transaction.set_rollback(True)
        customer_id, told = ticket.customer_id, _told_of(ticket)
    try:
        access_customer(actor, customer_id, INTERACT)
    except Customer.DoesNotExist:
        # The ticket is seen through its customer: as the first read would answer now.
        raise Ticket.DoesNotExist from None
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicketError(ticket.version)
    return ticket


def _told_of(ticket: Ticket) -> set[int]:
    """The users a change of ``ticket`` may tell (:func:`_tell`): its assignee, its owner and
    its watchers. A notification row naming one has its key checked by the database only as
    the change commits, after the ticket's lock; a deactivation of that user, holding them and
    waiting for the ticket to hand it over, then deadlocked with the change. So they are locked
    with the actor, before the customer and the ticket."""
    return {pk for pk in (ticket.assignee_id, ticket.owner_id) if pk is not None} | set(
        ticket.watchers.values_list("pk", flat=True)
    )


def _customer_shared(customer_id: int) -> None:
    """Lock the customer FOR SHARE (PostgreSQL) until the transaction ends: every change of its
    owner or of whether it is in the recycle bin waits for it, and it waits for one under way,
    while other changes of its tickets, which share it, go ahead side by side (none of them
    changes the customer's row). Elsewhere nothing: SQLite has one writer at a time."""
    shared(Customer.objects.filter(pk=customer_id).values_list("pk"))


def _lock_unmerged(
    actor, ticket_id: int, expected_version: int | None, *, naming: Iterable = ()
) -> Ticket:
    """:func:`_lock`, refusing a ticket merged into another (``ValidationError`` on
    ``ticket_id``, as merging it again is, naming the kept ticket) whatever the change: its
    conversation goes on in the kept ticket, and reopened, given to someone, answered or noted
    it would come back to the queues and the sweep as an empty shell, the customer answered
    under a closed number. Asked before its version, which the merge moved on: a client is
    told why, not to read the ticket again only to be refused then."""
    ticket = _lock(actor, ticket_id, None, naming=naming)
    if ticket.merged_into_id:
        raise ValidationError(
            {
                "ticket_id": _(
                    "This ticket was merged into %(number)s and can no longer be changed; "
                    "change that one instead."
                )
                % {"number": ticket.merged_into.number}
            }
        )
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicketError(ticket.version)
    return ticket


@transaction.atomic
def ticket_update(
    *, actor, ticket_id: int, expected_version: int, data: Mapping[str, Any]
) -> Ticket:
    """Change the ticket's type, subject, description, category, area, priority, channel or
    the language the customer is emailed in (every email sent from then on, those written
    before and not sent yet included). A change that makes another policy match moves the
    ticket to it.

    A ticket merged into another is refused (see :func:`_lock_unmerged`): a change here would
    move it to another policy and deadlines as if it were still worked on."""
    ticket = _lock_unmerged(actor, ticket_id, expected_version)
    errors: dict[str, list[str]] = {}
    if isinstance(data.get("subject"), str):
        # Judged as read in the form it is stored in (one line, single spaces): a guess at a
        # number shown masked, spaced so as not to read as one, would otherwise be taken, and
        # stored as no change if right and as a change over the number if wrong. A subject of
        # two lines (stored before subjects were kept on one) sent back as read stays as is.
        subject, as_read = mail.one_line(data["subject"]), text_as_seen_by(actor, ticket.subject)
        if as_read != ticket.subject and subject == mail.one_line(as_read):
            data = {name: value for name, value in data.items() if name != "subject"}
        else:
            data = {**data, "subject": subject}
    data = texts_as_read(actor, ticket, data, ("subject", "description"), errors)
    values = _clean_fields({k: v for k, v in data.items() if k != "order_ids"}, errors)
    # A null sent for a field clears it where the ticket may lack one, and is refused where it
    # may not, rather than being dropped while the client believes the field was cleared.
    for name in sorted(k for k, v in data.items() if v is None and k in EDITABLE_FIELDS):
        if name in CLEARED_BY_NULL:
            values[name] = CLEARED_BY_NULL[name]
        else:
            errors.setdefault(name, []).append(_("This field cannot be empty."))
    if errors:
        raise ValidationError(errors)
    # The language read (the site default's, where the ticket stores none) sent back with other
    # changes is no change, as on the ticket's page: the ticket goes on following the default.
    if values.get("language") == ticket.email_language:
        del values["language"]
    before = ticket_details_snapshot(ticket)
    for name, value in values.items():
        setattr(ticket, name, value)
    if ticket.type != Ticket.Type.COMPLAINT:
        ticket.area = ""
    if "order_ids" in data:
        ticket.orders.clear()
        _link_orders(ticket, data["order_ids"] or (), errors)
        if errors:
            raise ValidationError(errors)
    now = timezone.now()
    ticket.sla_policy = _matched_policy(ticket, tier=customer_tier(ticket.customer_id))
    ticket.search_text = _search_text(ticket)
    recompute_deadlines(ticket, now=now)
    _save_audited(
        actor,
        ticket,
        now=now,
        action=AuditEvent.Action.UPDATE,
        summary=ticket.subject,
        before=before,
        snapshot=ticket_details_snapshot,
    )
    return ticket


@transaction.atomic
def ticket_assign(
    *, actor, ticket_id: int, assignee_id: int | None, expected_version: int | None = None
) -> Ticket:
    """Give the ticket to someone (or to nobody). The first person to hold it stays its owner."""
    from guanxi.accounts.models import Team, User

    # The assignee is locked with the actor, before the customer and the ticket (see
    # :func:`_lock`), and read again once locked: one deactivated or deleted meanwhile is
    # refused as any inactive user is, rather than given the ticket after their hand-over.
    ticket = _lock_unmerged(
        actor,
        ticket_id,
        expected_version,
        naming=[assignee_id] if assignee_id is not None else [],
    )
    before = ticket_snapshot(ticket)
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is None:
            raise ValidationError({"assignee_id": _("No active user with this id.")})
        if not _workable_customers(assignee, [ticket.customer_id]):
            raise ValidationError(
                {"assignee_id": _("%(user)s may not work with this customer.") % {"user": assignee}}
            )
        # Their team is locked likewise, after the ticket, where the ticket does not have it
        # already. A team's deletion locks its members before the team and its tickets, so an
        # assignee in a team being deleted was waited for above and read without the team; the
        # refusal below stays for a team removed without those locks. The team's row alone
        # (``key_shared`` locks no table its query joins, such as the department its ordering
        # reads): a deactivation of the department's last agent, holding the department and
        # waiting for the managers' tickets, deadlocked with an assignment of one of them.
        if assignee.team_id not in (None, ticket.team_id) and not key_shared(
            Team.objects.filter(pk=assignee.team_id).values_list("pk")
        ):
            raise ValidationError(
                {
                    "assignee_id": _(
                        "The team of %(user)s was deleted as the ticket was given to them; "
                        "give it again."
                    )
                    % {"user": assignee}
                }
            )
    now = timezone.now()
    if assignee is not None and ticket.owner_id is None:
        ticket.owner = assignee
    _give(ticket, assignee, actor=actor, now=now)
    _save_audited(
        actor,
        ticket,
        now=now,
        action=AuditEvent.Action.REASSIGN,
        summary=ticket.subject,
        before=before,
    )
    return ticket


def _workable_customers(user, customer_ids, *, deleted: bool = False) -> set[int]:
    """Which of ``customer_ids`` (ids, or a query of them) ``user`` may work with, as the one
    to whom their tickets are given; with ``deleted``, customers in the recycle bin count as if
    they were back."""
    return set(
        Customer.objects.filter(customer_scope(user, INTERACT, deleted=deleted))
        .filter(pk__in=customer_ids)
        .values_list("pk", flat=True)
    )


def _give(ticket: Ticket, assignee, *, actor, now) -> None:
    """Make ``assignee`` (None: nobody) the one working on the ticket: their team takes it, and
    a new ticket someone holds is open from now."""
    ticket.assignee = assignee
    if assignee is None:
        return
    ticket.team_id = assignee.team_id
    if ticket.status == S.NEW:
        _change_status(ticket, S.OPEN, actor=actor, now=now)
        recompute_deadlines(ticket, now=now)


@transaction.atomic
def tickets_hand_over(*, actor, from_user_id: int, to_user_id: int | None) -> int:
    """Hand the open tickets ``from_user_id`` holds (assigned to them, or theirs as first
    contact) to ``to_user_id`` when they leave, one audited change per ticket; returns how
    many tickets changed (one no longer held by them once locked is left alone, and not
    counted).

    A ticket goes to the successor only where they may work with its customer, as
    :func:`ticket_assign` requires; otherwise, or with no successor (``None``), it goes to
    nobody: back to its team's unassigned queue, where routing and the SLA sweep see it,
    rather than to someone who could not open it.

    Tickets on customers in the recycle bin go too, the successor's right to them judged as if
    the customer were back (as whoever undoes a merge is judged): a customer restored later
    would otherwise bring back a ticket held by someone who has left, where nobody works it
    and the sweep escalates it to no one. ``accounts.selectors.user_holdings`` counts them
    likewise, so the deactivation says they are there and checks they have gone."""
    from guanxi.accounts.models import User

    successor = None if to_user_id is None else User.objects.get(pk=to_user_id, is_active=True)
    reachable = Customer.objects.filter(customer_scope(actor, INTERACT, deleted=True))
    ticket_ids = list(
        Ticket.objects.held_open_by([from_user_id])
        .filter(customer__in=reachable.values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    workable = (
        set()
        if successor is None
        else _workable_customers(
            successor,
            Ticket.objects.filter(pk__in=ticket_ids).values("customer_id"),
            deleted=True,
        )
    )
    return len(
        _move_tickets(
            actor,
            ticket_ids,
            from_user_id=from_user_id,
            taker_of=lambda ticket: successor if ticket.customer_id in workable else None,
        )
    )


def _move_tickets(actor, ticket_ids: list[int], *, from_user_id: int, taker_of) -> set[int]:
    """Give what ``from_user_id`` holds of each ticket (its first-contact ownership, its
    assignment) to ``taker_of(ticket)``, or to nobody (``None``: back to its team's unassigned
    queue), each ticket locked and its change audited; returns the ids of the tickets changed.

    The callers chose ``ticket_ids`` themselves (the hand-over through the actor's view, the
    release by what the holders no longer see), so each is locked as stored, not read again
    through the actor's view: that leaves out tickets on customers in the recycle bin, the very
    ones a manager who keeps sight of every other customer lets go of, and the deactivation
    failed on the ticket not found. One no longer held open by ``from_user_id`` once locked
    (given to someone else, or resolved or closed, meanwhile) is left alone: a closed ticket
    keeps who worked it, and the others would be given a change that changes nothing."""
    now = timezone.now()
    moved: set[int] = set()
    for ticket_id in ticket_ids:
        ticket = _locked(ticket_id)
        if ticket.status not in Ticket.OPEN_STATUSES or from_user_id not in (
            ticket.owner_id,
            ticket.assignee_id,
        ):
            continue
        taker = taker_of(ticket)
        before = ticket_snapshot(ticket)
        if ticket.owner_id == from_user_id:
            ticket.owner = taker
        if ticket.assignee_id == from_user_id:
            _give(ticket, taker, actor=actor, now=now)
        _save_audited(
            actor,
            ticket,
            now=now,
            action=AuditEvent.Action.REASSIGN,
            summary=ticket.subject,
            before=before,
        )
        moved.add(ticket.pk)
    return moved


def tickets_held_lock(
    *,
    user_ids: Iterable[int],
    customer_ids: Iterable[int] = (),
    team_ids: Iterable[int] = (),
    binned_of: Iterable[int] = (),
) -> None:
    """Lock the open tickets ``user_ids`` hold (assigned to them, or theirs as first contact),
    those anyone holds on ``customer_ids`` (customers the caller has locked and is giving
    another account manager, see :func:`tickets_customers_release`), every ticket of
    ``team_ids`` (teams the caller has locked and is deleting, see
    :func:`tickets_team_deleted`) and those ``binned_of`` hold on customers in the recycle bin
    (managers who see every other customer, see :func:`tickets_out_of_sight_release`), all in
    one ascending id order, as a ticket merge locks its two: for a caller about to move them
    in more than one pass (one user's, then others'), which would otherwise lock a newer
    ticket of the first pass before an older one of the second while a merge of the two held
    the older and waited for the newer. Call in the caller's transaction."""
    if connection.vendor != "postgresql":
        # Nothing to lock: SQLite has one writer at a time (and the customers, one statement
        # variable each, could be more than it allows in one).
        return
    ids = sorted(set(user_ids))
    customers = sorted(set(customer_ids))
    teams = sorted(set(team_ids))
    held = Ticket.objects.held_open_by(ids)
    if customers:
        held = held | Ticket.objects.filter(
            customer_id__in=customers, status__in=Ticket.OPEN_STATUSES
        ).filter(Q(assignee__isnull=False) | Q(owner__isnull=False))
    if teams:
        held = held | Ticket.objects.filter(team_id__in=teams)
    binned = sorted(set(binned_of))
    if binned:
        in_the_bin = Customer.objects.filter(deleted_at__isnull=False).values("pk")
        held = held | Ticket.objects.held_open_by(binned).filter(customer_id__in=in_the_bin)
    list(held.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def tickets_out_of_sight_release(
    *, actor, user_ids: Iterable[int], customer_ids: Iterable[int] | None = None
) -> int:
    """Put back in their team's unassigned queue the open tickets ``user_ids`` hold (assigned
    to them, or theirs as first contact) whose customer they may no longer work with, one
    audited change per ticket; returns how many tickets changed. With ``customer_ids``, only
    the tickets on those customers.

    For users who stay but lose sight of customers because someone else left: the manager of a
    department sees every customer only while an active service agent is in it, and once its
    last agent has gone, the tickets given to them on other departments' customers would stay
    with someone who can no longer open them, where routing and the SLA sweep pass them by."""
    from guanxi.accounts.models import User

    users = list(User.objects.filter(pk__in=list(user_ids)).order_by("pk"))
    # Those the visibility rule gives the same scope are asked about together, in one query
    # however many they are: the managers of a department that keeps an active agent all see
    # every customer (and let go only of tickets on customers in the recycle bin), those of one
    # without all see their department's and the pool.
    sharing: dict[Q, list[int]] = {}
    for user, scope in zip(users, customer_scopes(users, INTERACT), strict=True):
        sharing.setdefault(scope, []).append(user.pk)
    held: set[tuple[int, int]] = set()  # (ticket id, user id)
    for scope, ids in sharing.items():
        workable = Customer.objects.filter(scope).values("pk")
        tickets = Ticket.objects.held_open_by(ids).exclude(customer__in=workable)
        if customer_ids is not None:
            tickets = tickets.filter(customer_id__in=customer_ids)
        for ticket_id, *holders in tickets.values_list("pk", "assignee_id", "owner_id"):
            held.update((ticket_id, holder) for holder in holders if holder in ids)
    # Locked in ascending id order across all the users, as a ticket merge locks its two, not
    # user by user: a merge holding the older of two tickets, one of the second user's, would
    # wait for the newer, one of the first user's locked first, while this waited for the older.
    moved: set[int] = set()
    for ticket_id, user_id in sorted(held):
        moved |= _move_tickets(
            actor, [ticket_id], from_user_id=user_id, taker_of=lambda _ticket: None
        )
    # Tickets, not holders: one held by two of the users (theirs as first contact, given to
    # the other) is one ticket changed.
    return len(moved)


def open_ticket_holders(**lookup) -> set[int]:
    """Who holds an open ticket (assigned to them, or theirs as first contact) among the
    tickets ``lookup`` selects (``customer_id__in=…``, ``customer__owner_id__in=…``)."""
    pairs = Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, **lookup).values_list(
        "assignee_id", "owner_id"
    )
    return {pk for pair in pairs for pk in pair if pk is not None}


def tickets_customers_release(*, actor, customer_ids: Iterable[int]) -> int:
    """Put back in their team's unassigned queue the open tickets on ``customer_ids`` whose
    holders may not work with those customers as they are now; returns how many tickets
    changed (see :func:`tickets_out_of_sight_release`). For the caller that has just given the
    customers another account manager, or brought them back from the recycle bin or a merge,
    in its transaction and with the customers locked (users, then customers, then tickets).

    Whoever holds a ticket was judged able to work with its customer when they took it, as it
    was then: through their team's sharing with its account manager, or through the customer
    it was merged into. A customer given to someone outside that team, or brought back to the
    unowned pool (its account manager having left while it was in the recycle bin), which no
    rep sees, or brought back by an undo with an account manager of its own, leaves their
    sight. The ticket goes back to the queue, for someone who sees the customer to take it,
    rather than stay with someone who can no longer open it, where the SLA sweep's
    escalations go to a holder who cannot act on them."""
    customer_ids = sorted(set(customer_ids))
    holders = open_ticket_holders(customer_id__in=customer_ids)
    if not holders:
        return 0
    return tickets_out_of_sight_release(actor=actor, user_ids=holders, customer_ids=customer_ids)


def tickets_customers_restored(*, customer_ids: Iterable[int]) -> int:
    """Have the service-level sweep look again, at once, at the open tickets of
    ``customer_ids``, which the caller has just brought back from the recycle bin (in its
    transaction, the customers locked before the tickets are here); returns how many.

    The sweep passes over the tickets of a customer in the recycle bin, whom nobody may see,
    and stops looking at them (one its customer reopened by writing back, or one left open
    when binning did not yet wait for them). Brought back, they are the desk's again: the sweep
    works out from their history what is due, steps passed while the customer was away
    included, and goes on from there. Only when the sweep looks next is changed, as the sweep
    itself changes it, without a new version or an audit row.

    Every open ticket of the customers is locked here, in one ascending id order, those the
    sweep has no business with too: the caller calls this before
    :func:`tickets_customers_release`, which then locks none it does not already hold. Locked
    after that release, a newer ticket it gave back to the queue was held while this waited
    for an older one, which another writer locking tickets in id order (a team's deletion, a
    deactivation) held while waiting for the newer: a deadlock."""
    ids = list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(customer_id__in=sorted(set(customer_ids)), status__in=Ticket.OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    return Ticket.objects.filter(
        pk__in=ids, merged_into__isnull=True, sla_policy__isnull=False
    ).update(sla_check_at=timezone.now())


# Tickets a statement changing many of them names: one SQL variable each (SQLite allows some
# 32,000 in a statement).
TICKETS_PER_STATEMENT = 5000


@transaction.atomic
def tickets_team_deleted(*, actor, team_ids: Iterable[int]) -> int:
    """Take the teams ``team_ids``, which the caller is deleting in this transaction, off
    their tickets, open or not; returns how many tickets changed (see
    :func:`_tickets_taken_off`). The teams are locked first: a ticket given to one of them
    meanwhile cannot commit until the deletion has (the database checks a ticket's team as it
    commits) and then fails on the team being gone, rather than keeping a team this did not
    see, to be emptied without a row as the team's row goes."""
    from guanxi.accounts.models import Team

    return _tickets_taken_off(
        actor=actor,
        field="team_id",
        names=_locked_names(Team, team_ids),
        lost=lambda name: Summary(gettext_noop("team “%(team)s” deleted"), {"team": name}),
    )


@transaction.atomic
def tickets_policy_deleted(*, actor, policy_ids: Iterable[int]) -> int:
    """Take the service-level policies ``policy_ids``, which the caller is deleting in this
    transaction, off their tickets, open or not; returns how many tickets changed (see
    :func:`_tickets_taken_off`). The open ones are matched to the policies left after the
    commit (:func:`reapply_policies`), each with a row of its own; a closed one is left
    without a policy."""
    return _tickets_taken_off(
        actor=actor,
        field="sla_policy_id",
        names=_locked_names(SlaPolicy, policy_ids),
        lost=lambda name: Summary(
            gettext_noop("service-level policy “%(policy)s” deleted"), {"policy": name}
        ),
    )


def _locked_names(model, ids: Iterable[int]) -> dict[int, str]:
    """id -> name of the rows ``ids`` of ``model`` (a team or a policy being deleted), locked
    in id order."""
    rows = model.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    return dict(rows.values_list("pk", "name"))


def _tickets_taken_off(
    *, actor, field: str, names: Mapping[int, str], lost: Callable[[str], Summary]
) -> int:
    """Empty ``field`` (a ticket's team or policy) on every ticket holding one of ``names``
    (id -> name, the rows the caller is deleting, locked); returns how many tickets changed.
    Each gets a new version and an audit row on its customer saying what it lost (``lost`` of
    its name), as any other change of its team or policy has, rather than losing it silently
    when the row goes (its tickets' column is emptied then)."""
    rows = list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(**{f"{field}__in": list(names)})
        .order_by("pk")
        .values_list("pk", "customer_id", field)
    )
    now = timezone.now()
    for start in range(0, len(rows), TICKETS_PER_STATEMENT):
        chunk = [pk for pk, _customer, _held in rows[start : start + TICKETS_PER_STATEMENT]]
        Ticket.objects.filter(pk__in=chunk).update(
            **{field: None}, version=F("version") + 1, updated_at=now
        )
    audit_record_many(
        AuditEvent(
            occurred_at=now,
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="ticket",
            object_id=pk,
            customer_id=customer_id,
            **summary_fields(prefixed(Ticket(pk=pk).number, lost(names[held]))),
            changes={field: {"before": held, "after": None}},
        )
        for pk, customer_id, held in rows
    )
    return len(rows)


@transaction.atomic
def ticket_set_status(
    *, actor, ticket_id: int, status: str, expected_version: int | None = None
) -> Ticket:
    ticket = _lock_unmerged(actor, ticket_id, expected_version)
    if status not in S.values:
        raise ValidationError(
            {"status": _("Choose one of: %(values)s.") % {"values": ", ".join(S.values)}}
        )
    before = ticket_snapshot(ticket)
    now = timezone.now()
    was_resolved = ticket.status == S.RESOLVED
    _change_status(ticket, status, actor=actor, now=now)
    recompute_deadlines(ticket, now=now)
    _save_audited(
        actor,
        ticket,
        now=now,
        action=AuditEvent.Action.UPDATE,
        summary=ticket.subject,
        before=before,
    )
    if status == S.RESOLVED and not was_resolved:
        _send_survey_on_commit(ticket, actor=actor)
    return ticket


def _customer_address(ticket: Ticket) -> str:
    if ticket.requester_email:
        return ticket.requester_email
    email = (
        ticket.customer.emails.order_by("-is_primary", "id")
        .values_list("address", flat=True)
        .first()
    )
    return email or ""


def _send_survey_on_commit(ticket: Ticket, *, actor) -> None:
    """Ask the customer anew how satisfied they are with the ticket ``actor`` resolved. An answer
    to an earlier resolution's survey is cleared for the new one, with an audit row of what it
    was, so the customer's history says whose resolution took it off the ticket."""
    # Locked as it is read, after its ticket as every writer of the two takes them: an answer
    # being saved meanwhile is waited for, and then cleared with the audit row of what it was,
    # rather than read as unanswered before it commits and cleared unsaid.
    earlier = _survey_answer_values(
        SatisfactionSurvey.objects.select_for_update().filter(ticket=ticket).first()
    )
    SatisfactionSurvey.objects.update_or_create(
        ticket=ticket,
        defaults={"sent_at": timezone.now(), "score": None, "answered_at": None, "comment": ""},
    )
    if earlier:
        _audit(
            actor,
            ticket,
            AuditEvent.Action.UPDATE,
            Summary(gettext_noop("the earlier satisfaction answer cleared for a new survey")),
            diff_values(earlier, {}),
        )
    address = _customer_address(ticket)
    if not address:
        return
    # A survey not sent from an earlier resolution asks the same question: only the new one goes.
    CustomerEmail.objects.filter(
        ticket=ticket, kind=CustomerEmail.Kind.SURVEY, sent_at=None
    ).delete()
    _email_customer_on_commit(ticket, CustomerEmail.Kind.SURVEY, address)


@_removing_files_on_failure
@transaction.atomic
def ticket_reply(
    *,
    actor,
    ticket_id: int,
    body: str,
    status: str | None = None,
    expected_version: int | None = None,
    files: Iterable = (),
) -> TicketMessage:
    """Answer the customer (emailed to them), optionally moving the ticket on (to pending
    customer, or resolved). The first reply is the first response; a reply also answers the
    customer's latest message.

    A reply alone overwrites nothing, so ``expected_version`` may be left out: it adds a
    message, and fills the holder and owner only where there are none and moves a new ticket to
    open, all decided on the ticket as it is once locked. Moving the ticket on with ``status``
    replaces the status someone else may have just set; the API and the pages therefore send
    the version they read whenever they send a status."""
    ticket = _lock_unmerged(actor, ticket_id, expected_version)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("This field is required.")})
    message = TicketMessage.objects.create(
        ticket=ticket,
        kind=TicketMessage.Kind.REPLY,
        body=body,
        author=actor,
        created_at=timezone.now(),
    )
    resolved = _replied(
        actor, ticket, message, status=status, files=files, summary=Summary(gettext_noop("replied"))
    )
    address = _customer_address(ticket)
    if address:
        _email_customer_on_commit(ticket, CustomerEmail.Kind.REPLY, address, message=message)
    if resolved:  # registered after the reply's email, so the customer gets the two in order
        _send_survey_on_commit(ticket, actor=actor)
    return message


def _replied(
    actor, ticket: Ticket, message: TicketMessage, *, status: str | None, files, summary: Summary
) -> bool:
    """What a reply to the customer does to the ticket, locked by the caller, however it
    reached the customer: the files are stored with it, it is the first response (or answers
    the customer's latest message), a ticket nobody held is the replier's and a new one opens,
    the ticket moves to ``status`` if given, and the audit row records the reply. Returns
    whether the reply resolved the ticket, for the caller to send the survey."""
    now = message.created_at
    before = ticket_snapshot(ticket)
    attached = _attach(ticket, message, files, actor)
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
        ticket.first_response_met = _met(ticket.first_response_due, now)
    ticket.waiting_since = None
    if ticket.owner_id is None:
        ticket.owner = actor
    if ticket.assignee_id is None:
        ticket.assignee = actor
    target = status or (S.OPEN if ticket.status == S.NEW else ticket.status)
    was_resolved = ticket.status == S.RESOLVED
    _change_status(ticket, target, actor=actor, now=now)
    recompute_deadlines(ticket, now=now)
    _save_audited(
        actor,
        ticket,
        now=now,
        action=AuditEvent.Action.UPDATE,
        summary=summary,
        before=before,
        reply=message.body[:500],
        **({"attachments": attached} if attached else {}),
    )
    _tell_colleagues(ticket, message)
    return target == S.RESOLVED and not was_resolved


@_removing_files_on_failure
@transaction.atomic
def ticket_note(*, actor, ticket_id: int, body: str, files: Iterable = ()) -> TicketMessage:
    """An internal note: colleagues see it, the customer does not; it changes no clock."""
    ticket = _lock_unmerged(actor, ticket_id, None)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("This field is required.")})
    return add_note(ticket, body, author=actor, files=files)


def add_note(ticket: Ticket, body: str, *, author=None, files: Iterable = ()) -> TicketMessage:
    """Write an internal note, with the files attached to it, on a ticket already locked by the
    caller, with its audit row (``author`` None: the system, as for what inbound email could
    not keep)."""
    message = TicketMessage.objects.create(
        ticket=ticket, kind=TicketMessage.Kind.NOTE, body=body, author=author
    )
    attached = _attach(ticket, message, files, author)
    changes: dict[str, Any] = {"note": {"before": None, "after": body[:500]}}
    if attached:
        changes["attachments"] = {"before": None, "after": attached}
    _audit(author, ticket, AuditEvent.Action.UPDATE, Summary(gettext_noop("note added")), changes)
    if author is not None:
        _tell_colleagues(ticket, message)
    return message


def email_attachments_keep(
    ticket: Ticket, message: TicketMessage, files: Iterable, *, sender: str
) -> list[dict[str, Any]]:
    """Store the files an email brought with its ``message`` (the customer's request or answer,
    an unknown sender's or a colleague's note), filed by the caller on ``ticket``, locked, and
    record them in an audit row naming each file and its size, as a reply's or note's row names
    its files: they are part of what the desk was sent about the customer. ``sender`` is the
    address the email came from. No files, no row. Returns the files kept."""
    attached = _attach(ticket, message, files, None)
    if attached:
        _audit(
            message.author,
            ticket,
            AuditEvent.Action.UPDATE,
            Summary(
                gettext_noop("attachments of the email from %(address)s kept"),
                {"address": sender},
            ),
            {"attachments": {"before": None, "after": attached}},
        )
    return attached


def _attach(
    ticket: Ticket, message: TicketMessage | None, files: Iterable, actor
) -> list[dict[str, Any]]:
    """Store the uploaded files on the ticket (and message). Returns each file's name and size
    in bytes, for the audit row of the reply or note they came with: the files are part of what
    the customer was sent or colleagues were told."""
    uploads = list(files or ())
    # Every file is checked before any is written.
    for upload in uploads:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError(
                {
                    "files": _("%(name)s is larger than %(limit)d MB.")
                    % {"name": upload.name, "limit": MAX_ATTACHMENT_BYTES // (1024 * 1024)}
                }
            )
        # An email's attachment was looked into as it was chosen (see upload_looked_into): its
        # content is not read again, but its name is judged as it is now, never taken on trust.
        content = b"" if isinstance(upload, _LookedInto) else _content(upload)
        danger = danger_in(upload.name, content)
        if danger:
            raise ValidationError({"files": refusal(upload.name, danger)})
        if upload.size == 0:
            raise ValidationError({"files": _("%(name)s is empty.") % {"name": upload.name}})
    attached: list[dict[str, Any]] = []
    with files_removed_on_failure():
        for upload in uploads:
            attachment = TicketAttachment(
                ticket=ticket,
                message=message,
                filename=upload.name[:255],
                content_type=(getattr(upload, "content_type", "") or "")[:100],
                size=upload.size,
                uploaded_by=actor,
            )
            attachment.file.save(_safe_name(upload.name), upload, save=False)
            _WRITTEN_FILES.get().append((attachment.file.storage, attachment.file.name))
            attachment.save()
            attached.append({"name": attachment.filename, "size": attachment.size})
    return attached


class _LookedInto(SimpleUploadedFile):
    """A file :func:`upload_looked_into` found holds nothing the desk does not keep, which
    :func:`_attach` stores without opening it again: reading a large PDF or Office document is
    the slow part of keeping one, and inbound email needs the answer before it stores anything
    (to choose what to keep and name the rest in a note). Made only there, so that no other
    file, such as an agent's upload, reaches storage without being looked into."""


def upload_looked_into(name: str, content: bytes, content_type: str) -> SimpleUploadedFile | Danger:
    """A file to store with :func:`_attach`, looked into once for what makes it one the desk
    does not keep (see ``dangerous_files``), or the danger found instead.

    The name it is stored under is judged too: Django shortens a name to 255 characters before
    its last dot, which can make a harmless one a program's ("….js" + "zzz." is stored as
    "….js."). Found here, that file is left out of an email and named in its note as any other
    program is; found only by :func:`_attach`, it would refuse the whole email, on every fetch."""
    upload = _LookedInto(name, content, content_type)
    return danger_in(name, content) or danger_in(upload.name, b"") or upload


def refusal(name: str, danger: Danger) -> str:
    """Why the desk does not keep the attachment ``name``, naming the file that is the danger
    (``danger.where``: the attachment, or a file inside it)."""
    if danger.hazard == Hazard.PROGRAM and danger.where == name:
        return _(
            "%(name)s is a program or script, which the desk does not keep; "
            "send what it holds another way."
        ) % {"name": name}
    if danger.hazard == Hazard.PROGRAM:
        return _(
            "%(name)s holds a program or script (%(program)s), which the desk "
            "does not keep; send the documents in it another way."
        ) % {"name": name, "program": danger.where.removeprefix(f"{name}: ")}
    if danger.hazard == Hazard.MACROS:
        return _(
            "%(where)s has macros, which can start programs when it is opened; the desk does "
            "not keep documents with macros, as mail gateways commonly refuse them. Send it "
            "saved without macros or as a PDF."
        ) % {"where": danger.where}
    if danger.hazard == Hazard.LAUNCH_ACTION:
        return _(
            "%(where)s is a PDF that starts a program when it is opened (a launch action), "
            "which the desk does not keep; send it saved without that action or another way."
        ) % {"where": danger.where}
    return _(
        "%(where)s is a rar or 7z archive, which the desk cannot look into for programs and "
        "so does not keep; send the files in a zip or one by one."
    ) % {"where": danger.where}


def _content(upload) -> bytes:
    """An uploaded file's content (of at most an attachment's size, checked before), read
    from its start and left at its start for storing."""
    upload.seek(0)
    content = upload.read()
    upload.seek(0)
    return content


# File systems take names of up to 255 bytes; a Chinese character is three in UTF-8, and the
# storage may add a few characters to make a name unique.
MAX_STORED_NAME_BYTES = 150


def _safe_name(name: str) -> str:
    from django.utils.text import get_valid_filename

    try:
        name = get_valid_filename(name)
    except Exception:
        return "attachment"
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > 20:
        stem, dot, extension = name, "", ""
    room = MAX_STORED_NAME_BYTES - len(f"{dot}{extension}".encode())
    # Cut whole characters from the start, as before: the end of a name tells files apart.
    stem = stem.encode()[-room:].decode(errors="ignore").lstrip("._-") or "attachment"
    return f"{stem}{dot}{extension}"


def _merged_chain(ticket_id: int) -> list[int]:
    """Ticket ``ticket_id`` and the tickets it was merged into, each into the next, as last
    committed: read without locks, since a ticket once merged away stays so, pointing to the
    same ticket; only the last of them may have been merged on since."""
    chain = [ticket_id]
    while True:
        into = Ticket.objects.filter(pk=chain[-1]).values_list("merged_into_id", flat=True).first()
        if into is None or into in chain:
            return chain
        chain.append(into)


def _lock_merged_chain(ticket_id: int, *, actor=None) -> Ticket:
    """The ticket a message to ticket ``ticket_id`` goes to (the last of those it was merged
    into, one into the next, or itself), each of them locked: through :func:`_lock` for a
    colleague writing (``actor``), who must be allowed to work on it, otherwise as stored.

    They are locked in ascending id order, as a ticket merge locks its two tickets and the undo
    of a merge of customers the tickets going back. Locked from the ticket written to on, an
    email to a ticket merged into an older one (a lower id) held the newer while waiting for
    the older, which the undo held while waiting for the newer, and the database broke one of
    the two off as a deadlock.

    Before any of them, the ``actor`` and the users any of them may tell (:func:`_told_of`)
    are locked in one statement, as :func:`_lock` locks them: the message's notification rows
    name the last ticket's, whose keys the database checks only at the commit, after the
    tickets' locks, and a deactivation of one of them, holding them and waiting for their
    customer or tickets, deadlocked with the email; locked ticket by ticket, those of the later
    tickets came after the earlier tickets. An inactive ``actor`` is refused
    (:class:`ActorDeactivated`). When the last was merged on, or a ticket given to someone
    else or watched by someone new, while this waited for it, the locks are let go (this
    savepoint's, undone) and all are locked afresh, again in order.

    Written by nobody on the desk (the customer, or an unknown sender kept as a note), the
    tickets' customers are locked after the users and before the tickets, shared
    (:func:`_customer_shared`), as :func:`_lock` locks them for a colleague: a move of one to
    the recycle bin under way is waited for and then seen, and none starts until this commits,
    by which time it sees the ticket the customer's message opened, and is refused. Unlocked,
    a customer binned while its reply was filed ended with an open ticket nobody may see. A
    ticket moved to another customer (by a merge of customers) while this waited for it is
    locked afresh, as above."""
    while True:
        chain = _merged_chain(ticket_id)
        tickets = list(Ticket.objects.filter(pk__in=chain))
        told = set().union(*(_told_of(ticket) for ticket in tickets))
        customer_ids = {ticket.customer_id for ticket in tickets}
        savepoint = transaction.savepoint()
        active = key_share_active_users([*told, *([] if actor is None else [actor.pk])])
        if actor is not None and actor.pk not in active:
            raise ActorDeactivated
        if actor is None:
            shared(Customer.objects.filter(pk__in=customer_ids).order_by("pk").values_list("pk"))
        try:
            locked = {
                pk: _locked(pk)
                if actor is None
                else _lock(actor, pk, None, naming=told, told_named=True)
                for pk in sorted(chain)
            }
        except _ToldMeanwhile:
            transaction.savepoint_rollback(savepoint)
            continue
        last = locked[chain[-1]]
        if (not last.merged_into_id or last.merged_into_id in locked) and all(
            _told_of(ticket) <= told and (actor is not None or ticket.customer_id in customer_ids)
            for ticket in locked.values()
        ):
            transaction.savepoint_commit(savepoint)
            return last
        transaction.savepoint_rollback(savepoint)


def _filed_message(
    *,
    actor=None,
    ticket_id: int,
    body: str,
    email_message_id: str,
    unless_binned: bool = False,
    **fields: Any,
) -> TicketMessage | None:
    """A message written into ticket ``ticket_id``'s thread, or that of the ticket it was merged
    into, each locked in id order after the users it may tell (see :func:`_lock_merged_chain`),
    by ``actor`` (a colleague, its author, who must be allowed to work on the ticket) or by
    nobody on the desk: ``body`` stripped ("-" when nothing is left), the other ``fields`` as
    given. An email already filed (the same Message-ID) is recognised and nothing is created
    (returns None): read first, so that a second delivery waits on no lock; and again by the
    unique Message-ID, which refuses one filed by another worker a moment ago. The caller's
    transaction survives that refusal (it happens inside a savepoint), so it can say it was a
    duplicate.

    ``unless_binned``: :class:`CustomerInTheBin` instead when the customer of the ticket the
    message goes to is in the recycle bin, read once it is locked (only the customer writing,
    nobody on the desk, asks it: a colleague may not see such a ticket at all)."""
    if (
        email_message_id
        and TicketMessage.objects.filter(email_message_id=email_message_id).exists()
    ):
        return None
    ticket = _lock_merged_chain(ticket_id, actor=actor)
    if (
        unless_binned
        and Customer.objects.filter(pk=ticket.customer_id, deleted_at__isnull=False).exists()
    ):
        raise CustomerInTheBin(ticket)
    try:
        with transaction.atomic():
            return TicketMessage.objects.create(
                ticket=ticket,
                body=(body or "").strip() or "-",
                # Read once the ticket is locked: after anything written while waiting for it.
                created_at=timezone.now(),
                email_message_id=email_message_id,
                author=actor,
                **fields,
            )
    except IntegrityError:
        return None  # the same email, filed a moment ago by another worker


@transaction.atomic
def customer_message(
    *,
    ticket_id: int,
    body: str,
    email_message_id: str = "",
    email_from: str = "",
    email_copied: Iterable[str] = (),
) -> TicketMessage | None:
    """The customer wrote again (email reply, status page): the message is filed, a waiting or
    resolved ticket opens again, and the next response is due. An email already filed (the same
    Message-ID) is recognised and nothing happens (returns None). ``email_from`` and
    ``email_copied``: whom an email came from and whom else it went to.

    :class:`CustomerInTheBin`, nothing filed, when the ticket's customer is in the recycle
    bin: opened there, it would be open where nobody may see it (the caller files the message
    as a new request instead: ``guanxi.service.intake.customer_wrote_again``). Asked with the
    customer locked (see :func:`_lock_merged_chain`), so that the answer holds until this
    commits: a move of the customer to the recycle bin under way is waited for and then seen,
    and none starts before this commits (it then finds the ticket open, and is refused)."""
    message = _filed_message(
        ticket_id=ticket_id,
        body=body,
        email_message_id=email_message_id,
        unless_binned=True,
        kind=TicketMessage.Kind.CUSTOMER,
        email_from=email_from,
        email_copied=list(email_copied),
    )
    if message is None:
        return None
    ticket, now = message.ticket, message.created_at
    before = ticket_snapshot(ticket)
    if ticket.status in (S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED):
        _change_status(ticket, S.OPEN, actor=None, now=now)
    if ticket.first_responded_at is not None and ticket.waiting_since is None:
        ticket.waiting_since = now
    recompute_deadlines(ticket, now=now)
    _save_audited(
        None,
        ticket,
        now=now,
        action=AuditEvent.Action.UPDATE,
        summary=Summary(gettext_noop("the customer wrote")),
        before=before,
        message=message.body[:500],
    )
    number, subject = ticket.number, ticket.subject
    # Who wrote, as the desk knows them: the address the email came from, or the requester's.
    sender = message.email_from or ticket.requester_email

    def headline() -> str:
        if sender:
            return _("%(number)s %(subject)s: the customer (%(address)s) wrote") % {
                "number": number,
                "subject": subject,
                "address": sender,
            }
        return _("%(number)s %(subject)s: the customer wrote") % {
            "number": number,
            "subject": subject,
        }

    _tell(
        ticket,
        lambda: (
            _("%(number)s: the customer wrote: %(text)s")
            % {"number": number, "text": message.body[:200]}
        ),
        email=lambda: _staff_email(ticket, headline, message.body),
    )
    return message


@transaction.atomic
def email_from_unknown_sender(
    *, ticket_id: int, sender: str, body: str, email_message_id: str, unverified: bool = False
) -> TicketMessage | None:
    """An email about the ticket from someone not known to write for the requester: not the
    requester, no address of the customer, nobody their emails were sent to. The ticket's token
    is in the subject of every mail to the requester, and a forwarded mail can reach anyone, so
    such a reply must not speak for the customer. It is kept as an internal note marked with its
    sender, for the agents to judge: the ticket does not open again, no clock changes, the
    customer never sees it and nobody is answered. An email already filed (the same
    Message-ID) is recognised and nothing happens (returns None).

    ``unverified``: the sender's address may be anyone's — the receiving mail server did not
    vouch for it (see ``guanxi.service.sender_verification``) — and it is kept the same way,
    whoever has the address, the note saying so."""
    message = _filed_message(
        ticket_id=ticket_id,
        body=body,
        email_message_id=email_message_id,
        kind=TicketMessage.Kind.NOTE,
        email_from=sender,
        email_sender_unverified=unverified,
    )
    if message is None:
        return None
    ticket = message.ticket
    if unverified:
        summary = gettext_noop("email from an unverified sender address %(address)s kept as a note")
    else:
        summary = gettext_noop("email from an unknown sender %(address)s kept as a note")
    _audit(
        None,
        ticket,
        AuditEvent.Action.UPDATE,
        Summary(summary, {"address": sender}),
        {"note": {"before": None, "after": f"{sender}: {message.body}"[:500]}},
    )
    _tell(
        ticket,
        lambda: (
            (
                _(
                    "%(number)s: an email whose sender address, %(address)s, could not be "
                    "verified, kept as a note"
                )
                if unverified
                else _("%(number)s: an email from an unknown sender, %(address)s, kept as a note")
            )
            % {"number": ticket.number, "address": sender}
        ),
    )
    return message


@transaction.atomic
def email_from_colleague(
    *, actor, ticket_id: int, body: str, email_message_id: str, email_from: str
) -> TicketMessage | None:
    """An email about the ticket from the address of one of the desk's own people (``actor``)
    that did not go to the customer, such as an agent writing to the desk from their mail
    client (one that went to the customer is their reply: :func:`email_reply_from_colleague`).
    It is kept as the actor's internal note: they wrote it, so it is neither an unknown
    sender's nor the customer's; nothing is sent, and the ticket's status and clocks stay as
    they are. ``PermissionDenied`` (or ``Ticket.DoesNotExist``) when the actor may not work on
    the ticket, as for a note written on the page. An email already filed (the same
    Message-ID) is recognised and nothing happens (returns None)."""
    message = _filed_message(
        actor=actor,
        ticket_id=ticket_id,
        body=body,
        email_message_id=email_message_id,
        kind=TicketMessage.Kind.NOTE,
        email_from=email_from,
    )
    if message is None:
        return None
    _audit(
        actor,
        message.ticket,
        AuditEvent.Action.UPDATE,
        Summary(gettext_noop("note added by email from %(address)s"), {"address": email_from}),
        {"note": {"before": None, "after": message.body[:500]}},
    )
    _tell_colleagues(message.ticket, message)
    return message


@_removing_files_on_failure
@transaction.atomic
def email_reply_from_colleague(
    *,
    actor,
    ticket_id: int,
    body: str,
    email_message_id: str,
    email_from: str,
    email_copied: Iterable[str] = (),
    files: Iterable = (),
) -> TicketMessage | None:
    """An email about the ticket from the address of one of the desk's own people (``actor``)
    that went to the customer too: an agent answering from their own mail program with "reply
    all", the desk copied. The customer has been answered, so it is the actor's reply, as if
    written on the ticket page: the customer sees it on the ticket, it is the first response
    (or answers the customer's latest message), a ticket nobody held becomes the actor's, and
    it is audited. Unlike a reply written on the page it is not emailed: the customer has it
    already, and a second copy from the desk would only confuse them. ``email_copied``: whom
    it was sent to besides the desk; ``files``: its attachments.

    ``PermissionDenied`` (or ``Ticket.DoesNotExist``) when the actor may not work on the
    ticket, as for a reply on the page. An email already filed (the same Message-ID) is
    recognised and nothing happens (returns None)."""
    message = _filed_message(
        actor=actor,
        ticket_id=ticket_id,
        body=body,
        email_message_id=email_message_id,
        kind=TicketMessage.Kind.REPLY,
        email_from=email_from,
        email_copied=list(email_copied),
    )
    if message is None:
        return None
    _replied(
        actor,
        message.ticket,
        message,
        status=None,
        files=files,
        summary=Summary(
            gettext_noop("replied by email from their own mail program (%(address)s)"),
            {"address": email_from},
        ),
    )
    return message


def _check_merged_orders(kept_orders: list[int], duplicate: Ticket) -> None:
    """Refuse a merge that would link the kept ticket to more orders than a ticket may be, as
    the API refuses such a ticket sent back as read. One past the limit already (linked before
    the limit held) may still take in a ticket that adds no order to it."""
    joined = set(kept_orders) | set(duplicate.orders.values_list("pk", flat=True))
    if len(joined) > MAX_TICKET_ORDERS and len(joined) > len(kept_orders):
        raise ValidationError(
            {
                "order_ids": _(
                    "After the merge the ticket kept would be linked to %(count)d orders, and a "
                    "ticket may be linked to at most %(limit)d: unlink some from either ticket "
                    "first."
                )
                % {"count": len(joined), "limit": MAX_TICKET_ORDERS}
            }
        )


@transaction.atomic
def ticket_merge(
    *,
    actor,
    ticket_id: int,
    into_id: int,
    expected_version: int | None = None,
    into_version: int | None = None,
) -> Ticket:
    """Merge a duplicate ticket into another of the same customer: its messages, attachments
    and watchers move over, and it is closed pointing to the one that remains.

    A merge closes one ticket and adds to the other, so it takes the version the caller read of
    each (``expected_version`` of ``ticket_id``, ``into_version`` of ``into_id``): after
    someone else's change to either, :class:`StaleTicketError` names the one that changed and
    nothing is merged. A merge that would link the kept ticket to more orders than a ticket may
    be is refused too, naming ``order_ids``. Both are recorded: the merged ticket says where it
    went, the kept one which ticket it took in."""
    try:
        duplicate_pk, target_pk = int(ticket_id), int(into_id)
    except (TypeError, ValueError):
        raise Ticket.DoesNotExist from None
    if duplicate_pk == target_pk:
        raise ValidationError({"into_id": _("A ticket cannot be merged into itself.")})
    # Locked in id order, so that two merges of the same pair in opposite directions wait for
    # each other instead of deadlocking. The users either ticket may tell are locked with the
    # first (see :func:`_lock`): those of the second, locked once the first ticket was held,
    # waited for a deactivation of its assignee that waited for the first ticket. One given
    # either ticket or watching it since they were read is not locked after the first ticket:
    # the locks are let go (a savepoint undone) and all taken again, with them.
    while True:
        told = _told_of(ticket_get_for_user(actor, duplicate_pk)) | _told_of(
            ticket_get_for_user(actor, target_pk)
        )
        savepoint = transaction.savepoint()
        try:
            locked = {
                pk: _lock(actor, pk, None, naming=told, told_named=True)
                for pk in sorted((duplicate_pk, target_pk))
            }
        except _ToldMeanwhile:
            transaction.savepoint_rollback(savepoint)
            continue
        transaction.savepoint_commit(savepoint)
        break
    duplicate, target = locked[duplicate_pk], locked[target_pk]
    for ticket, version, field in (
        (duplicate, expected_version, "version"),
        (target, into_version, "into_version"),
    ):
        if version is not None and ticket.version != version:
            raise StaleTicketError(ticket.version, field=field)
    if duplicate.customer_id != target.customer_id:
        raise ValidationError({"into_id": _("Only tickets of the same customer can be merged.")})
    if duplicate.merged_into_id:
        # Its conversation went to that ticket already; merging it again would only repoint it.
        raise ValidationError({"ticket_id": _("This ticket was merged away already.")})
    if target.merged_into_id:
        raise ValidationError({"into_id": _("That ticket was itself merged away.")})
    orders_before = sorted(target.orders.values_list("pk", flat=True))
    _check_merged_orders(orders_before, duplicate)
    now = timezone.now()
    moved = duplicate.messages.update(ticket=target)
    duplicate.attachments.update(ticket=target)
    # Its emails to the customer not sent yet go with the request, which goes on here: sent
    # after the merge, the acknowledgement names this ticket, whose number the customer's
    # answers are filed under from now on, and links its status page (a reply is read through
    # its message, which moved above). A survey would tell the customer the request is
    # resolved, whatever becomes of this ticket, and ask about the duplicate's resolution: it
    # is dropped, as when a ticket reopens. What was sent stays as it was sent.
    unsent = CustomerEmail.objects.filter(ticket=duplicate, sent_at=None).order_by("pk")
    emails_dropped = list(unsent.filter(kind=CustomerEmail.Kind.SURVEY).values("id", "kind", "to"))
    unsent.filter(kind=CustomerEmail.Kind.SURVEY).delete()
    emails_moved = list(unsent.values("id", "kind", "to"))
    unsent.update(ticket=target)
    target.orders.add(*duplicate.orders.all())
    orders_after = sorted(target.orders.values_list("pk", flat=True))
    # Who followed the duplicate follows its conversation, which goes on here: the customer's
    # answers to its emails are filed on this ticket, and its watchers hear of them.
    watchers_before = sorted(target.watchers.values_list("username", flat=True))
    target.watchers.add(*duplicate.watchers.all())
    watchers_after = sorted(target.watchers.values_list("username", flat=True))
    TicketMessage.objects.create(
        ticket=target,
        kind=TicketMessage.Kind.NOTE,
        body=_("%(number)s was merged into this ticket: %(subject)s")
        % {"number": duplicate.number, "subject": duplicate.subject},
        author=actor,
        created_at=now,
    )
    # The kept ticket gained messages and orders: a change based on it as it was must be
    # refused as stale rather than drop them.
    _save(target, now=now)
    kept_changes = {
        "merged_from": {"before": None, "after": duplicate.pk},
        "messages": {"before": None, "after": moved},
    }
    if orders_after != orders_before:
        kept_changes["order_ids"] = {"before": orders_before, "after": orders_after}
    if watchers_after != watchers_before:
        kept_changes["watchers"] = {"before": watchers_before, "after": watchers_after}
    # The emails to the customer the merge moved or dropped, recorded on both rows where they
    # concern both: what the customer is (or is no longer) sent is read on either ticket.
    moved_emails = (
        {"customer_emails_moved": {"before": None, "after": emails_moved}} if emails_moved else {}
    )
    kept_changes.update(moved_emails)
    _audit(
        actor,
        target,
        AuditEvent.Action.MERGE,
        Summary(gettext_noop("took in the duplicate %(number)s"), {"number": duplicate.number}),
        kept_changes,
    )
    duplicate.merged_into = target
    if duplicate.status != S.CLOSED:
        _change_status(duplicate, S.CLOSED, actor=actor, now=now)
    recompute_deadlines(duplicate, now=now)
    _save(duplicate, now=now)
    _audit(
        actor,
        duplicate,
        AuditEvent.Action.MERGE,
        Summary(gettext_noop("merged into %(number)s"), {"number": target.number}),
        {
            "merged_into": {"before": None, "after": target.pk},
            "messages": {"before": None, "after": moved},
            **moved_emails,
            **(
                {"customer_emails_dropped": {"before": emails_dropped, "after": None}}
                if emails_dropped
                else {}
            ),
        },
    )
    return target


@transaction.atomic
def ticket_watch(*, actor, ticket_id: int, watching: bool) -> Ticket:
    """Follow a ticket (or stop): watchers hear when the customer writes, when a colleague
    answers the customer or leaves a note, and when a deadline is breached, besides those the
    escalation names."""
    ticket = _lock(actor, ticket_id, None)
    if watching:
        ticket.watchers.add(actor)
    else:
        ticket.watchers.remove(actor)
    _audit(
        actor,
        ticket,
        AuditEvent.Action.UPDATE,
        Summary(gettext_noop("watching") if watching else gettext_noop("stopped watching")),
        {"watchers": {"before": None, "after": actor.username if watching else None}},
    )
    return ticket


def _tell(
    ticket: Ticket,
    text: Callable[[], str],
    *,
    owner: bool = True,
    writer=None,
    email: Callable[[], tuple[str, str]] | None = None,
) -> None:
    """An in-app notice about the ticket for whoever holds it (its assignee, and its owner
    unless ``owner`` is False) and its watchers, each once; not for ``writer``, who did what
    the notice tells of. ``text`` makes the notice; it is called in each recipient's language,
    since the notice is stored as written and the one writing it here (a customer, the mailbox
    fetch, a colleague) has none of theirs.

    ``email``, when given, makes the subject and body of an email about it, likewise in each
    recipient's language: it goes to the assignee and the watchers among those told (an owner
    who is neither has the notice), once the caller's transaction commits (:func:`_email_staff`).

    Only those who may still see the ticket are told: the notice quotes it, and a watcher or
    holder whose customers changed hands since may no longer read it. Inactive users see
    nothing (the visibility rule), so they are never told. The notices are rows written in the
    caller's transaction, so what is rolled back tells nobody."""
    from .models import Notification

    # With their teams: a rep's scope reads the team's sharing.
    watchers = {u.pk: u for u in ticket.watchers.filter(is_active=True).select_related("team")}
    people = dict(watchers)
    for user in (ticket.assignee, ticket.owner if owner else None):
        if user is not None and user.is_active:
            people[user.pk] = user
    if writer is not None:
        people.pop(writer.pk, None)
    # Through the one rule that decides who sees a ticket, for all of them in one query.
    readers = ticket_readers(ticket, people.values())
    now = timezone.now()
    notices = []
    for language, users in by_language(readers).items():
        with in_language(language):
            written = text()[:300]
        notices += [
            Notification(user=u, ticket=ticket, text=written, created_at=now) for u in users
        ]
    Notification.objects.bulk_create(notices)
    if email is not None:
        following = watchers.keys() | {ticket.assignee_id}
        # A mailbox, not an account, is emailed: someone with two accounts under one address
        # (an agent who is also an administrator) hears once, and not of what they wrote
        # themselves from the other. Heard in the language of the oldest of its accounts: the
        # watchers are read in no order, and the mailbox of two accounts that read different
        # languages was written to in either, as the database happened to return them.
        seen = {writer.email.casefold()} if writer is not None and writer.email else set()
        recipients = []
        for user in sorted(readers, key=lambda user: user.pk):
            address = user.email.casefold()
            if user.pk in following and address and address not in seen:
                seen.add(address)
                recipients.append(user)
        _email_staff(recipients, email)


def _email_staff(recipients: list, email: Callable[[], tuple[str, str]]) -> None:
    """Email ``recipients`` (desk users, already checked to be active and allowed to see what
    it quotes) once the caller's transaction commits: what is rolled back sends nothing, and
    the mail server is not waited for while the ticket's row is locked. One email for each
    language the recipients read, ``email`` called in it, all of them in its To as in the SLA
    sweep's emails: they are colleagues, and see who else has heard; those who see phone and ID
    numbers masked get one of their own, with the numbers it quotes masked. A mail server that
    refuses or is down is logged and costs the recipients this email only: the reply or note
    it tells of is written already, and the bell has it."""
    if not recipients:
        return

    def send() -> None:
        from django.core.mail import get_connection

        try:
            masked_pks = _seeing_masked(recipients)
            with get_connection() as connection:
                for language, users in by_language(recipients).items():
                    # Each language's email on its own: one the server refuses (its only
                    # address unknown to it) costs the others nothing.
                    alike = (
                        [user for user in users if user.pk not in masked_pks],
                        [user for user in users if user.pk in masked_pks],
                    )
                    for masked, users_alike in zip((False, True), alike, strict=True):
                        if not users_alike:
                            continue
                        try:
                            with in_language(language):
                                subject, body = email()
                            if masked:
                                subject = mask_numbers_in_text(subject)
                                body = mask_numbers_in_text(body)
                            mail.send_to_staff(
                                to=[user.email for user in users_alike],
                                subject=subject,
                                body=body,
                                connection=connection,
                            )
                        except Exception:
                            logger.exception("Could not email the desk's users about a ticket")
        except Exception:  # the mail server could not be reached, or broke off at the end
            logger.exception("Could not email the desk's users about a ticket")

    transaction.on_commit(send)


def _seeing_masked(users: list) -> set[int]:
    """The ids of those of ``users`` who see phone and ID numbers masked: an email quoting a
    ticket's subject and text shows them the numbers in them as the ticket's page does. Read in
    one query, however many users (``User.may_view_sensitive`` reads one for each)."""
    from guanxi.accounts.models import User

    allowed = set(
        User.objects.with_perm("accounts.view_sensitive_data")
        .filter(pk__in=[user.pk for user in users])
        .values_list("pk", flat=True)
    )
    return {
        user.pk
        for user in users
        if not (user.is_active and (user.is_admin_role or user.pk in allowed))
    }


def _staff_email(ticket: Ticket, headline: Callable[[], str], text: str) -> tuple[str, str]:
    """An email to the desk's users about something written on the ticket: ``headline`` (who
    did what, the ticket's number and subject) as its subject and first line, then ``text`` in
    full, and the link to the ticket's page."""
    heading = headline()
    body = "\n\n".join(
        (
            heading,
            text,
            _("Open the ticket: %(url)s") % {"url": mail.ticket_url(ticket.pk)},
            _("You are emailed because the ticket is assigned to you or you watch it."),
        )
    )
    return heading, body


def _tell_colleagues(ticket: Ticket, message: TicketMessage) -> None:
    """A desk user's reply to the customer or internal note, however written (the ticket page,
    the API, their own mail program), told in the app and by email to the ticket's assignee
    and watchers besides its writer, as a message from the customer is. The owner is not told
    as such: the ticket is the assignee's to work, and an owner who wants to follow it watches
    it."""
    writer, excerpt = message.author, message.body[:200]
    is_reply = message.kind == TicketMessage.Kind.REPLY
    number, subject, body = ticket.number, ticket.subject, message.body

    def text() -> str:
        told = (
            _("%(number)s: %(name)s replied to the customer: %(text)s")
            if is_reply
            else _("%(number)s: %(name)s added an internal note: %(text)s")
        )
        return told % {"number": number, "name": writer.label, "text": excerpt}

    def headline() -> str:
        done = (
            _("%(number)s %(subject)s: %(name)s replied to the customer")
            if is_reply
            else _("%(number)s %(subject)s: %(name)s added an internal note")
        )
        return done % {"number": number, "subject": subject, "name": writer.label}

    _tell(
        ticket,
        text,
        owner=False,
        writer=writer,
        email=lambda: _staff_email(ticket, headline, body),
    )


# --- emails to customers ----------------------------------------------------------------------


def _email_customer_on_commit(
    ticket: Ticket, kind: str, to: str, *, message: TicketMessage | None = None
) -> CustomerEmail:
    """Record an email to the customer in the caller's transaction, and send it once that
    commits: what is rolled back sends nothing, and what commits is never lost, whatever
    happens to the sending (see :class:`CustomerEmail`)."""
    email = CustomerEmail.objects.create(
        ticket=ticket, kind=kind, to=to, message=message, created_at=timezone.now()
    )
    # Robust: the request that wrote the reply (the ticket page, the API, the inbound mail path
    # for an acknowledgement) has done its work once this commits, and must not fail because
    # the mail server did; a failure is recorded on the email, and the sweep tries it again.
    transaction.on_commit(functools.partial(customer_email_send, email.pk), robust=True)
    return email


def _previous_message_id(message: TicketMessage) -> str:
    """The Message-ID of the last email of the ticket's thread before ``message``, for a reply
    to thread under. Not a note's: an email kept as one came from someone else, whose
    Message-ID the customer has no business seeing. Read when the reply is sent: a reply sent
    again later threads after what was sent before it, not after what was written since."""
    before = Q(created_at__lt=message.created_at) | Q(
        created_at=message.created_at, pk__lt=message.pk
    )
    return (
        message.ticket.messages.filter(before)
        .exclude(email_message_id="")
        .exclude(kind=TicketMessage.Kind.NOTE)
        .order_by("-created_at", "-id")
        .values_list("email_message_id", flat=True)
        .first()
        or ""
    )


def _customer_email_text(email: CustomerEmail) -> tuple[Ticket, str, str, str]:
    """The ticket an email is about, its subject and body, and the Message-ID it answers.
    Written when it is sent, in the ticket's language then: one written before an agent
    changed the language and not sent yet goes in the language chosen."""
    ticket = email.message.ticket if email.kind == CustomerEmail.Kind.REPLY else email.ticket
    # The customer's language, not that of whoever's request wrote it; and the one the ticket
    # reads as, so that a language the site no longer offers goes as the desk is shown it.
    with in_language(ticket.email_language):
        if email.kind == CustomerEmail.Kind.REPLY:
            message = email.message
            # The agent's words go as written; the subject says in the customer's language
            # that it answers their request.
            subject = _("Re: %(subject)s") % {"subject": ticket.subject}
            return ticket, subject, message.body, _previous_message_id(message)
        if email.kind == CustomerEmail.Kind.SURVEY:
            body = _(
                "Your request %(number)s has been resolved.\n\nHow satisfied are you with how "
                "we handled it? One question, one click: %(url)s\n\nIf it is not solved, reply "
                "to this email and we will reopen it."
            ) % {"number": ticket.number, "url": mail.survey_url(ticket.pk)}
        else:
            body = _(
                "We received your request %(number)s and will answer as soon as we can.\n\n"
                "Follow it here: %(url)s\n\nReply to this email to add to it."
            ) % {"number": ticket.number, "url": mail.status_url(ticket.pk)}
    return ticket, ticket.subject, body, ""


def _failure(error: Exception) -> str:
    if isinstance(error, (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException)):
        return CustomerEmail.Failure.REFUSED
    return CustomerEmail.Failure.UNREACHABLE


# Emails to a customer in the recycle bin are held: not sent while it is there. A customer is
# binned by staff, perhaps because they asked to be forgotten or never to be written to again,
# and an email queued before that (a reply or a survey the mail server did not take at once)
# must not reach them afterwards. Held rather than dropped: a customer binned by mistake and
# restored within :data:`RETRY_FOR` gets it as if nothing had happened. After that it is given
# up as any email the sweep stopped trying, whether the customer ever comes back or not (held
# for good, it was looked at by every sweep for ever), and the ticket's holder told on the bell
# once, for a person to send again or not: the bell shows the notice only once they may see
# the ticket, so when the customer is restored (see ``sweep.customer_emails_give_up``). The
# ticket is read through the reply's message when there is one (it follows a merge), as the
# sending reads it.
#
# Asked in subqueries, not by joining the email to its ticket and customer: an update of a
# query with joins is made ``id IN (SELECT …)`` of the whole condition, and PostgreSQL, having
# waited for another claim of the row, looks again at the row alone, not at that subquery, so
# two claims at once both took the email and the customer got it twice (see :func:`_claim`).
TO_A_BINNED_CUSTOMER = Exists(
    TicketMessage.objects.filter(
        pk=OuterRef("message_id"), ticket__customer__deleted_at__isnull=False
    )
) | (
    Q(message=None)
    & Exists(Ticket.objects.filter(pk=OuterRef("ticket_id"), customer__deleted_at__isnull=False))
)


def _claim(email_id: int) -> datetime | None:
    """Claim an email not sent yet for sending; returns the claim (the time it was taken, which
    the sending then records its outcome under), or None when it was not claimed here: one
    conditional update, so that of two claims at the same moment exactly one changes the row
    (PostgreSQL makes the second wait for the first's transaction and look at the row again;
    SQLite writes one at a time), where reading the row first and deciding after would let both
    send on SQLite, which ignores ``select_for_update``. A claim left by a process that ended
    while sending is taken over once it is :func:`claim_holds_for` old."""
    now = timezone.now()
    free = Q(sending_since=None) | Q(sending_since__lt=now - claim_holds_for())
    with transaction.atomic():
        claimed = (
            CustomerEmail.objects.filter(free, pk=email_id, sent_at=None)
            .exclude(TO_A_BINNED_CUSTOMER)
            .update(sending_since=now)
        )
    return now if claimed == 1 else None


def _send_claimed(
    email: CustomerEmail, claim: datetime, *, sent: Callable[[], None] | None = None
) -> bool:
    """Send ``email``, claimed by the caller (``claim``, from :func:`_claim`), and record how it
    went: sent (the reply's message then has its Message-ID, for the customer's answer to thread
    back; and ``sent`` is called, in the transaction that records it), or why not (logged). The
    claim is given up either way. Returns whether it was sent.

    The mail server is reached outside any transaction this opens: the claim keeps others away,
    so no lock is held while the server answers (on SQLite such a lock stops every writer). The
    row may therefore change meanwhile, and the outcome is written with conditions, never over
    it: an email dropped meanwhile (a survey, when its ticket opens again or is merged) has
    nothing left to record, rather than failing after the mail server took it; and a failure
    is recorded only under this claim, so that a sending whose claim was taken over (it seemed
    gone for :func:`claim_holds_for`) does not clear the claim of whoever is sending it now,
    which would let a third sender send it at the same time."""
    now = timezone.now()
    rows = CustomerEmail.objects.filter(pk=email.pk)
    email.attempts += 1
    email.sending_since = None
    try:
        ticket, subject, body, in_reply_to = _customer_email_text(email)
        message_id = mail.send_to_customer(
            ticket=ticket, to=email.to, subject=subject, body=body, in_reply_to=in_reply_to
        )
    except Exception as error:
        email.failed_at, email.failure, email.error = now, _failure(error), str(error)[:300]
        recorded = rows.filter(sending_since=claim).update(
            attempts=F("attempts") + 1,
            failed_at=email.failed_at,
            failure=email.failure,
            error=email.error,
            sending_since=None,
        )
        logger.exception(
            "Could not email the customer about ticket %s (%s %s, attempt %d)%s",
            email.ticket_id,
            email.kind,
            email.pk,
            email.attempts,
            "" if recorded else "; not recorded: dropped or taken over meanwhile",
        )
        return False
    email.sent_at = now
    with transaction.atomic():
        # Sent by whoever took the claim over meanwhile, it keeps what that sending recorded.
        recorded = rows.filter(sent_at=None).update(
            attempts=F("attempts") + 1, sent_at=now, sending_since=None
        )
        if recorded and email.message_id is not None:
            TicketMessage.objects.filter(pk=email.message_id).update(email_message_id=message_id)
        if sent is not None:
            sent()
    return True


def customer_email_send(email_id: int) -> bool | None:
    """Send an email to a customer if it is not sent yet, and nobody else is sending it this
    moment: it is claimed first (:func:`_claim`), so that the request that wrote it, the sweep
    and someone sending it again never send it twice. Returns whether it was sent now; None
    when it had been sent already, or is being sent by someone else (or was dropped), or is
    held while its customer is in the recycle bin (:data:`TO_A_BINNED_CUSTOMER`). A failure
    is recorded on it and logged, not raised."""
    claim = _claim(email_id)
    email = CustomerEmail.objects.filter(pk=email_id).first() if claim else None
    if email is None:
        return None
    return _send_claimed(email, claim)


def customer_emails_retry(*, now: datetime | None = None, limit: int = 100) -> int:
    """Try again the emails to customers not sent yet, for :data:`RETRY_FOR` after they were
    written; older ones are left marked on their ticket for someone to send again (see
    :func:`customer_emails_give_up`). One not tried yet is its request's to send for
    :data:`LEFT_TO_ITS_REQUEST` first. The one tried longest ago first, so one address a server
    refuses holds up no other; the first failure ends the round (the server is in trouble: the
    next minute tries again), so a server that is down costs the sweep one attempt. Returns how
    many were sent."""
    now = now or timezone.now()
    ids = list(
        # Given up is implied by the age, and said all the same: it is the condition of the
        # index this reads (customer_email_to_send), which holds only the emails still to send.
        CustomerEmail.objects.filter(sent_at=None, given_up_at=None, created_at__gt=now - RETRY_FOR)
        .filter(Q(failed_at__isnull=False) | Q(created_at__lte=now - LEFT_TO_ITS_REQUEST))
        .exclude(TO_A_BINNED_CUSTOMER)
        .order_by(F("failed_at").asc(nulls_first=True), "id")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for email_id in ids:
        outcome = customer_email_send(email_id)
        if outcome is False:
            break
        sent += bool(outcome)
    return sent


def customer_emails_to_give_up(*, now: datetime, limit: int = 500) -> list[int]:
    """The emails to customers the sweep no longer tries and has not given up yet: written
    :data:`RETRY_FOR` ago or more and not sent, whether tried or not (one never tried, because
    the sweep was not running for a day, is no less unsent). One being sent this moment is left
    to that sending."""
    return list(
        CustomerEmail.objects.filter(
            sent_at=None, given_up_at=None, created_at__lte=now - RETRY_FOR
        )
        .exclude(sending_since__gte=now - claim_holds_for())
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def customer_email_give_up(email_id: int, *, now: datetime) -> CustomerEmail | None:
    """Mark an email to the customer given up, in the caller's transaction, and return it; None
    when it was given up, sent or claimed meanwhile. One conditional update marks it, so two
    sweeps at once give it up once. One never tried is marked not sent as well
    (:attr:`CustomerEmail.Failure.NOT_TRIED`), as the ticket's page and the API show it, rather
    than left unmarked where nobody would look for it."""
    rows = CustomerEmail.objects.filter(pk=email_id, sent_at=None, given_up_at=None).exclude(
        sending_since__gte=now - claim_holds_for()
    )
    if not rows.update(given_up_at=now):
        return None
    CustomerEmail.objects.filter(pk=email_id, failed_at=None).update(
        failed_at=now, failure=CustomerEmail.Failure.NOT_TRIED
    )
    return CustomerEmail.objects.select_related("ticket", "message__ticket").get(pk=email_id)


def customer_email_send_again(*, actor, ticket_id: int, email_id: int) -> CustomerEmail:
    """Someone who may reply on the ticket sends again an email to its customer the mail server
    did not take, and it is audited as their reply is. ``Ticket.DoesNotExist`` when the ticket
    is out of their sight, ``PermissionDenied`` when they may not work with its customer;
    ``ValidationError`` when the ticket has no such email, when it was sent meanwhile or is
    being sent this moment (two clicks send it once: the first claims it, :func:`_claim`), or
    when it fails again (the failure is recorded all the same)."""
    ticket = ticket_get_for_user(actor, ticket_id)
    access_customer(actor, ticket.customer_id, INTERACT)
    on_ticket = Q(message__ticket=ticket) | Q(message=None, ticket=ticket)
    sent_meanwhile = ValidationError(
        {"email_id": _("This email was sent to the customer meanwhile; it is not sent twice.")}
    )
    if not CustomerEmail.objects.filter(on_ticket, pk=email_id).exists():
        raise ValidationError({"email_id": _("This ticket has no such email.")})
    claim = _claim(email_id)
    if claim is None:
        if CustomerEmail.objects.filter(pk=email_id, sent_at=None).exists():
            raise ValidationError(
                {
                    "email_id": _(
                        "This email is being sent to the customer this moment; it is not sent "
                        "twice."
                    )
                }
            )
        raise sent_meanwhile
    email = CustomerEmail.objects.filter(pk=email_id).first()
    if email is None:  # dropped the moment it was claimed (a survey, its ticket reopened)
        raise ValidationError({"email_id": _("This ticket has no such email.")})

    def audited() -> None:
        _audit(
            actor,
            ticket,
            AuditEvent.Action.UPDATE,
            Summary(gettext_noop("email to the customer sent again")),
            {"customer_email": {"before": None, "after": email.to}},
        )

    if not _send_claimed(email, claim, sent=audited):
        raise ValidationError({"email_id": failure_text(email)})
    return email


def failure_text(email: CustomerEmail) -> str:
    """Why an email to the customer was not sent, as the ticket's page and its errors say it."""
    if email.failure == CustomerEmail.Failure.REFUSED:
        return _("Not sent to the customer: the mail server refused it")
    if email.failure == CustomerEmail.Failure.NOT_TRIED:
        return _("Not sent to the customer: it was not tried within 24 hours")
    return _("Not sent to the customer: the mail server could not be reached")


# --- customers' answers ------------------------------------------------------------------------


def _survey_answer_values(survey: SatisfactionSurvey | None) -> dict[str, Any]:
    """A survey's answer as the audit rows record it: the score and the customer's words; empty
    while it is not answered."""
    if survey is None or survey.answered_at is None:
        return {}
    return {"satisfaction": survey.score, "satisfaction_comment": survey.comment}


@transaction.atomic
def survey_answer(*, ticket_id: int, score: int, comment: str = "") -> SatisfactionSurvey:
    """The customer's answer to the survey of their resolved ticket (the link in its email),
    audited with their words and, when they answer again, what the answer replaced."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError({"score": _("Choose a score from 1 to 5.")})
    # The survey alone is locked: its ticket, read with it, is locked before its survey by
    # whoever resolves it again and asks anew, and locking the two the other way round here
    # deadlocked with them.
    survey = (
        SatisfactionSurvey.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .get(ticket_id=ticket_id)
    )
    before = _survey_answer_values(survey)
    survey.score = score
    survey.comment = (comment or "").strip()[:2000]
    survey.answered_at = timezone.now()
    survey.save()
    ticket = survey.ticket
    _audit(
        None,
        ticket,
        AuditEvent.Action.UPDATE,
        Summary(gettext_noop("satisfaction %(score)d/5"), {"score": score}),
        diff_values(before, _survey_answer_values(survey)),
    )
    return survey


# --- agents --------------------------------------------------------------------------------


@transaction.atomic
def agent_set_absent(*, actor, user_id: int, absent: bool) -> AgentProfile:
    from guanxi.accounts.roles import REASSIGNING_ROLES

    if actor.pk != user_id and not (actor.is_superuser or actor.role in REASSIGNING_ROLES):
        raise PermissionDenied(_("Only managers may mark someone else absent."))
    profile, _created = AgentProfile.objects.select_for_update().get_or_create(user_id=user_id)
    before = profile.is_absent
    profile.is_absent = absent
    if before != absent:
        # A profile page opened before this must not put the old absence back.
        profile.version += 1
    profile.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="agent",
        object_id=user_id,
        summary=Summary(gettext_noop("absent") if absent else gettext_noop("back")),
        changes={"is_absent": {"before": before, "after": absent}},
    )
    return profile


def _require_agent_manager(actor) -> None:
    from guanxi.accounts.roles import REASSIGNING_ROLES

    if not (actor.is_superuser or actor.role in REASSIGNING_ROLES):
        raise PermissionDenied(_("Only managers may change agents' profiles."))


def _skill_names(profile: AgentProfile) -> dict[str, Any]:
    return {"skills": sorted(profile.skills.values_list("name", flat=True))}


@transaction.atomic
def agent_profile_save(
    *,
    actor,
    profile: AgentProfile,
    skill_ids: Iterable[int],
    expected_version: int | None = None,
) -> AgentProfile:
    """Store an agent's profile as edited in the admin site (managers and administrators):
    whether they are absent, which decides whether routing gives them tickets, and their skills.
    The audit row names the agent (``agent`` and the user's id, like :func:`agent_set_absent`);
    saving the profile unchanged writes none. A profile changed since ``expected_version`` is
    refused (:class:`~guanxi.audit.services.StaleSettingError`)."""
    _require_agent_manager(actor)
    skills = list(TicketCategory.objects.filter(pk__in=list(skill_ids)))
    changes = setting_save(
        actor=actor,
        instance=profile,
        object_type="agent",
        expected_version=expected_version,
        audit_object_id=profile.user_id,
        related_before=_skill_names,
        related_after={"skills": sorted(s.name for s in skills)},
    )
    if "skills" in changes:
        profile.skills.set(skills)
    return profile


@transaction.atomic
def agent_profiles_delete(*, actor, profile_ids: Iterable[int]) -> int:
    """Delete agents' profiles (managers and administrators), each with an audit row of what
    it held; returns how many were deleted."""
    _require_agent_manager(actor)
    deleted = settings_delete(
        actor=actor,
        queryset=AgentProfile.objects.filter(pk__in=set(profile_ids)),
        object_type="agent",
        audit_object_id=lambda profile: profile.user_id,
        related_before=_skill_names,
    )
    return len(deleted)


# --- settings edited in the admin site -----------------------------------------------------------
# Categories, calendars and policies decide routing and every open ticket's deadlines, so each
# change is audited (rows named by the setting, not by a customer) and refused when the form it
# comes from was read before someone else's save (``expected_version``).


def _require_settings_admin(actor) -> None:
    # Edited in the admin site only, which shows its own refusal page.
    if not actor.is_admin_role:
        raise PermissionDenied


def _reapply_policies_on_commit() -> None:
    from .tasks import recompute_policy_deadlines

    transaction.on_commit(lambda: recompute_policy_deadlines.enqueue(None))


@transaction.atomic
def ticket_category_save(
    *, actor, category: TicketCategory, expected_version: int | None = None
) -> TicketCategory:
    """Add a ticket category or store the edited one (administrators only), audited."""
    _require_settings_admin(actor)
    setting_save(
        actor=actor,
        instance=category,
        object_type="ticket_category",
        expected_version=expected_version,
    )
    return category


@transaction.atomic
def ticket_categories_delete(*, actor, category_ids: Iterable[int]) -> int:
    """Delete ticket categories (administrators only), each with an audit row of what it was."""
    _require_settings_admin(actor)
    return len(
        settings_delete(
            actor=actor,
            queryset=TicketCategory.objects.filter(pk__in=set(category_ids)),
            object_type="ticket_category",
        )
    )


@transaction.atomic
def service_calendar_save(
    *, actor, calendar: ServiceCalendar, expected_version: int | None = None
) -> ServiceCalendar:
    """Add a service calendar or store the edited one (administrators only), audited. Its
    working hours and holidays are part of its definition, so they are in the audit row too;
    a changed calendar has the open tickets' deadlines recomputed after the commit."""
    _require_settings_admin(actor)
    created = calendar.pk is None
    changes = setting_save(
        actor=actor,
        instance=calendar,
        object_type="service_calendar",
        expected_version=expected_version,
    )
    if changes and not created:
        _reapply_policies_on_commit()
    return calendar


@transaction.atomic
def service_calendars_delete(*, actor, calendar_ids: Iterable[int]) -> int:
    """Delete service calendars no policy uses (administrators only), audited."""
    _require_settings_admin(actor)
    return len(
        settings_delete(
            actor=actor,
            queryset=ServiceCalendar.objects.filter(pk__in=set(calendar_ids)),
            object_type="service_calendar",
        )
    )


@transaction.atomic
def sla_policy_save(*, actor, policy: SlaPolicy, expected_version: int | None = None) -> SlaPolicy:
    """Add a service-level policy or store the edited one (administrators only), audited; a new
    or changed policy may now match other open tickets, so their deadlines are recomputed after
    the commit."""
    _require_settings_admin(actor)
    changes = setting_save(
        actor=actor,
        instance=policy,
        object_type="sla_policy",
        expected_version=expected_version,
    )
    if changes:
        _reapply_policies_on_commit()
    return policy


@transaction.atomic
def sla_policies_delete(*, actor, policy_ids: Iterable[int]) -> int:
    """Delete service-level policies (administrators only), audited. Their tickets lose the
    policy, each with an audit row (``tickets_policy_deleted``), so all open tickets are matched
    to the remaining policies after the commit."""
    _require_settings_admin(actor)
    policy_ids = sorted(set(policy_ids))
    tickets_policy_deleted(actor=actor, policy_ids=policy_ids)
    deleted = settings_delete(
        actor=actor,
        queryset=SlaPolicy.objects.filter(pk__in=policy_ids),
        object_type="sla_policy",
    )
    if deleted:
        _reapply_policies_on_commit()
    return len(deleted)


# --- policy and calendar edits -----------------------------------------------------------------


# The summary of a ticket's audit row when a change of the policies moved it to another one.
POLICY_MATCHED_AGAIN = Summary(
    gettext_noop("matched to another service-level policy after the policies changed")
)


def reapply_policies(*, policy_id: int | None = None, batch_size: int = 2000) -> int:
    """Match the open tickets (of one policy, or all) to the policies again and recompute their
    deadlines from their histories, batch by batch; returns how many tickets were looked at.
    Run after a policy or a calendar changed, so open tickets follow the new promise. A ticket
    that comes under another policy gets an audit row on its customer (the system's, as this
    runs in the background), as it does when an agent's edit moves it; new deadlines under the
    same policy follow from the policy's own audited change."""
    tickets = Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True)
    if policy_id is not None:
        tickets = tickets.filter(sla_policy_id=policy_id)
    ids = list(tickets.order_by("id").values_list("id", flat=True))
    now = timezone.now()
    policies = active_policies()
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with transaction.atomic():
            # The policies read first are locked before the tickets, FOR KEY SHARE in id order
            # (as the database's check of a ticket's policy would lock them only as the batch
            # commits, and as a deletion locks them before their tickets), and one deleted
            # since is matched to no ticket: the batch's commit failed on it being gone.
            if policies:
                live = {
                    pk
                    for (pk,) in key_shared(
                        SlaPolicy.objects.filter(pk__in=[policy.pk for policy in policies])
                        .order_by("pk")
                        .values_list("pk")
                    )
                }
                policies = [policy for policy in policies if policy.pk in live]
            # Locked in ascending id order, as a ticket merge, the email path and a team's
            # deletion lock tickets (not in the model's newest-first order): a merge of two of
            # them under way, holding the older, would wait for the newer locked here first.
            # Asked again once locked: one closed or merged meanwhile keeps its policy.
            batch = list(
                tickets.select_for_update(of=("self",))
                .filter(pk__in=chunk)
                .select_related("customer", "sla_policy__calendar")
                .order_by("pk")
            )
            statuses = status_histories(chunk)
            tiers = customer_tiers(t.customer_id for t in batch)
            done = _steps_done(chunk)
            moved = []
            for ticket in batch:
                before = ticket.sla_policy_id
                ticket.sla_policy = policy_for(
                    ticket, tier=tiers.get(ticket.customer_id, ""), policies=policies
                )
                recompute_deadlines(
                    ticket, now=now, statuses=statuses[ticket.pk], done=done[ticket.pk]
                )
                if ticket.sla_policy_id != before:
                    moved.append((ticket, before))
            Ticket.objects.bulk_update(
                batch,
                [
                    "sla_policy",
                    "first_response_due",
                    "next_response_due",
                    "resolution_due",
                    "sla_check_at",
                ],
                batch_size=1000,
            )
            audit_record_many(
                AuditEvent(
                    occurred_at=now,
                    actor=None,
                    action=AuditEvent.Action.UPDATE,
                    object_type="ticket",
                    object_id=ticket.pk,
                    customer_id=ticket.customer_id,
                    **summary_fields(prefixed(ticket.number, POLICY_MATCHED_AGAIN)),
                    changes={"sla_policy_id": {"before": before, "after": ticket.sla_policy_id}},
                )
                for ticket, before in moved
            )
    return len(ids)
