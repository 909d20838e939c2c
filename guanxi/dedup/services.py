"""Merging duplicate customers, undoing a merge, and deciding on possible duplicates.

A merge keeps the survivor's id and makes it the one record of the customer:

* every row of the other customer's history — interactions, orders, tickets and whatever else
  points at a customer — moves to the survivor (found generically from the relations pointing
  at ``Customer``, so a new app's rows move without changes here). A row that would break a
  unique rule the survivor's own rows already fill (a second blacklist entry, a second open
  churn follow-up, a second value row of the same analytics run) stays with the other
  customer, where an undo finds it again;
* the other customer's phones, emails, addresses, consents and tags are *copied* to the
  survivor where it lacks them (a consent is taken when it is more recent: a refusal given
  later must be honoured), and empty fields of the survivor are filled from the other. A merge
  that would leave the survivor more phones, emails, addresses or tags than a customer may hold
  is refused, naming the list: the API answers a customer in full, and would refuse such a one
  sent back as read;
* the other customer goes to the recycle bin, pointing to the survivor.

Everything is recorded in a :class:`CustomerMerge` row, so undoing puts back exactly what the
merge changed and leaves alone what people did to the survivor since. Both customers are locked
for the length of the transaction, the caller's versions are checked, and the audit rows are
written in the same transaction.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet, UniqueConstraint
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.accounts.roles import DELETING_ROLES
from guanxi.analytics.models import ChurnFollowUp
from guanxi.analytics.services import follow_ups_follow_customers
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record, audit_record_many, diff_values, summary_fields
from guanxi.audit.summaries import Summary
from guanxi.core.locking import (
    ActorDeactivated,
    key_share_active_users,
    key_share_users,
    shared,
)
from guanxi.core.unique import save_unless_taken
from guanxi.customers.models import Address, Customer, Email, MarketingConsent, Phone
from guanxi.customers.selectors import access_customer
from guanxi.customers.services import (
    SENSITIVE_FIELDS,
    StaleVersionError,
    customer_snapshot,
    customers_owner_changed,
    refresh_search_data,
    refresh_search_data_many,
)
from guanxi.customers.validation import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS
from guanxi.customers.visibility import CHANGE, VIEW, customer_scope
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import latest_contact
from guanxi.orders.models import Invoice, Order
from guanxi.service.models import Ticket
from guanxi.service.services import tickets_customers_release

from .keys import remove_match_keys, stored_match_records
from .matching.engine import REVIEW_THRESHOLD
from .matching.model import rounded_reasons, score_without
from .models import CustomerMerge, DuplicatePair, MatchKey
from .selectors import likely_duplicates, scored_with_current_model

# Fields filled on the survivor when it has no value (or still its default) and the other has.
FILLABLE_FIELDS = (
    "company",
    "job_title",
    "kind",
    "relationship_level",
    "lifecycle_stage",
    "industry",
    "region",
    "source_channel",
    "owner_id",
    "organization_id",
    "birth_date",
    "website",
    "notes",
    "external_id",
)
_FOREIGN_KEYS = {"owner_id", "organization_id"}
# Rows pointing at a customer that a merge handles itself (copied, or bookkeeping of this app).
_HANDLED_MODELS = {Phone, Email, Address, MarketingConsent, MatchKey, DuplicatePair, CustomerMerge}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _is_unset(customer: Customer, name: str) -> bool:
    """Empty, or still the value every new customer starts with."""
    value = getattr(customer, name)
    if value in (None, ""):
        return True
    field = Customer._meta.get_field(name.removesuffix("_id") if name in _FOREIGN_KEYS else name)
    return field.has_default() and value == field.get_default()


def _moving_relations():
    """(model, field name) of every foreign key to Customer whose rows move in a merge, the
    tickets first: a change of a ticket locks it and then the orders it links, so a merge (or an
    undo) locking the orders first held what the change waited for while it waited for the
    ticket, a deadlock."""
    relations = [
        (relation.related_model, relation.field.name)
        for relation in Customer._meta.related_objects
        if not (relation.many_to_many or relation.related_model in _HANDLED_MODELS)
    ]
    return sorted(relations, key=lambda relation: relation[0] is not Ticket)


def _unique_rules(model, field_name: str):
    """(the other fields, condition) of each unique rule of ``model`` that includes the foreign
    key ``field_name``: a one-to-one key is a rule of its own."""
    field = model._meta.get_field(field_name)
    if field.unique:
        yield (), None
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint) and field_name in (constraint.fields or ()):
            others = tuple(name for name in constraint.fields if name != field_name)
            yield others, constraint.condition
    for together in model._meta.unique_together:
        if field_name in together:
            yield tuple(name for name in together if name != field_name), None


def _rows_to_move(model, field_name: str, survivor_pk: int, merged_pk: int):
    """The merged customer's rows of one relation that can move to the survivor, and the ids of
    those that stay because the survivor already has a row in their place under a unique rule
    (its own blacklist entry, its open churn follow-up, its value row of the same run)."""
    manager = model._default_manager
    rows = manager.filter(**{field_name: merged_pk})
    clashes = []
    for others, condition in _unique_rules(model, field_name):
        taken = manager.filter(**{field_name: survivor_pk})
        if condition is not None:
            taken = taken.filter(condition)
        if not others:
            if taken.exists():
                clashes.append(condition if condition is not None else Q(pk__isnull=False))
            continue
        for values in taken.values_list(*others).distinct():
            clash = Q(**dict(zip(others, values, strict=True)))
            clashes.append(clash & condition if condition is not None else clash)
    if not clashes:
        return rows, []
    clash = clashes[0]
    for other in clashes[1:]:
        clash |= other
    return rows.exclude(clash), list(rows.filter(clash).values_list("pk", flat=True))


def _move(rows: QuerySet, field_name: str, customer_pk: int) -> list[int]:
    """Move ``rows`` to customer ``customer_pk`` (``field_name`` is their key to it); returns
    their ids. They are locked in ascending id order before they move, in a merge and in its
    undo, as an email to a ticket merged into another locks the two tickets, a ticket the
    orders it links and an import the orders and contacts it changes: moved as the database
    comes to them (a ticket by its customer's index, newest first; an order or a contact as it
    is stored), the merge or undo held the newer of two while another writer held the older and
    waited for the newer, a deadlock."""
    ids = list(rows.select_for_update().order_by("pk").values_list("pk", flat=True))
    if ids:
        rows.update(**{field_name: customer_pk})
    return ids


def _out_of_reach(actor, people: QuerySet[Customer]) -> int:
    """How many of ``people`` (those not in the recycle bin) ``actor`` may not change: merging
    their organisation away, or undoing that, changes which organisation they belong to."""
    return people.filter(deleted_at__isnull=True).exclude(customer_scope(actor, CHANGE)).count()


def _check_members(actor, organisation: Customer) -> None:
    out_of_reach = _out_of_reach(actor, Customer.objects.filter(organization_id=organisation.pk))
    if out_of_reach:
        raise ValidationError(
            {
                "merged_id": _(
                    "%(count)d people of “%(name)s” are customers you may not change; "
                    "someone who may change them all must merge these organisations."
                )
                % {"count": out_of_reach, "name": organisation.name}
            }
        )


def _lock_pair(actor, first_id: int, second_id: int) -> tuple[Customer, Customer]:
    """Both customers through the visibility rule, locked in id order (so two merges of the
    same pair in opposite directions cannot deadlock), an organisation before a person (a
    merge of the two is refused, once both are locked) as every writer locks customers
    (``customers_lock_for_hand_over``)."""
    ordered = sorted([first_id, second_id])
    locked = {}
    try:
        # Visibility of both first: a customer out of sight is "not found" whatever the other is.
        people = set()
        for pk in ordered:
            if not access_customer(actor, pk, VIEW).is_organization:
                people.add(pk)
        for pk in sorted(ordered, key=lambda each: (each in people, each)):
            locked[pk] = access_customer(actor, pk, CHANGE, for_update=True)
    except (Customer.DoesNotExist, PermissionDenied) as refused:
        # Which of the two it is about (gone, or not the actor's to change), so that the API
        # names the input that named that one rather than guessing.
        refused.customer_id = pk
        raise
    return locked[first_id], locked[second_id]


@transaction.atomic
def customers_merge(
    *,
    actor,
    survivor_id: int,
    merged_id: int,
    survivor_version: int | None = None,
    merged_version: int | None = None,
) -> CustomerMerge:
    """Merge customer ``merged_id`` into ``survivor_id`` (see the module docstring).

    The actor must be allowed to change both. With versions given, a customer changed since
    the caller looked at it raises :class:`StaleVersionError` (naming ``merged_version`` when it
    is the merged one) and nothing is written. A merge fills the survivor's empty fields from
    the other, so one based on an old reading of either could overwrite a change made since:
    the API and the pages always send both versions. (The importer's ``--dedup auto`` does not
    come here: it fills the customer a row duplicates while holding that customer's row lock,
    reading it in the same transaction, so there is no earlier reading to be stale.)"""
    try:
        survivor_pk, merged_pk = int(survivor_id), int(merged_id)
    except (TypeError, ValueError):
        raise Customer.DoesNotExist from None
    if survivor_pk == merged_pk:
        raise ValidationError({"merged_id": _("A customer cannot be merged with itself.")})
    # The users first, as every writer locks them before any customer (``CUSTOMER_LOCK_ORDER``
    # comes after them): the actor, the other customer's account manager, whom the kept
    # customer takes when it has none (see ``_owner_to_take``), and the kept customer's, who
    # takes the other's open follow-up (see ``_moved_work_follows``).
    owners_read = dict(
        Customer.objects.filter(pk__in=[survivor_pk, merged_pk]).values_list("pk", "owner_id")
    )
    owner_read = owners_read.get(merged_pk)
    active = key_share_active_users([actor.pk, owner_read, owners_read.get(survivor_pk)])
    survivor, merged = _locked_after_organisation_to_take(
        lambda: merged_pk,
        lambda: _lock_pair(actor, survivor_pk, merged_pk),
        lambda locked: locked[1],
    )
    for customer, version, field in (
        (survivor, survivor_version, "version"),
        (merged, merged_version, "merged_version"),
    ):
        if version is not None and customer.version != version:
            raise StaleVersionError(customer.version, field=field)
    if survivor.party_type != merged.party_type:
        raise ValidationError({"merged_id": _("A person and an organisation cannot be merged.")})
    if survivor.organization_id == merged.pk or merged.organization_id == survivor.pk:
        raise ValidationError(
            {"merged_id": _("A person cannot be merged with their own organisation.")}
        )
    _check_members(actor, merged)
    additions = _additions(survivor, merged)
    _check_list_limits(additions)
    owner_taken = _owner_to_take(survivor, merged, owner_read=owner_read, active=active)
    if survivor.owner_id not in (owners_read.get(survivor_pk), None):
        # Given to someone else between the read and the lock: locked now, after the
        # customers, out of the usual order, only in this case.
        key_share_active_users([survivor.owner_id])
    if (
        owner_taken
        or Ticket.objects.filter(customer_id=merged.pk, status__in=Ticket.OPEN_STATUSES).exists()
    ):
        # Changing hands, or taking the other's open tickets, the kept customer's open tickets
        # may go back to the queue below (``customers_owner_changed``, ``_moved_work_follows``):
        # the open tickets of both are locked first, in one ascending id order, as every writer
        # changing several tickets locks them, before the merge moves the other's. Locked after
        # those, an older ticket of the kept customer's was waited for while a newer one moved
        # here was held.
        _open_tickets_locked([survivor.pk, merged.pk])

    now = timezone.now()
    survivor_before = customer_snapshot(survivor)
    details: dict[str, Any] = {
        "filled": {},
        "moved": {},
        "stayed": {},
        "copied": {},
        "consents": {},
    }

    # Fields: the survivor keeps its values, and takes the other's where it has none.
    merged_changes: dict[str, Any] = {"merged_into": {"before": None, "after": survivor.pk}}
    if merged.external_id and not survivor.external_id:
        # The key is unique: it moves to the survivor, which the merged customer's history says.
        Customer.objects.filter(pk=merged.pk).update(external_id=None)
        merged_changes["external_id"] = {"before": merged.external_id, "after": None}
    for name in FILLABLE_FIELDS:
        theirs = getattr(merged, name)
        if _is_unset(survivor, name) and not _is_unset(merged, name):
            if name == "organization_id" and theirs == survivor.pk:
                continue
            if name == "owner_id" and not owner_taken:
                continue
            details["filled"][name] = {
                "before": _jsonable(getattr(survivor, name)),
                "after": _jsonable(theirs),
            }
            setattr(survivor, name, theirs)
    if not survivor.id_number_hash and merged.id_number_hash:
        details["filled"]["id_number"] = {"before": "", "after": merged.id_number_hash}
        survivor.id_number_encrypted = merged.id_number_encrypted
        survivor.id_number_masked = merged.id_number_masked
        survivor.id_number_hash = merged.id_number_hash
    added_custom = {
        k: v for k, v in (merged.custom_fields or {}).items() if k not in survivor.custom_fields
    }
    if added_custom:
        details["filled"]["custom_fields"] = {"before": None, "after": added_custom}
        survivor.custom_fields = {**survivor.custom_fields, **added_custom}

    # Contact details are copied, so the merged customer stays whole for an undo.
    details["copied"] = _copy_contact_details(survivor, additions)
    details["consents"] = _take_newer_consents(survivor, merged, actor)
    survivor.tags.add(*additions.tag_ids)
    details["tags_added"] = additions.tag_ids

    # History moves: tickets, interactions, orders and the rest.
    for model, field_name in _moving_relations():
        label = f"{model._meta.label_lower}.{field_name}"
        rows, stayed = _rows_to_move(model, field_name, survivor.pk, merged.pk)
        ids = _move(rows, field_name, survivor.pk)
        if ids:
            details["moved"][label] = ids
        if stayed:
            details["stayed"][label] = stayed

    survivor.version = F("version") + 1
    survivor.updated_at = now
    if merged.last_contacted_at and (
        survivor.last_contacted_at is None or merged.last_contacted_at > survivor.last_contacted_at
    ):
        details["last_contacted_at"] = {
            "before": _jsonable(survivor.last_contacted_at),
            "after": _jsonable(merged.last_contacted_at),
        }
        survivor.last_contacted_at = merged.last_contacted_at
    survivor.save()
    survivor.refresh_from_db()
    Customer.objects.filter(pk=merged.pk).update(
        deleted_at=now, version=F("version") + 1, updated_at=now
    )
    if owner_taken:
        # A new account manager for the kept customer, as a reassignment gives one: its open
        # follow-ups (its own and those moved here) go to them, and its open tickets leave
        # whoever saw it only as it was, each change on record.
        customers_owner_changed(
            actor=actor, customer_ids=[survivor.pk], to_owner_id=survivor.owner_id
        )
    else:
        _moved_work_follows(actor, survivor, details["moved"])
    refresh_search_data(survivor)
    remove_match_keys([merged.pk])
    _refresh_people(
        details["moved"].get("customers.customer.organization", []),
        actor=actor,
        before=merged,
        after=survivor,
    )

    details["pairs"] = _settle_pairs(survivor.pk, merged.pk, actor, now)
    merge = CustomerMerge.objects.create(
        survivor=survivor, merged=merged, merged_by=actor, merged_at=now, details=details
    )
    moved_total = sum(len(ids) for ids in details["moved"].values())
    audit_record(
        actor=actor,
        action=AuditEvent.Action.MERGE,
        object_type="customer",
        object_id=survivor.pk,
        customer_id=survivor.pk,
        summary=Summary(
            gettext_noop("Merged with “%(name)s” (#%(id)d)"), {"name": merged.name, "id": merged.pk}
        ),
        changes={
            **diff_values(survivor_before, customer_snapshot(survivor), sensitive=SENSITIVE_FIELDS),
            "merged_from": {"before": None, "after": merged.pk},
            "moved_rows": {"before": None, "after": moved_total},
        },
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.MERGE,
        object_type="customer",
        object_id=merged.pk,
        customer_id=merged.pk,
        summary=Summary(
            gettext_noop("Merged into “%(name)s” (#%(id)d)"),
            {"name": survivor.name, "id": survivor.pk},
        ),
        changes=merged_changes,
    )
    return merge


_ADDRESS_LINES = ("street", "city", "region", "postcode", "country")


@dataclass
class _Additions:
    """What a merge adds to the survivor's lists: the other customer's phones, emails,
    addresses and tags the survivor lacks, and how many of each the survivor has."""

    had: dict[str, int]
    phones: list[Phone]
    emails: list[Email]
    addresses: list[Address]
    tag_ids: list[int]

    def count(self, name: str) -> int:
        return len(self.tag_ids) if name == "tags" else len(getattr(self, name))


def _owner_to_take(
    survivor: Customer, merged: Customer, *, owner_read: int | None, active: set[int]
) -> bool:
    """Whether the kept customer takes the other's account manager: it has none and the other
    has one who is still active. ``owner_read`` is the other's account manager as read before
    the users were locked, ``active`` those of the locked users still active.

    Given to someone else between that read and the lock, the other's account manager is locked
    now, after the customers, out of the usual order, only in this case. One deactivated
    meanwhile (a live customer of theirs is handed over with them, so only then) is not given
    the kept customer, which stays in the pool: nobody signs in as them."""
    if not _is_unset(survivor, "owner_id") or _is_unset(merged, "owner_id"):
        return False
    if merged.owner_id != owner_read:
        active = active | key_share_active_users([merged.owner_id])
    return merged.owner_id in active


def _moved_work_follows(actor, survivor: Customer, moved: dict[str, list[int]]) -> None:
    """The other customer's open follow-up and open tickets, moved to ``survivor``, which keeps
    its account manager (or stays in the pool), follow it as a reassignment makes them, each
    change on record: the follow-up goes to the kept customer's account manager (closed in the
    pool, which has nobody to do it), and a ticket held by someone who cannot see the kept
    customer goes back to the queue. Left as they were, they stayed with a holder who may not
    even see the customer, the follow-up off its account manager's list.

    A customer has one open follow-up at most: the other's moves only when the kept customer
    has none (``_rows_to_move``), so the kept customer's own is never among those changed."""
    follow_ups = moved.get(f"{ChurnFollowUp._meta.label_lower}.customer", [])
    if ChurnFollowUp.objects.filter(pk__in=follow_ups, done_at__isnull=True).exists():
        follow_ups_follow_customers(
            actor=actor, customer_ids=[survivor.pk], to_owner_id=survivor.owner_id
        )
    if moved.get(f"{Ticket._meta.label_lower}.customer"):
        tickets_customers_release(actor=actor, customer_ids=[survivor.pk])


