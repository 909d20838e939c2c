"""Logging touch points on a customer's timeline."""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.core.locking import key_share_active_users
from guanxi.customers.models import Customer
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import INTERACT, VIEW

from .models import Interaction

FIELDS = ("channel", "direction", "subject", "notes", "staff_id", "occurred_at")
# Contacts older than this are typing mistakes; and the first days of the year 1 in a time zone
# east of UTC fall in the year 0 in UTC, which neither Python nor the databases can store. The
# first year of an order, invoice or payment date too (``orders.services``, order imports).
EARLIEST_YEAR = 1900


@transaction.atomic
def interaction_log(*, actor, customer_id: int, data: Mapping[str, Any]) -> Interaction:
    """Record a touch point with a customer the actor may interact with. The staff member
    defaults to the actor; ``occurred_at`` may be in the past (a visit logged afterwards) but not
    in the future."""
    # The staff member named and the actor, in one statement (see ``key_share_active_users``).
    # Who is left out is refused further on, once locked: the actor by ``access_customer``
    # (``ActorDeactivated``), the staff member by ``_staff_problem``, naming ``staff_id``.
    key_share_active_users([data.get("staff_id"), actor.pk])
    # Locked, so that a merge of this customer under way finishes first: the contact is then
    # refused as for a customer gone, instead of being written after the merge moved the
    # customer's contacts to the kept one and left behind in the recycle bin.
    customer = access_customer(actor, customer_id, INTERACT, for_update=True)
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    interaction = Interaction(customer=customer, created_by=actor, staff_id=actor.pk)
    for name, value in data.items():
        if value is not None or name in ("notes",):
            setattr(interaction, name, value if value is not None else "")
    errors: dict[str, list[str]] = {}
    try:
        interaction.full_clean(exclude=["customer", "staff", "created_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "staff_id" in data and data["staff_id"] is not None:
        staff_problem = _staff_problem(data["staff_id"], customer)
        if staff_problem:
            errors.setdefault("staff_id", []).append(staff_problem)
    occurred = interaction.occurred_at
    if isinstance(occurred, dt.datetime) and timezone.is_naive(occurred):
        # A time without a zone (a form field, a spreadsheet cell) is local time.
        occurred = interaction.occurred_at = timezone.make_aware(occurred)
    if not isinstance(occurred, dt.datetime):
        occurred = None
    now = timezone.now()
    if "occurred_at" not in errors and occurred and occurred.year < EARLIEST_YEAR:
        errors.setdefault("occurred_at", []).append(
            _("Give a date between the years %(first)d and %(last)d.")
            % {"first": EARLIEST_YEAR, "last": timezone.localtime(now).year}
        )
    elif "occurred_at" not in errors and occurred and occurred > now + dt.timedelta(minutes=5):
        errors.setdefault("occurred_at", []).append(_("An interaction cannot be in the future."))
    if errors:
        raise ValidationError(errors)
    interaction.save()
    Customer.objects.filter(pk=customer.pk).filter(
        Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=interaction.occurred_at)
    ).update(last_contacted_at=interaction.occurred_at)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="interaction",
        object_id=interaction.pk,
        customer_id=customer.pk,
        summary=interaction.subject,
        changes=interaction_created_changes(interaction),
    )
    return interaction


def latest_contact(customer_id: int) -> dt.datetime | None:
    """The moment of the latest contact a customer has now, or None: its last contact once it
    has lost one, which may have been that one. Taken from what is left, rather than kept
    unless it was the one that went: it is right even where it had gone wrong before."""
    return Interaction.objects.filter(customer_id=customer_id).aggregate(latest=Max("occurred_at"))[
        "latest"
    ]


def last_contacts_recompute(customer_ids: Iterable[int]) -> None:
    """Set the last contact of each of the customers to :func:`latest_contact`, in one
    statement for them all (an import's batch). The caller holds their locks and writes the
    audit rows: the last contact is no field of its own in a customer's history, which tells
    of the contacts that set it (logged, imported, moved away)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    latest = (
        Interaction.objects.filter(customer_id=OuterRef("pk"))
        .values("customer_id")
        .annotate(latest=Max("occurred_at"))
        .values("latest")
    )
    Customer.objects.filter(pk__in=ids).update(last_contacted_at=Subquery(latest))


def interaction_created_changes(interaction: Interaction) -> dict[str, dict[str, Any]]:
    """The audit row's changes of a contact just logged or imported: what it was logged with,
    its notes too (what was said is part of what was logged, and an import's later change of
    them is recorded), left out when there are none."""
    changes = {
        "channel": {"before": None, "after": interaction.channel},
        "direction": {"before": None, "after": interaction.direction},
        "subject": {"before": None, "after": interaction.subject},
        "staff_id": {"before": None, "after": interaction.staff_id},
        "occurred_at": {"before": None, "after": interaction.occurred_at.isoformat()},
    }
    if interaction.notes:
        changes["notes"] = {"before": None, "after": interaction.notes}
    return changes


def _staff_problem(staff_id, customer: Customer) -> str | None:
    """Why ``staff_id`` cannot be named as who had the contact, or None. The staff member must
    be allowed to see the customer: a timeline naming someone who may not even view the
    customer would credit them with (and show them in reports as working on) someone else's
    customer."""
    from guanxi.accounts.models import User

    staff = (
        User.objects.filter(pk=staff_id, is_active=True).first()
        if isinstance(staff_id, int)
        else None
    )
    if staff is None:
        return _("No such active user.")
    if not Customer.objects.visible_to(staff, VIEW).filter(pk=customer.pk).exists():
        return _("%(user)s may not see this customer.") % {"user": staff.username}
    return None
