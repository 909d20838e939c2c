"""Writes of the analytics app that people make: putting customers on the blacklist and taking
them off, and closing churn follow-ups. (The results themselves, and the follow-ups, are
written by the refresh, ``refresh.py``.)"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record, audit_record_many, setting_save
from guanxi.audit.summaries import Summary
from guanxi.customers.models import Customer
from guanxi.customers.selectors import access_customer
from guanxi.customers.services import StaleVersionError
from guanxi.customers.validation import unstorable_text_paths
from guanxi.customers.visibility import CHANGE, customer_scope

from .models import Blacklist, ChurnFollowUp, ValueSettings


def blacklist_add(*, actor, customer_id: int, reason: str) -> Blacklist:
    """Put a customer on the blacklist, with the reason; needs the right to change the customer.

    Raises ``Customer.DoesNotExist`` / ``PermissionDenied`` as :func:`access_customer` does, and
    ``ValidationError`` without a reason or when the customer is on the list already.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        # Who the customer is, and whether the actor may change them, before what was sent is
        # judged: a reason refused for a customer out of sight would confirm they exist.
        customer = access_customer(actor, customer_id, CHANGE, for_update=True)
        if not reason:
            raise ValidationError({"reason": _("Say why the customer goes on the blacklist.")})
        if unstorable_text_paths(reason):
            raise ValidationError(
                {"reason": _("Text may not contain NUL characters or unpaired surrogates.")}
            )
        if Blacklist.objects.filter(customer=customer).exists():
            raise ValidationError({"customer_id": _("This customer is on the blacklist already.")})
        entry = Blacklist.objects.create(customer=customer, reason=reason, added_by=actor)
        _new_customer_version(customer)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            object_type="blacklist",
            object_id=entry.pk,
            customer_id=customer.pk,
            summary=f"{customer.name}: {reason}",
            changes={
                "blacklisted": {"before": False, "after": True},
                "reason": {"before": None, "after": reason},
            },
        )
    return entry


def _new_customer_version(customer) -> None:
    """Putting a customer on the blacklist or taking them off is a change to the customer:
    their version moves on, so a removal decided on what was read before (the entry someone
    since took off and put back with another reason) is refused instead of silently removing
    the new entry."""
    Customer.objects.filter(pk=customer.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


def blacklist_remove(*, actor, customer_id: int, expected_version: int) -> None:
    """Take a customer off the blacklist; needs the right to change the customer, and the
    customer's ``expected_version`` as the caller read it (:class:`StaleVersionError` after
    someone else's change, such as the entry taken off and put back with another reason).
    Raises ``ValidationError`` when the customer is not on it."""
    with transaction.atomic():
        customer = access_customer(actor, customer_id, CHANGE, for_update=True)
        if customer.version != expected_version:
            raise StaleVersionError(customer.version)
        entry = Blacklist.objects.filter(customer=customer).first()
        if entry is None:
            raise ValidationError({"customer_id": _("This customer is not on the blacklist.")})
        entry_id, reason = entry.pk, entry.reason
        entry.delete()
        _new_customer_version(customer)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type="blacklist",
            object_id=entry_id,
            customer_id=customer.pk,
            summary=customer.name,
            changes={
                "blacklisted": {"before": True, "after": False},
                "reason": {"before": reason, "after": None},
            },
        )