def _open_tickets_locked(customer_ids: list[int]) -> None:
    """Lock the open tickets of ``customer_ids`` (locked by the caller) in ascending id order."""
    list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(customer_id__in=sorted(customer_ids), status__in=Ticket.OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _additions(survivor: Customer, merged: Customer) -> _Additions:
    numbers = list(survivor.phones.values_list("number", flat=True))
    emails = list(survivor.emails.values_list("address", flat=True))
    addresses = [tuple(row) for row in survivor.addresses.values_list(*_ADDRESS_LINES)]
    tag_ids = set(survivor.tags.values_list("pk", flat=True))
    have_numbers, have_emails, have_addresses = set(numbers), set(emails), set(addresses)
    return _Additions(
        had={
            "phones": len(numbers),
            "emails": len(emails),
            "addresses": len(addresses),
            "tags": len(tag_ids),
        },
        phones=[p for p in merged.phones.all() if p.number not in have_numbers],
        emails=[e for e in merged.emails.all() if e.address not in have_emails],
        addresses=[
            a
            for a in merged.addresses.all()
            if tuple(getattr(a, f) for f in _ADDRESS_LINES) not in have_addresses
        ],
        tag_ids=sorted(set(merged.tags.values_list("pk", flat=True)) - tag_ids),
    )


# The most of each list a customer may hold (the limits every write of a customer is held to,
# so that a customer the API answers in full can be sent back as read), and how a merge past
# one is refused. Every limit is well above one, so the plurals are always the right English.
_LIST_LIMITS = {
    "phones": (
        MAX_PHONES,
        gettext_noop(
            "After the merge the customer kept would have %(count)d phone numbers, and a "
            "customer may have at most %(limit)d: remove some from either customer first."
        ),
    ),
    "emails": (
        MAX_EMAILS,
        gettext_noop(
            "After the merge the customer kept would have %(count)d email addresses, and a "
            "customer may have at most %(limit)d: remove some from either customer first."
        ),
    ),
    "addresses": (
        MAX_ADDRESSES,
        gettext_noop(
            "After the merge the customer kept would have %(count)d addresses, and a "
            "customer may have at most %(limit)d: remove some from either customer first."
        ),
    ),
    "tags": (
        MAX_TAGS,
        gettext_noop(
            "After the merge the customer kept would have %(count)d tags, and a "
            "customer may have at most %(limit)d: remove some from either customer first."
        ),
    ),
}


def _check_list_limits(additions: _Additions) -> None:
    """Refuse a merge that adds to a list of the survivor's beyond its limit, naming each such
    list. A survivor past a limit already (saved before the limits held everywhere) may still
    take in a customer that adds nothing to that list: that does not make it worse."""
    errors = {}
    for name, (limit, message) in _LIST_LIMITS.items():
        added = additions.count(name)
        count = additions.had[name] + added
        if added and count > limit:
            errors[name] = _(message) % {"count": count, "limit": limit}
    if errors:
        raise ValidationError(errors)


def _copy_contact_details(survivor: Customer, additions: _Additions) -> dict[str, list]:
    copied: dict[str, list] = {"phones": [], "emails": [], "addresses": []}
    for phone in additions.phones:
        Phone.objects.create(
            customer=survivor,
            number=phone.number,
            display=phone.display,
            label=phone.label,
            is_primary=not additions.had["phones"] and not copied["phones"],
        )
        copied["phones"].append(phone.number)
    for email in additions.emails:
        Email.objects.create(
            customer=survivor,
            address=email.address,
            label=email.label,
            is_primary=not additions.had["emails"] and not copied["emails"],
        )
        copied["emails"].append(email.address)
    for address in additions.addresses:
        created = Address.objects.create(
            customer=survivor,
            label=address.label,
            **{f: getattr(address, f) for f in _ADDRESS_LINES},
        )
        copied["addresses"].append(created.pk)
    return copied


def _consent_values(consent: MarketingConsent) -> dict[str, Any]:
    return {
        "granted": consent.granted,
        "recorded_at": consent.recorded_at.isoformat(),
        "method": consent.method,
        "evidence": consent.evidence,
        "recorded_by_id": consent.recorded_by_id,
    }


def _take_newer_consents(survivor: Customer, merged: Customer, actor) -> dict[str, dict]:
    """Per channel, the survivor ends with the most recent consent of the two."""
    changed: dict[str, dict] = {}
    mine = {c.channel: c for c in survivor.consents.all()}
    for theirs in merged.consents.all():
        current = mine.get(theirs.channel)
        if current is not None and current.recorded_at >= theirs.recorded_at:
            continue
        new_values = _consent_values(theirs)
        changed[theirs.channel] = {
            "before": _consent_values(current) if current else None,
            "after": new_values,
        }
        MarketingConsent.objects.update_or_create(
            customer=survivor,
            channel=theirs.channel,
            defaults={
                "granted": theirs.granted,
                "recorded_at": theirs.recorded_at,
                "method": theirs.method,
                "evidence": theirs.evidence,
                "recorded_by_id": theirs.recorded_by_id,
            },
        )
    return changed


def _refresh_people(
    person_ids: list[int], *, actor, before: Customer, after: Customer, undo: bool = False
) -> None:
    """People who now belong to organisation ``after`` instead of ``before``: their company
    (and so their search text and keys) changed, and each gets an audit row saying so."""
    if not person_ids:
        return
    Customer.objects.filter(pk__in=person_ids).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    action = AuditEvent.Action.UNMERGE if undo else AuditEvent.Action.MERGE
    summary = summary_fields(
        Summary(
            gettext_noop("Back in “%(name)s” (#%(id)d): its merge was undone")
            if undo
            else gettext_noop("Now in “%(name)s” (#%(id)d): the organisations were merged"),
            {"name": after.name, "id": after.pk},
        )
    )
    now = timezone.now()
    audit_record_many(
        AuditEvent(
            occurred_at=now,
            actor=actor,
            action=action,
            object_type="customer",
            object_id=person_id,
            customer_id=person_id,
            **summary,
            changes={"organization_id": {"before": before.pk, "after": after.pk}},
        )
        for person_id in refresh_search_data_many(Customer.objects.filter(pk__in=person_ids))
    )


def _settle_pairs(survivor_id: int, merged_id: int, actor, now) -> dict[str, Any]:
    """The merged pair is decided; other open pairs of the merged customer now concern the
    survivor (or go, if the survivor already has that pair). Returns what was done to those
    others, for an undo: ``moved`` as [pair id, old left, old right], ``removed`` as the pairs'
    values."""
    done: dict[str, Any] = {"moved": [], "removed": []}
    low, high = sorted((survivor_id, merged_id))
    # A pair nobody queued stands for the merge only (its score is no engine's): an undo
    # scores it as the two customers are.
    done["created"] = not DuplicatePair.objects.filter(left_id=low, right_id=high).exists()
    DuplicatePair.objects.update_or_create(
        left_id=low,
        right_id=high,
        defaults={
            "status": DuplicatePair.Status.MERGED,
            "decided_at": now,
            "decided_by": actor,
        },
        create_defaults={
            "status": DuplicatePair.Status.MERGED,
            "decided_at": now,
            "decided_by": actor,
            "score": 1.0,
            "source": DuplicatePair.Source.SCAN,
            "details": {"manual": True},
        },
    )
    # Locked, so that a merge of the other customer at the same time waits and then sees the
    # pair as this one leaves it, instead of moving it again from what it read before.
    others = (
        DuplicatePair.objects.select_for_update()
        .filter(Q(left_id=merged_id) | Q(right_id=merged_id), status=DuplicatePair.Status.OPEN)
        .order_by("pk")
    )
    for pair in others:
        other = pair.right_id if pair.left_id == merged_id else pair.left_id
        low, high = sorted((survivor_id, other))
        if (
            other == survivor_id
            or DuplicatePair.objects.filter(left_id=low, right_id=high).exists()
        ):
            done["removed"].append(
                {
                    "left_id": pair.left_id,
                    "right_id": pair.right_id,
                    "score": pair.score,
                    "score_without_id_number": pair.score_without_id_number,
                    "source": pair.source,
                    "details": pair.details,
                    "found_at": pair.found_at.isoformat(),
                }
            )
            pair.delete()
        else:
            done["moved"].append([pair.pk, pair.left_id, pair.right_id])
            DuplicatePair.objects.filter(pk=pair.pk).update(left_id=low, right_id=high)
    return done


def _restore_pairs(done: dict[str, list]) -> None:
    """Undo what :func:`_settle_pairs` did to the merged customer's other open pairs, where
    nobody has decided them since."""
    for pk, left_id, right_id in done.get("moved", []):
        if DuplicatePair.objects.filter(left_id=left_id, right_id=right_id).exists():
            continue  # proposed again (or decided) since
        DuplicatePair.objects.filter(pk=pk, status=DuplicatePair.Status.OPEN).update(
            left_id=left_id, right_id=right_id
        )
    for values in done.get("removed", []):
        if not DuplicatePair.objects.filter(
            left_id=values["left_id"], right_id=values["right_id"]
        ).exists():
            DuplicatePair.objects.create(
                **{**values, "found_at": dt.datetime.fromisoformat(values["found_at"])}
            )


def _reopen_pair(survivor_id: int, merged_id: int, *, created: bool) -> None:
    """The undone merge's pair, open again in the review queue. One the merge made (two
    customers merged from a customer's page, not from the queue) is scored by the engine as
    the two now are, instead of keeping the certainty the merge stood for."""
    low, high = sorted((survivor_id, merged_id))
    values: dict[str, Any] = {"status": DuplicatePair.Status.OPEN, "decided_at": None}
    if created:
        records = stored_match_records([low, high])
        found = []
        if len(records) == 2:
            found = scored_with_current_model(records[low], [records[high]])
        if found:
            values.update(
                score=found[0].score,
                score_without_id_number=score_without(found[0].score, found[0].explanation),
                details={"fields": rounded_reasons(found[0].explanation)},
            )
    DuplicatePair.objects.filter(left_id=low, right_id=high).update(decided_by=None, **values)


def _links_split(details: dict[str, Any], survivor_pk: int) -> list[str]:
    """Why the undo would part rows linked to each other since the merge, one going back to the
    merged customer and the other staying: empty when nothing is.

    A ticket merged into another handed it its conversation, and a ticket merge keeps no list of
    the messages it moved and cannot be undone: parted, the customer's messages would stay on
    the other customer's ticket, read by whoever sees that one, and new emails to the merged
    ticket would be filed there too. An invoice for an order would bill one customer for
    another's order."""
    moved = details.get("moved", {})

    def going_back(model, label: str) -> QuerySet:
        return model._default_manager.filter(pk__in=moved.get(label, []), customer_id=survivor_pk)

    reasons = []
    # Locked: a ticket merge locks both its tickets, so one under way finishes first and is
    # seen here, and one after the undo finds them of two customers and is refused.
    tickets_back = list(
        going_back(Ticket, "service.ticket.customer")
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if tickets_back:
        parted = Ticket.objects.filter(
            (
                Q(pk__in=tickets_back, merged_into__customer_id=survivor_pk)
                & ~Q(merged_into_id__in=tickets_back)
            )
            | (
                Q(customer_id=survivor_pk, merged_into_id__in=tickets_back)
                & ~Q(pk__in=tickets_back)
            )
        ).select_related("merged_into")
        for ticket in parted.order_by("pk"):
            reasons.append(
                _(
                    "Ticket %(ticket)s was merged into ticket %(into)s since, and a ticket merge "
                    "cannot be undone: this merge can no longer be undone."
                )
                % {"ticket": ticket.number, "into": ticket.merged_into.number}
            )
    if moved.get("orders.order.customer"):
        # An invoice is issued with its customer locked, and the survivor is locked here: none
        # is issued on it while this looks.
        invoices = Invoice.objects.filter(
            customer_id=survivor_pk,
            order_id__in=going_back(Order, "orders.order.customer").values("pk"),
        ).exclude(pk__in=going_back(Invoice, "orders.invoice.customer").values("pk"))
        for invoice in invoices.order_by("pk"):
            reasons.append(
                _(
                    "Invoice %(invoice)s was issued since for order #%(order)d, which would go "
                    "back to the merged customer: this merge can no longer be undone."
                )
                % {"invoice": invoice.number, "order": invoice.order_id}
            )
    return reasons


@transaction.atomic
def customer_merge_undo(*, actor, merge_id: int) -> CustomerMerge:
    """Undo a merge: the merged customer comes back with everything the merge moved, and the
    survivor loses what the merge gave it, where nobody has changed that since. The pair goes
    back to the review queue, open: undoing says nothing about whether the two are one (whoever
    undid it may have kept the wrong record, or merged too soon); "not duplicates" is a
    decision of its own.

    The actor must be allowed to change both customers (the merged one as if it were not in
    the recycle bin) and have made the merge, or be a manager or administrator. It is refused
    once rows of the two were linked to each other since in a way it would part (a ticket merged
    into one of the other customer's, an invoice for an order that goes back): see
    :func:`_links_split`."""
    try:
        merge_pk = int(merge_id)
    except (TypeError, ValueError):
        raise CustomerMerge.DoesNotExist from None
    # The acting user before the merge and its customers, as a deactivation locks the leaver
    # and then what they hold: locking a customer first (the merged one, when its id is the
    # lower), this held what such a writer would wait for while waiting for the user it held.
    # One under way is waited for; whoever it made inactive undoes nothing. With them, in one
    # statement, the account manager of the customer the undo brings back (see below), and
    # whoever recorded the consents it puts back as they were: the database checks those keys
    # only as the undo commits, and one deleted since the merge (nothing named them once the
    # merge replaced their consent) failed it with a server error.
    merged_of = CustomerMerge.objects.filter(pk=merge_pk).values("merged_id")
    owner_id = Customer.objects.filter(pk__in=merged_of).values_list("owner_id", flat=True).first()
    consents = (
        CustomerMerge.objects.filter(pk=merge_pk).values_list("details", flat=True).first() or {}
    ).get("consents", {})
    recorders = [
        change["before"]["recorded_by_id"] for change in consents.values() if change["before"]
    ]
    users = key_share_users([actor.pk, owner_id, *recorders])
    active = {pk for pk, is_active in users.items() if is_active}
    if actor.pk not in active:
        raise ActorDeactivated
    merge = CustomerMerge.objects.select_for_update().get(pk=merge_pk)
    # The actor must be allowed to change the customer the undo brings back.
    within_reach = Customer.objects.filter(
        customer_scope(actor, CHANGE, deleted=True), pk=merge.merged_id
    ).exists()
    later = CustomerMerge.objects.filter(
        merged_id=merge.survivor_id, undone_at__isnull=True, merged_at__gt=merge.merged_at
    )
    merged_again = ValidationError(
        {"merge": _("The kept customer was merged again since; undo that merge first.")}
    )
    if merge.undone_at is None and later.exists():
        # The survivor is in the recycle bin now, so it cannot be checked like a live one.
        if not within_reach:
            raise Customer.DoesNotExist
        raise merged_again
    access_customer(actor, merge.survivor_id, VIEW)
    if not within_reach:
        raise PermissionDenied(
            _("The customer this merge would bring back is not yours to change.")
        )
    # The organisation of the customer brought back, shared (its other changes go ahead) before
    # the two, as a merge of organisations locks them and then their people: a move of it to
    # the recycle bin under way is waited for and then seen (below), and none can start until
    # this commits, when the person it would have to wait for is back.
    organisation_id = (
        Customer.objects.filter(pk=merge.merged_id)
        .values_list("organization_id", flat=True)
        .first()
    )
    _organisation_shared(organisation_id)
    # Locked in id order, as a merge locks them.
    for pk in sorted((merge.survivor_id, merge.merged_id)):
        if pk == merge.survivor_id:
            try:
                survivor = access_customer(actor, pk, CHANGE, for_update=True)
            except Customer.DoesNotExist:
                # Merged into another customer while this waited for it.
                if merge.undone_at is None and later.exists():
                    raise merged_again from None
                raise
        else:
            merged = Customer.objects.select_for_update().get(pk=pk)
    if not (actor.is_superuser or actor.role in DELETING_ROLES or merge.merged_by_id == actor.pk):
        raise PermissionDenied(_("Only who merged, a manager or an administrator may undo it."))
    if merge.undone_at is not None:
        raise ValidationError({"merge": _("This merge has already been undone.")})
    if merged.deleted_at is None:
        raise ValidationError({"merge": _("The merged customer has been restored already.")})
    if merged.organization_id != organisation_id:
        # Moved to another organisation (its own merged away) between the look above and the
        # lock: shared after the customers, out of the usual order, only in this case.
        _organisation_shared(merged.organization_id)
    # As a restore refuses a person whose organisation is in the recycle bin (see
    # ``customer_restore``): deleting an organisation waits until its people are gone, and the
    # person coming back would undo that order.
    organisation = Customer.objects.filter(
        pk=merged.organization_id, deleted_at__isnull=False
    ).first()
    if organisation is not None:
        # Named only to whoever may see it (as if it were not in the recycle bin): the
        # person's pages keep an organisation out of the actor's sight from them (see
        # ``organisations_in_sight``), and so does this.
        if Customer.objects.filter(
            customer_scope(actor, VIEW, deleted=True), pk=organisation.pk
        ).exists():
            refusal = _(
                "The merged customer's organisation “%(name)s” (#%(id)d) is in the recycle "
                "bin. Restore the organisation first, then undo the merge."
            ) % {"name": organisation.name, "id": organisation.pk}
        else:
            refusal = _(
                "The merged customer's organisation is in the recycle bin. An administrator "
                "must restore it first; then the merge can be undone."
            )
        raise ValidationError({"merge": refusal})

    details = merge.details
    people = list(
        Customer.objects.filter(
            pk__in=details.get("moved", {}).get("customers.customer.organization", []),
            organization_id=survivor.pk,
        ).values_list("pk", flat=True)
    )
    if people:
        out_of_reach = _out_of_reach(actor, Customer.objects.filter(pk__in=people))
        if out_of_reach:
            raise ValidationError(
                {
                    "merge": _(
                        "%(count)d people the merge moved are customers you may not change; "
                        "someone who may change them all must undo it."
                    )
                    % {"count": out_of_reach}
                }
            )
    # The account manager the merge gave the kept customer, unless another was chosen since:
    # it goes back to the pool, and hands over what it holds as a reassignment to the pool does
    # (below). Its open tickets and the merged customer's are locked first, in one ascending id
    # order, before those going back are (see ``customers_merge``).
    owner_filled = details.get("filled", {}).get("owner_id")
    owner_back = owner_filled is not None and survivor.owner_id == owner_filled["after"]
    if owner_back:
        _open_tickets_locked([survivor.pk, merged.pk])
    split = _links_split(details, survivor.pk)
    if split:
        raise ValidationError({"merge": split})
    now = timezone.now()
    survivor_before = customer_snapshot(survivor)
    kept_changes: list[str] = []
    for name, change in details.get("filled", {}).items():
        if name == "id_number":
            if survivor.id_number_hash == change["after"]:
                survivor.id_number_encrypted = survivor.id_number_masked = ""
                survivor.id_number_hash = ""
            continue
        if name == "custom_fields":
            values = dict(survivor.custom_fields)
            for key, value in change["after"].items():
                if values.get(key) == value:
                    values.pop(key)
            survivor.custom_fields = values
            continue
        if _jsonable(getattr(survivor, name)) == change["after"]:
            before = change["before"]
            if name == "birth_date" and before:
                before = dt.date.fromisoformat(before)
            setattr(survivor, name, before)
        else:
            kept_changes.append(name)
    # Rows moved on to another customer since the merge stay where they are: the audit row
    # counts those that went back, as the merge's counts those it moved.
    moved_back = 0
    contacts_back = False
    for model, field_name in _moving_relations():
        ids = details.get("moved", {}).get(f"{model._meta.label_lower}.{field_name}")
        if ids:
            back = _move(
                model._default_manager.filter(pk__in=ids, **{field_name: survivor.pk}),
                field_name,
                merged.pk,
            )
            moved_back += len(back)
            contacts_back = contacts_back or (model is Interaction and bool(back))
    copied = details.get("copied", {})
    survivor.phones.filter(number__in=copied.get("phones", [])).delete()
    survivor.emails.filter(address__in=copied.get("emails", [])).delete()
    survivor.addresses.filter(pk__in=copied.get("addresses", [])).delete()
    for channel, change in details.get("consents", {}).items():
        current = survivor.consents.filter(channel=channel).first()
        if current is None or _consent_values(current) != change["after"]:
            continue  # changed since the merge: the newer decision stands
        if change["before"] is None:
            current.delete()
        else:
            before = change["before"]
            MarketingConsent.objects.filter(pk=current.pk).update(
                granted=before["granted"],
                recorded_at=dt.datetime.fromisoformat(before["recorded_at"]),
                method=before["method"],
                evidence=before["evidence"],
                # Its recorder deleted since the merge (locked above, so not meanwhile): it
                # comes back recorded by nobody, since no row may name a user who has gone.
                recorded_by_id=before["recorded_by_id"]
                if before["recorded_by_id"] in users
                else None,
            )
    survivor.tags.remove(*details.get("tags_added", []))
    contacted = details.get("last_contacted_at")
    if contacted and _jsonable(survivor.last_contacted_at) == contacted["after"]:
        # Unless the survivor was contacted since, its last contact is its own again.
        survivor.last_contacted_at = (
            dt.datetime.fromisoformat(contacted["before"]) if contacted["before"] else None
        )
    if contacts_back:
        # Its last contact may have been one that went back (moved to a later moment since
        # the merge), and the one it had before the merge may be older than one it has had
        # since: the latest of the contacts it keeps. The undo's audit row tells of the
        # contacts that went (``moved_back``), as the merge's tells of those that came.
        survivor.last_contacted_at = latest_contact(survivor.pk)

    merged_changes: dict[str, Any] = {"merged_into": {"before": survivor.pk, "after": None}}
    # An account manager who left while the customer was merged away did not hand it over (a
    # deactivation hands over the customers in use only): it comes back to the unowned pool, as
    # a customer restored from the recycle bin does, not to someone nobody signs in as.
    if merged.owner_id != owner_id:
        # Given to someone else between the look above and the lock: locked after the
        # customer, out of the usual order, only in this case no service brings about.
        active |= key_share_active_users([merged.owner_id])
    if merged.owner_id is not None and merged.owner_id not in active:
        merged_changes["owner_id"] = {"before": merged.owner_id, "after": None}
        merged.owner_id = None
    if merged.external_id is None and details.get("filled", {}).get("external_id"):
        external_id = details["filled"]["external_id"]["after"]
        if survivor.external_id == external_id:
            survivor.external_id = None
        if not Customer.objects.filter(external_id=external_id).exclude(pk=survivor.pk).exists():
            merged.external_id = external_id
            merged_changes["external_id"] = {"before": None, "after": external_id}
    survivor.version = F("version") + 1
    survivor.updated_at = now
    survivor.save()
    survivor.refresh_from_db()
    if details.get("moved", {}).get(f"{Interaction._meta.label_lower}.customer"):
        # The merged customer's last contact was one of the contacts the merge took, which may
        # have moved to another moment (or on to another customer) since: the latest of those
        # it has back, not the one it had before the merge.
        merged.last_contacted_at = latest_contact(merged.pk)
    merged.deleted_at = None
    merged.version = F("version") + 1
    merged.updated_at = now
    # Its external id was found free above, but someone may have saved another customer with
    # it since, not yet committed then: the database's unique rule makes this wait for them
    # and then fail. Refused, the transaction undoes everything written so far; undone again,
    # the check finds the id taken and the customer comes back without it.
    save_unless_taken(
        merged,
        "external_id",
        _(
            "Another customer was given the external id “%(value)s” the merged customer had, as "
            "this merge was being undone: nothing was undone. Undo it again to bring the "
            "customer back without that external id."
        )
        % {"value": merged.external_id},
    )
    merged.refresh_from_db()
    refresh_search_data(survivor)
    refresh_search_data(merged)
    _refresh_people(people, actor=actor, before=survivor, after=merged, undo=True)
    # Its tickets are back on it: whoever took one while it was on the survivor, or holds it
    # as the merged customer goes to the pool, may not see the customer as it comes back, and
    # those tickets go back to the queue, each on record, as a restore's do.
    tickets_customers_release(actor=actor, customer_ids=[merged.pk])
    if owner_back:
        # Back to the account manager it had before the merge (none): its open follow-ups are
        # closed and its open tickets leave whoever saw it only through the one it loses.
        customers_owner_changed(
            actor=actor, customer_ids=[survivor.pk], to_owner_id=survivor.owner_id
        )
    # Its open follow-up, back on it, goes back to its account manager (given to the kept
    # customer's by the merge); back to the pool, which has nobody to do it, it is closed, as a
    # restore to the pool does: each on record.
    follow_ups_follow_customers(actor=actor, customer_ids=[merged.pk], to_owner_id=merged.owner_id)

    merge.undone_at, merge.undone_by = now, actor
    merge.save(update_fields=["undone_at", "undone_by"])
    _reopen_pair(survivor.pk, merged.pk, created=details.get("pairs", {}).get("created", False))
    _restore_pairs(details.get("pairs", {}))
    changes = {
        **diff_values(survivor_before, customer_snapshot(survivor), sensitive=SENSITIVE_FIELDS),
        "merged_from": {"before": merged.pk, "after": None},
        "moved_back": {"before": None, "after": moved_back},
    }
    if kept_changes:
        changes["kept"] = {"before": None, "after": sorted(kept_changes)}
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UNMERGE,
        object_type="customer",
        object_id=survivor.pk,
        customer_id=survivor.pk,
        summary=Summary(
            gettext_noop("Merge with “%(name)s” (#%(id)d) undone"),
            {"name": merged.name, "id": merged.pk},
        ),
        changes=changes,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UNMERGE,
        object_type="customer",
        object_id=merged.pk,
        customer_id=merged.pk,
        summary=Summary(
            gettext_noop("Restored from the merge into “%(name)s” (#%(id)d)"),
            {"name": survivor.name, "id": survivor.pk},
        ),
        changes=merged_changes,
    )
    return merge


def _organisation_shared(organisation_id: int | None) -> None:
    """Lock the organisation FOR SHARE (PostgreSQL) until the transaction ends: its move to the
    recycle bin waits, while a person's key naming it, checked FOR KEY SHARE, does not."""
    if organisation_id is not None:
        shared(Customer.objects.filter(pk=organisation_id).values_list("pk"))


def _organisation_to_take_shared(merged_pk: int | None) -> int | None:
    """Share the organisation of the customer ``merged_pk`` (read without a lock), which the
    survivor of their merge takes when it has none, before the merge locks the two: organisations
    are locked before their people (``customers_lock_for_hand_over``), as the undo has it. Taken
    after them, by the database's check of the survivor's new key, it waited for a hand-over of
    the organisation that waited for the merged person the merge held, a deadlock. Returns the
    organisation's id, for :func:`_locked_after_organisation_to_take` to check once it holds the
    person. No customer to merge (``None``), nothing is shared."""
    if merged_pk is None:
        return None
    organisation_id = (
        Customer.objects.filter(pk=merged_pk).values_list("organization_id", flat=True).first()
    )
    _organisation_shared(organisation_id)
    return organisation_id


class _OrganisationMoved(Exception):
    """The customer to merge, once locked, is in another organisation than the one shared before
    locking them, or is another customer than the one whose organisation was shared
    (``another_customer``)."""

    def __init__(self, *, another_customer: bool):
        super().__init__()
        self.another_customer = another_customer


def _moved_refusal(*, another_customer: bool) -> str:
    # A direct merge names its customer itself: only their organisation can change.
    return _(
        "The customer to merge was just moved to another organisation or out of one. Try again."
    )


def _pair_changed_refusal(*, another_customer: bool) -> str:
    if another_customer:
        # Moved to the customer one of its own was merged into, or back by that merge's undoing.
        return _(
            "This pair was just changed to name another customer: one of its customers was "
            "merged into another, or such a merge was undone. Nothing was merged; look at the "
            "pair again."
        )
    return _(
        "The other customer of this pair was just moved to another organisation or out of one. "
        "Nothing was merged; try again."
    )


Locked = TypeVar("Locked", bound=tuple)


def _locked_after_organisation_to_take(
    to_merge: Callable[[], int | None],
    lock: Callable[[], Locked],
    merging: Callable[[Locked], Customer | None],
    refusal: Callable[..., str] = _moved_refusal,
) -> Locked:
    """What ``lock()`` locks (a tuple of rows), once the organisation of the customer to merge,
    ``to_merge()`` as read without a lock, is shared before it. ``merging`` names, among the rows
    locked, the customer to merge (``None`` if the merge is to be refused as it stands).

    The organisation is read before the person is locked, so the person may be moved to
    another one in between; the survivor would then take that one, locked only after the people
    (by the check of its new key), which is the deadlock the sharing is there to avoid. The same
    goes for a pair of the review queue that names another customer once it is locked (the one
    read was merged into a third customer meanwhile, and the pair moved to that one). So the
    customer to merge and their organisation are checked once they are held: changed, the locks
    ``lock()`` took are let go with the share of the organisation left (their savepoint rolled
    back: PostgreSQL frees a row lock taken since) and the organisation of the customer now to
    merge is shared before taking them again. Changed once more, the merge is refused rather
    than chasing them, in the words ``refusal(another_customer=…)`` gives for the last change
    seen (another customer to merge, or their organisation moved)."""
    moved = _OrganisationMoved(another_customer=False)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                # Shared in the savepoint too: moved, the person has left that organisation, and
                # its share, kept while the new one is shared, could be taken out of order (a
                # hand-over of both, in ascending order, holding the new one and waiting for it).
                merged_pk = to_merge()
                organisation_id = _organisation_to_take_shared(merged_pk)
                locked = lock()
                held = merging(locked)
                if held is not None and (held.pk, held.organization_id) != (
                    merged_pk,
                    organisation_id,
                ):
                    raise _OrganisationMoved(another_customer=held.pk != merged_pk)
                return locked
        except _OrganisationMoved as exc:
            moved = exc
    raise ValidationError({"merged_id": refusal(another_customer=moved.another_customer)})


def _already_decided() -> ValidationError:
    return ValidationError({"pair": _("This pair has already been decided.")})


class PairMovedError(ValidationError):
    """A pair that names another customer than the caller saw in ``field`` (``left_id`` or
    ``right_id``): one of its customers was merged into a third since. Said as a decided pair,
    which it is for the caller; ``field`` lets the API name the input."""

    def __init__(self, field: str):
        super().__init__(_already_decided().error_dict)
        self.field = field


def _lock_pair_to_decide(actor, pair_id: int) -> tuple[DuplicatePair, Customer, Customer]:
    """An open pair of the review queue and its two customers, all locked.

    The customers are locked before the pair, as a merge locks them before it settles their
    pairs: locking the pair first, a decision and a merge of one of its customers each held
    what the other waited for, and the database broke one of them off as a deadlock. A pair
    that names other customers once they are locked (one was merged into a third customer,
    to which the merge moved the pair) is refused too: the decision was not made about that
    customer."""
    pair = DuplicatePair.objects.get(pk=pair_id)
    try:
        left, right = _lock_pair(actor, pair.left_id, pair.right_id)
    except Customer.DoesNotExist:
        # Merged away while this waited for it, or before.
        again = DuplicatePair.objects.filter(pk=pair.pk).first()
        if again is None or (again.status, again.left_id, again.right_id) != (
            DuplicatePair.Status.OPEN,
            pair.left_id,
            pair.right_id,
        ):
            raise _already_decided() from None
        raise
    locked = DuplicatePair.objects.select_for_update().filter(pk=pair.pk).first()
    if locked is None or (locked.status, locked.left_id, locked.right_id) != (
        DuplicatePair.Status.OPEN,
        left.pk,
        right.pk,
    ):
        raise _already_decided()
    return locked, left, right


def _other_of(pair: tuple[int, int] | None, customer_id: int) -> int | None:
    """The other customer of ``pair`` (left, right) than ``customer_id``, if it is one of them."""
    if pair is None or customer_id not in pair:
        return None
    return pair[0] if customer_id == pair[1] else pair[1]


@transaction.atomic
def duplicate_pair_merge(
    *,
    actor,
    pair_id: int,
    survivor_id: int,
    survivor_version: int | None = None,
    merged_version: int | None = None,
    merged_id: int | None = None,
) -> CustomerMerge:
    """Merge a possible duplicate from the review queue, keeping ``survivor_id`` (one of the
    pair). A pair someone decided meanwhile (say, marked as two different customers) is not
    merged: that decision does not change either customer's version, so only the pair tells.

    ``merged_id`` is the other customer as the caller saw the pair. A pair moves to the
    survivor when one of its customers is merged into a third one: the pair then names that
    third customer, which nobody compared, and whose version may even be the one the caller
    read of the first. Such a pair is refused with :class:`StaleVersionError`."""

    # The organisation the survivor may take is shared before the pair's two are locked to
    # decide it (see _locked_after_organisation_to_take): that of the other customer the pair
    # names, read again on each try, for the pair may name another one once it is locked.
    def to_merge() -> int | None:
        seen = DuplicatePair.objects.filter(pk=pair_id).values_list("left_id", "right_id").first()
        return _other_of(seen, survivor_id)

    def merging(locked: tuple[DuplicatePair, Customer, Customer]) -> Customer | None:
        pair, left, right = locked
        return {pair.left_id: right, pair.right_id: left}.get(survivor_id)

    # The users before the customers, as ``customers_merge`` locks them: the actor, the
    # account manager of the customer to merge, whom the kept customer may take, and the kept
    # customer's, who may take the other's open follow-up.
    seen_merged = to_merge()
    owners = Customer.objects.filter(
        pk__in=[survivor_id] if seen_merged is None else [survivor_id, seen_merged]
    ).values_list("owner_id", flat=True)
    key_share_active_users([actor.pk, *owners])
    # Refused after two changes, in the pair's words: the user merged a pair, not a customer
    # they named, and the pair may have come to name another customer, not moved anyone.
    pair, left, right = _locked_after_organisation_to_take(
        to_merge, lambda: _lock_pair_to_decide(actor, pair_id), merging, _pair_changed_refusal
    )
    if survivor_id not in (pair.left_id, pair.right_id):
        raise ValidationError({"keep": _("Choose which customer to keep.")})
    other = right if survivor_id == pair.left_id else left
    if merged_id is not None and merged_id != other.pk:
        raise StaleVersionError(other.version, field="merged_version")
    merged_id = other.pk
    return customers_merge(
        actor=actor,
        survivor_id=survivor_id,
        merged_id=merged_id,
        survivor_version=survivor_version,
        merged_version=merged_version,
    )


@transaction.atomic
def duplicate_pair_reject(
    *, actor, pair_id: int, customer_ids: tuple[int, int] | None = None
) -> DuplicatePair:
    """Say that a possible duplicate is two different customers; it is not proposed again.
    The actor must be allowed to change both customers. ``customer_ids`` (left, right) are the
    customers as the caller saw the pair: one that names another customer since (see
    :func:`duplicate_pair_merge`) is refused as decided, for nobody compared that one."""
    pair, left, right = _lock_pair_to_decide(actor, pair_id)
    if customer_ids is not None:
        for field, seen, now in zip(
            ("left_id", "right_id"), customer_ids, (left, right), strict=True
        ):
            if seen != now.pk:
                raise PairMovedError(field)
    before = pair.status
    pair.status = DuplicatePair.Status.REJECTED
    pair.decided_at = timezone.now()
    pair.decided_by = actor
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    # The decision is about both customers, so each one's history says it, naming the other
    # (the history hides that name from readers who may not see the other customer).
    for customer, other in ((left, right), (right, left)):
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="duplicate_pair",
            object_id=pair.pk,
            customer_id=customer.pk,
            summary=Summary(
                gettext_noop("Not a duplicate of “%(name)s” (#%(id)d)"),
                {"name": other.name, "id": other.pk},
            ),
            changes={
                "status": {"before": before, "after": pair.status},
                "not_duplicate_of": {"before": None, "after": other.pk},
            },
        )
    return pair


def duplicate_pairs_queue_for_restored(customer: Customer) -> None:
    """Put a restored customer in the duplicate review queue with the customers it may be:
    while it was in the recycle bin, nothing compared it with anyone, and someone may since
    have been entered again under the same name, address or number. Those the matching
    engine scores as likely, and any that now has one of its email addresses or numbers (as
    intake and the customer form take either to name one customer), are queued, as a scan
    would; a pair decided before is left as decided."""
    customer_id = customer.pk
    record = stored_match_records([customer_id]).get(customer_id)
    if record is None:
        return
    scores = {
        found.customer_id: (found.score, found.explanation)
        for found in likely_duplicates(
            record, exclude_ids=[customer_id], threshold=REVIEW_THRESHOLD, limit=20
        )
    }
    live = Customer.objects.filter(deleted_at__isnull=True, party_type=customer.party_type).exclude(
        pk=customer_id
    )
    sharing = set(
        live.filter(
            emails__address__in=Email.objects.filter(customer_id=customer_id).values("address")
        ).values_list("pk", flat=True)[:20]
    ) | set(
        live.filter(
            phones__number__in=Phone.objects.filter(customer_id=customer_id).values("number")
        ).values_list("pk", flat=True)[:20]
    )
    pairs = []
    for other_id in sorted(set(scores) | sharing):
        score, explanation = scores.get(other_id, (REVIEW_THRESHOLD, []))
        low, high = sorted((customer_id, other_id))
        pairs.append(
            DuplicatePair(
                left_id=low,
                right_id=high,
                score=max(score, REVIEW_THRESHOLD),
                # One sharing an email address or a number is as likely to whoever may not
                # see ID numbers; one the engine found, only by the rest of its evidence.
                score_without_id_number=max(
                    score_without(score, explanation),
                    REVIEW_THRESHOLD if other_id in sharing else 0.0,
                ),
                source=DuplicatePair.Source.RESTORE,
                details={"fields": rounded_reasons(explanation), "restored": customer_id},
            )
        )
    DuplicatePair.objects.bulk_create(pairs, ignore_conflicts=True)