def follow_up_done(*, actor, follow_up_id: int) -> ChurnFollowUp:
    """Close a churn follow-up; needs the right to change its customer.

    Raises ``ChurnFollowUp.DoesNotExist`` for an unknown follow-up, ``Customer.DoesNotExist`` /
    ``PermissionDenied`` as :func:`access_customer` does, and ``ValidationError`` when the
    follow-up is closed already.
    """
    with transaction.atomic():
        customer_id = ChurnFollowUp.objects.values_list("customer_id", flat=True).get(
            pk=follow_up_id
        )
        # The customer is locked first, as the other writes on a customer do, then the row,
        # read again under the lock so that two clicks on "Done" cannot both succeed.
        customer = access_customer(actor, customer_id, CHANGE, for_update=True)
        follow_up = ChurnFollowUp.objects.select_for_update().get(
            pk=follow_up_id, customer=customer
        )
        if follow_up.done_at is not None:
            raise ValidationError(_("This follow-up is done already."))
        follow_up.done_at = timezone.now()
        follow_up.save(update_fields=["done_at"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="churn_follow_up",
            object_id=follow_up.pk,
            customer_id=customer.pk,
            summary=f"{customer.name}: {follow_up.reason}",
            changes={"done_at": {"before": None, "after": follow_up.done_at.isoformat()}},
        )
    return follow_up


def follow_ups_follow_customers(*, actor, customer_ids: list[int], to_owner_id: int | None) -> int:
    """Give the open churn follow-ups of ``customer_ids``, which have just been handed to
    ``to_owner_id``, to their new account manager; with the customers sent to the unowned pool
    (``None``), close them. Each gets an audit row on its customer. Returns how many changed.

    For the caller that moves the customers, in its transaction, once it has locked them and
    checked the actor may change them (``customers_reassign``). Every open follow-up of those
    customers moves, whoever holds it: the refresh opens a follow-up for the customer's owner
    and nothing gives one to anyone else (there is no such field, and the admin site only
    shows them), so one held by somebody else is a leftover from an earlier move, held by
    someone who may not even be allowed to close it. The pool has nobody to do the task, and
    the refresh opens a new one for whoever takes the customer if it still looks lost."""
    rows = list(
        ChurnFollowUp.objects.select_for_update(of=("self",))
        .filter(customer_id__in=customer_ids, done_at__isnull=True)
        .exclude(owner_id=to_owner_id)
        .order_by("pk")
        .values_list("pk", "owner_id", "customer_id", "customer__name", "reason")
    )
    if not rows:
        return 0
    now = timezone.now()
    ids = [pk for pk, *_rest in rows]
    if to_owner_id is None:
        ChurnFollowUp.objects.filter(pk__in=ids).update(done_at=now)
    else:
        ChurnFollowUp.objects.filter(pk__in=ids).update(owner_id=to_owner_id)

    def change(owner_id: int) -> dict:
        if to_owner_id is None:
            return {"done_at": {"before": None, "after": now.isoformat()}}
        return {"owner_id": {"before": owner_id, "after": to_owner_id}}

    audit_record_many(
        AuditEvent(
            occurred_at=now,
            actor=actor,
            action=(
                AuditEvent.Action.UPDATE if to_owner_id is None else AuditEvent.Action.REASSIGN
            ),
            object_type="churn_follow_up",
            object_id=pk,
            customer_id=customer_id,
            summary=f"{name}: {reason}"[:300],
            changes=change(owner_id),
        )
        for pk, owner_id, customer_id, name, reason in rows
    )
    return len(rows)


def follow_ups_close_internal() -> int:
    """Close the open churn follow-ups of the company's own accounts (customers of kind
    "internal"), each with an audit row on its customer and no actor: the refresh does it, in
    its swap's transaction, as it clears their warnings. Returns how many it closed.

    The refresh opens none for them, but one opened before the account became internal would
    otherwise stay on its owner's list, asking them to win back their own company, whichever
    way the kind was changed (the form, the API or an import)."""
    rows = list(
        ChurnFollowUp.objects.select_for_update(of=("self",))
        .filter(done_at__isnull=True, customer__kind=Customer.Kind.INTERNAL)
        .order_by("pk")
        .values_list("pk", "customer_id", "customer__name", "reason")
    )
    if not rows:
        return 0
    now = timezone.now()
    ChurnFollowUp.objects.filter(pk__in=[pk for pk, *_rest in rows]).update(done_at=now)
    audit_record_many(
        AuditEvent(
            occurred_at=now,
            actor=None,
            action=AuditEvent.Action.UPDATE,
            object_type="churn_follow_up",
            object_id=pk,
            customer_id=customer_id,
            summary=f"{name}: {reason}"[:300],
            changes={"done_at": {"before": None, "after": now.isoformat()}},
        )
        for pk, customer_id, name, reason in rows
    )
    return len(rows)


@transaction.atomic
def follow_ups_hand_over(*, actor, from_user_id: int) -> int:
    """Hand the open churn follow-ups of ``from_user_id``, who is leaving, to the account
    manager each customer has now (so: after the customers were handed over); returns how
    many changed, each with an audit row on its customer.

    A follow-up is a task for its customer's account manager. One whose customer is left
    without an active one (handed to the unowned pool) is closed: the refresh opens follow-ups
    only for owned customers, and opens a new one for whoever takes the customer if it still
    looks lost. Needs the right to change each customer, as closing one does.

    Those on customers in the recycle bin go too, the actor's right judged as if the customer
    were back, as ``tickets_hand_over`` judges it: such a customer still names the leaver (only
    those in use are handed over) and is closed here, where otherwise a restore would bring
    back a task held by someone who has left."""
    from guanxi.customers.models import Customer

    follow_ups = list(
        ChurnFollowUp.objects.select_for_update(of=("self",))
        .filter(
            owner_id=from_user_id,
            done_at__isnull=True,
            customer__in=Customer.objects.filter(
                customer_scope(actor, CHANGE, deleted=True)
            ).values("pk"),
        )
        .select_related("customer__owner")
        .order_by("pk")
    )
    now = timezone.now()
    for follow_up in follow_ups:
        customer = follow_up.customer
        new_owner = customer.owner
        if new_owner is not None and new_owner.is_active and new_owner.pk != from_user_id:
            follow_up.owner = new_owner
            follow_up.save(update_fields=["owner"])
            action = AuditEvent.Action.REASSIGN
            changes = {"owner_id": {"before": from_user_id, "after": new_owner.pk}}
        else:
            follow_up.done_at = now
            follow_up.save(update_fields=["done_at"])
            action = AuditEvent.Action.UPDATE
            changes = {"done_at": {"before": None, "after": now.isoformat()}}
        audit_record(
            actor=actor,
            action=action,
            object_type="churn_follow_up",
            object_id=follow_up.pk,
            customer_id=customer.pk,
            summary=f"{customer.name}: {follow_up.reason}",
            changes=changes,
        )
    return len(follow_ups)


@transaction.atomic
def value_settings_save(
    *, actor, settings_row: ValueSettings, expected_version: int | None = None
) -> ValueSettings:
    """Store the edited value analytics settings (administrators only, in the admin site), with
    an audit row of the knobs that changed. They decide every customer's tier, lifetime value
    and churn warning at the next refresh, so who turned which knob is on record; the row
    names the settings (``value_settings``), not a customer. Saving them unchanged writes no
    row; settings changed since ``expected_version`` are refused
    (:class:`~guanxi.audit.services.StaleSettingError`)."""
    if not actor.is_admin_role:
        raise PermissionDenied
    setting_save(
        actor=actor,
        instance=settings_row,
        object_type="value_settings",
        expected_version=expected_version,
        # Words, not a name: each reader reads them in their own language.
        summary_of=lambda row: Summary(gettext_noop("Value analytics settings")),
    )
    return settings_row
