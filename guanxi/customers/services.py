"""Writes to customer data. Each service takes the acting user, checks what they may do through
the visibility rule, writes, and records the audit row, all in one transaction: a refused or
failed write leaves nothing behind."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.accounts.roles import DELETING_ROLES, REASSIGNING_ROLES
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import (
    SENSITIVE_PLACEHOLDER,
    StaleSettingError,
    audit_record,
    audit_record_many,
    diff_values,
    setting_save,
    settings_delete,
)
from guanxi.audit.summaries import Summary
from guanxi.core.bulk import update as bulk_update
from guanxi.core.crypto import decrypt_text, encrypt_text, lookup_hash
from guanxi.core.locking import ActorDeactivated, key_share_active_users
from guanxi.core.masking import mask_id_number, mask_phone, texts_as_read
from guanxi.core.unique import save_unless_taken
from guanxi.dedup.keys import refresh_match_keys, remove_match_keys
from guanxi.dedup.models import CustomerMerge

from .models import (
    Address,
    Customer,
    CustomFieldDefinition,
    Email,
    MarketingConsent,
    Phone,
    Tag,
)
from .search import build_search_text
from .selectors import access_customer, tag_names_by_customer
from .validation import CleanCustomerData, clean_customer_data, external_id_taken
from .visibility import CHANGE, VIEW, can_create_customers, can_restore_customers

SENSITIVE_FIELDS = ("id_number",)
# The customer's own fields recorded in its audit history (besides the related rows).
AUDITED_FIELDS = (
    "party_type",
    "name",
    "organization_id",
    "company",
    "job_title",
    "kind",
    "relationship_level",
    "lifecycle_stage",
    "industry",
    "region",
    "source_channel",
    "owner_id",
    "birth_date",
    "website",
    "notes",
    "external_id",
)


class StaleVersionError(Exception):
    """The customer changed since the caller read it; their update would overwrite that change.
    ``field`` names the input that carried the stale version (``merged_version`` when it is
    the other customer of a merge)."""

    def __init__(self, current_version: int, *, field: str = "version"):
        super().__init__(f"The customer is at version {current_version}.")
        self.current_version = current_version
        self.field = field


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    """The audited state of a customer. Phones appear masked and the ID number only as a hash,
    so the history page never discloses more than the masked profile does."""
    if not customer.pk:
        return snapshot_of(customer)
    return snapshot_of(
        customer,
        phones=customer.phones.all(),
        emails=customer.emails.all(),
        addresses=customer.addresses.all(),
        tags=[t.name for t in customer.tags.all()],
        consents=customer.consents.all(),
    )


def snapshot_of(
    customer: Customer,
    *,
    phones: Iterable[Phone] | None = None,
    emails: Iterable[Email] | None = None,
    addresses: Iterable[Address] | None = None,
    tags: Iterable[str] | None = None,
    consents: Iterable[MarketingConsent] | None = None,
) -> dict[str, Any]:
    """:func:`customer_snapshot` from the given related rows rather than the database's (the
    importer knows them already, for thousands of customers at once)."""
    snapshot: dict[str, Any] = {name: _jsonable(getattr(customer, name)) for name in AUDITED_FIELDS}
    snapshot["id_number"] = customer.id_number_hash or None
    snapshot["custom_fields"] = dict(customer.custom_fields or {})
    if phones is not None:
        snapshot["phones"] = [f"{p.label}:{mask_phone(p.display)}" for p in phones]
        snapshot["emails"] = [f"{e.label}:{e.address}" for e in emails or ()]
        snapshot["addresses"] = [f"{a.label}:{a}" for a in addresses or ()]
        snapshot["tags"] = sorted(tags or ())
        # The evidence is what proves the consent, so a change of it alone is a change too;
        # so is its moment, to the second (``_write_consents`` keeps a moment within the stored
        # second as stored), in the server's time zone as pages show times.
        snapshot["consents"] = {
            c.channel: f"{'granted' if c.granted else 'refused'} ({c.method}, "
            f"{timezone.localtime(c.recorded_at):%Y-%m-%d %H:%M:%S}"
            f"{f', {c.evidence}' if c.evidence else ''})"
            for c in consents or ()
        }
    return snapshot


def blind_id_number_change(
    changes: dict[str, Any], *, id_number: str | None, may_view_sensitive: bool
) -> dict[str, Any]:
    """``changes`` with the ID number recorded as changed whenever someone who may not see ID
    numbers in full gave one, even the number already stored.

    Such users may set an ID number (they may know it from the customer's card), but the audit
    row they can read would otherwise leave the number out when it equals the stored one and
    name it when it does not, which answers whether a guessed number is the customer's. Their
    right guess and their wrong guess now read the same; whoever may see the number in full
    gains nothing from the guess and keeps the exact record."""
    if id_number and not may_view_sensitive and "id_number" not in changes:
        changes = dict(
            sorted(
                {
                    **changes,
                    "id_number": {"before": SENSITIVE_PLACEHOLDER, "after": SENSITIVE_PLACEHOLDER},
                }.items()
            )
        )
    return changes


def _apply_id_number(customer: Customer, value: str | None) -> None:
    if value is None:
        return
    if value:
        customer.id_number_encrypted = encrypt_text(value)
        customer.id_number_masked = mask_id_number(value)
        customer.id_number_hash = lookup_hash(value)
    else:
        customer.id_number_encrypted = customer.id_number_masked = customer.id_number_hash = ""


def _write_nested(customer: Customer, clean: CleanCustomerData, actor) -> None:
    if clean.phones is not None:
        _write_phones(customer, clean.phones)
    if clean.emails is not None:
        customer.emails.all().delete()
        Email.objects.bulk_create(Email(customer=customer, **e) for e in clean.emails)
    if clean.addresses is not None:
        customer.addresses.all().delete()
        Address.objects.bulk_create(Address(customer=customer, **a) for a in clean.addresses)
    if clean.tags is not None:
        tags = [Tag.objects.get_or_create(name=name)[0] for name in clean.tags]
        customer.tags.set(tags)
    if clean.consents:
        _write_consents(customer, clean.consents, actor)


def _write_consents(customer: Customer, consents: list[dict[str, Any]], actor) -> None:
    """Store the consents given, each recorded by ``actor`` at the moment given or now. One
    sent as it is stored (the same decision, method and evidence, at the stored moment to the
    second, or none) is left alone: who recorded it and when are the decision's, and the audit
    row, which compares decisions and their moments to the second, would not say they had
    been taken from them. (The API gives moments to the millisecond, so a consent sent back
    as read is one of these.)"""
    stored = {c.channel: c for c in customer.consents.all()}
    now = timezone.now()
    for consent in consents:
        current = stored.get(consent["channel"])
        if (
            current is not None
            and (current.granted, current.method, current.evidence)
            == (consent["granted"], consent["method"], consent["evidence"])
            and (
                consent["recorded_at"] is None
                or _to_the_second(consent["recorded_at"]) == _to_the_second(current.recorded_at)
            )
        ):
            continue
        MarketingConsent.objects.update_or_create(
            customer=customer,
            channel=consent["channel"],
            defaults={
                "granted": consent["granted"],
                "method": consent["method"],
                "evidence": consent["evidence"],
                "recorded_at": consent["recorded_at"] or now,
                "recorded_by": actor,
            },
        )


def _to_the_second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def _write_phones(customer: Customer, phones) -> None:
    """Make the customer's phones those given. A number kept stays the same row, its label and
    primary flag brought up to date: the edit form and the API name a masked number by its id
    (two numbers can share a mask), and an id that changed with every save would no longer
    name it for whoever saves next from what they read before."""
    stored: dict[str, list[Phone]] = defaultdict(list)
    for phone in customer.phones.order_by("pk"):
        stored[phone.number].append(phone)
    kept: list[int] = []
    changed: list[Phone] = []
    new: list[Phone] = []
    for item in phones:
        values = {
            "display": item.parsed.display,
            "label": item.label,
            "is_primary": item.is_primary,
        }
        same_number = stored.get(item.parsed.e164)
        if not same_number:
            new.append(Phone(customer=customer, number=item.parsed.e164, **values))
            continue
        phone = same_number.pop(0)
        kept.append(phone.pk)
        if any(getattr(phone, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(phone, name, value)
            changed.append(phone)
    customer.phones.exclude(pk__in=kept).delete()
    if changed:
        Phone.objects.bulk_update(changed, ["display", "label", "is_primary"])
    Phone.objects.bulk_create(new)


def refresh_search_data(customer: Customer) -> None:
    """Rebuild what search and duplicate detection find a customer by (its search text and
    blocking keys) after its names, contact details or addresses changed."""
    _refresh_search_text(customer)
    refresh_match_keys([customer.pk])


def search_text_of(
    customer: Customer,
    *,
    phones: Iterable[Phone] | None = None,
    emails: Iterable[Email] | None = None,
    tags: Iterable[str] | None = None,
) -> str:
    """The search text of a stored customer: from the related rows given (the importer has
    them in hand), else from its own (prefetched, or read)."""
    return build_search_text(
        name=customer.name,
        company=customer.company or "",
        organisation=customer.organization.name if customer.organization_id else "",
        phones=[
            (p.number, p.display) for p in (customer.phones.all() if phones is None else phones)
        ],
        emails=[e.address for e in (customer.emails.all() if emails is None else emails)],
        tags=[t.name for t in customer.tags.all()] if tags is None else tags,
        external_id=customer.external_id,
        person=customer.party_type == Customer.PartyType.PERSON,
    )


def _refresh_search_text(customer: Customer) -> None:
    customer.search_text = search_text_of(customer)
    Customer.objects.filter(pk=customer.pk).update(search_text=customer.search_text)


def refresh_search_data_many(customers: QuerySet[Customer]) -> list[int]:
    """:func:`refresh_search_data` for many customers at once, in a few statements however many
    they are. They are locked (in :data:`CUSTOMER_LOCK_ORDER`, as everything changing several
    customers locks them) before what their search text is made of is read: someone adding a
    phone to one meanwhile is waited for, and the phone kept. Returns their ids."""
    people = list(
        customers.select_for_update(of=("self",))
        .order_by(*CUSTOMER_LOCK_ORDER)
        .select_related("organization")
        .prefetch_related("phones", "emails", "tags")
    )
    rewritten = []
    for person in people:
        search_text = search_text_of(person)
        if search_text != person.search_text:
            person.search_text = search_text
            rewritten.append(person)
    bulk_update(rewritten, ["search_text"])
    refresh_match_keys([person.pk for person in people])
    return [person.pk for person in people]


def refresh_people_of(organisation_ids: Iterable[int]) -> list[int]:
    """Rebuild what the people of renamed organisations are found by (their company's name
    too); returns their ids."""
    return refresh_search_data_many(
        Customer.objects.filter(
            organization_id__in=sorted(set(organisation_ids)), deleted_at__isnull=True
        )
    )


@transaction.atomic
def customer_create_unattended(*, data: Mapping[str, Any]) -> Customer:
    """A customer who introduced themselves — through the public service form or an email to
    the service desk — with no member of staff creating them: they join the unowned pool (no
    account manager) and the audit row has no actor (its origin says where it came from).
    Only name, phones and emails are taken."""
    allowed = {"name", "phones", "emails", "source_channel"}
    clean = clean_customer_data(
        {**{k: v for k, v in data.items() if k in allowed}, "owner_id": None},
        actor=None,
        instance=None,
    )
    now = timezone.now()
    customer = Customer(
        **clean.scalars, custom_fields=clean.custom_fields or {}, created_at=now, updated_at=now
    )
    customer.save()
    _write_nested(customer, clean, None)
    refresh_search_data(customer)
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary=customer.name,
        changes=diff_values({}, customer_snapshot(customer), sensitive=SENSITIVE_FIELDS),
    )
    return customer


def _lock_organisation(data: Mapping[str, Any]) -> None:
    """Lock the organisation ``data`` puts a person in, before that person and before the check
    that it exists.

    A merge of that organisation under way (it locks both organisations, then moves their
    people) is waited for, and the check then finds it gone: the person is refused as for no
    such organisation instead of being linked to the one the merge leaves in the recycle bin,
    after it moved the organisation's people. Organisation first, person second, as the merge
    has it, so the two cannot deadlock."""
    org_id = data.get("organization_id")
    if isinstance(org_id, int) and not isinstance(org_id, bool) and 0 < org_id < 2**63:
        list(Customer.objects.select_for_update().filter(pk=org_id).values_list("pk"))


@transaction.atomic
def customer_create(*, actor, data: Mapping[str, Any]) -> Customer:
    """Create a customer with its phones, emails, addresses, tags, consents and custom fields.

    The creator becomes the account manager unless ``owner_id`` says otherwise (and they may
    assign that owner)."""
    if not can_create_customers(actor):
        raise PermissionDenied(_("You may not create customers."))
    # The owner named and the creator, who is the default owner and whom the audit row names,
    # in one statement: locked one after the other, a creator deactivated with the named owner
    # as their successor held the successor the deactivation waited for while the database
    # waited for the creator it held, as this committed.
    if actor.pk not in key_share_active_users([data.get("owner_id"), actor.pk]):
        raise ActorDeactivated
    _lock_organisation(data)
    clean = clean_customer_data(data, actor=actor, instance=None)
    now = timezone.now()
    customer = Customer(
        **clean.scalars,
        custom_fields=clean.custom_fields or {},
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _apply_id_number(customer, clean.id_number)
    save_unless_taken(customer, "external_id", external_id_taken())
    _write_nested(customer, clean, actor)
    refresh_search_data(customer)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary=customer.name,
        changes=diff_values({}, customer_snapshot(customer), sensitive=SENSITIVE_FIELDS),
    )
    return customer


@transaction.atomic
def customer_update(
    *, actor, customer_id: int, expected_version: int, data: Mapping[str, Any]
) -> Customer:
    """Change the given fields of a customer the actor may change.

    ``expected_version`` is the version the caller based their edit on; if someone else saved
    in between, :class:`StaleVersionError` is raised and nothing is written.
    """
    # With the actor, in one statement (see ``customer_create``); ``access_customer`` then
    # refuses an actor deactivated meanwhile.
    key_share_active_users([data.get("owner_id"), actor.pk])
    _lock_organisation(data)
    customer = access_customer(actor, customer_id, CHANGE, for_update=True)
    if customer.version != expected_version:
        raise StaleVersionError(customer.version)
    before = customer_snapshot(customer)
    data = _notes_as_read(actor, customer, data)
    clean = clean_customer_data(data, actor=actor, instance=customer)
    for name, value in clean.scalars.items():
        setattr(customer, name, value)
    if clean.custom_fields is not None:
        customer.custom_fields = clean.custom_fields
    _apply_id_number(customer, clean.id_number)
    customer.version = F("version") + 1
    customer.updated_at = timezone.now()
    save_unless_taken(customer, "external_id", external_id_taken())
    customer.refresh_from_db(fields=["version"])
    _write_nested(customer, clean, actor)
    refresh_search_data(customer)
    if customer.is_organization and before["name"] != customer.name:
        refresh_people_of([customer.pk])
    if customer.owner_id != before["owner_id"]:
        # A new account manager chosen here is a reassignment like ``customers_reassign``'s.
        customers_owner_changed(
            actor=actor, customer_ids=[customer.pk], to_owner_id=customer.owner_id
        )
    # Prefetch caches, if any, describe the old state.
    customer = Customer.objects.get(pk=customer.pk)
    changes = blind_id_number_change(
        diff_values(before, customer_snapshot(customer), sensitive=SENSITIVE_FIELDS),
        id_number=clean.id_number,
        may_view_sensitive=actor.may_view_sensitive(),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary=customer.name,
        changes=changes,
    )
    return customer


def _notes_as_read(actor, customer: Customer, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the notes held to what the actor could read of them: the form and the API
    show whoever sees the card's numbers masked the numbers typed into the notes masked too,
    and notes sent back as read must not write the stars over the numbers
    (:func:`~guanxi.core.masking.texts_as_read`). Notes changed around such a number are
    refused beside the field, with whatever else the data gets wrong."""
    errors: dict[str, list[str]] = {}
    data = texts_as_read(actor, customer, data, ("notes",), errors)
    if errors:
        try:
            clean_customer_data(data, actor=actor, instance=customer)
        except ValidationError as invalid:
            errors = {**invalid.message_dict, **errors}
        raise ValidationError(errors)
    return data


@transaction.atomic
def customer_delete(*, actor, customer_id: int, expected_version: int | None = None) -> None:
    """Move a customer to the recycle bin: it disappears for everyone but keeps its history,
    and an administrator can restore it."""
    # Visibility first, so that a customer out of sight stays "not found" for everyone.
    customer = access_customer(actor, customer_id, CHANGE, for_update=True)
    if not (actor.is_superuser or actor.role in DELETING_ROLES):
        raise PermissionDenied(_("You may not delete customers."))
    if expected_version is not None and customer.version != expected_version:
        raise StaleVersionError(customer.version)
    if customer.is_organization and customer.people.filter(deleted_at__isnull=True).exists():
        raise ValidationError(
            {"organization": _("Move or delete this organisation's people first.")}
        )
    _refuse_with_open_tickets(customer)
    before = customer_snapshot(customer)
    Customer.objects.filter(pk=customer.pk).update(
        deleted_at=timezone.now(), version=F("version") + 1, updated_at=timezone.now()
    )
    remove_match_keys([customer.pk])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary=customer.name,
        changes=diff_values(before, {}, sensitive=SENSITIVE_FIELDS),
    )


# Open tickets named in the refusal to bin their customer; more are summed up.
_OPEN_TICKETS_NAMED = 10


def _refuse_with_open_tickets(customer: Customer) -> None:
    """Refuse to bin ``customer`` (locked by the caller) while it has open tickets, naming
    them. In the recycle bin the customer and its tickets are seen by nobody, so an open ticket
    would keep its service-level clock running where no one can answer the customer, and the
    sweep would escalate it to no one. Refused rather than closed on the way: closing them
    would end, unseen, requests a real person is waiting on (a customer binned by mistake, or
    a duplicate that should have been merged, which takes its tickets along), and a restore
    could not tell which tickets to open again. Whoever bins the customer resolves or closes
    them first, each with its reason on record, as an organisation's people go first.

    The customer is locked before its tickets are read, as everything opening a ticket or
    changing one, by a colleague or by the customer writing back, locks the customer first
    (FOR UPDATE to open one, FOR SHARE to change one): none opens or reopens between this look
    and the commit, and once the customer is binned they are refused. The customer writing back
    afterwards starts a new request rather than reopening one
    (``guanxi.service.intake.customer_wrote_again``); a ticket left open on a binned customer
    all the same (one reopened as it was binned, before the customer's messages locked it) is
    left alone by the service-level sweep (``guanxi.service.sweep``) until it is restored."""
    from guanxi.service.models import Ticket

    open_ids = list(
        Ticket.objects.filter(
            customer_id=customer.pk,
            status__in=Ticket.OPEN_STATUSES,
            merged_into__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[: _OPEN_TICKETS_NAMED + 1]
    )
    if not open_ids:
        return
    numbers = ", ".join(Ticket(pk=pk).number for pk in open_ids[:_OPEN_TICKETS_NAMED])
    if len(open_ids) > _OPEN_TICKETS_NAMED:
        numbers += ", …"
    raise ValidationError(
        {
            "tickets": _(
                "Resolve or close this customer's open tickets first (%(numbers)s), or merge "
                "the customer into the one it duplicates."
            )
            % {"numbers": numbers}
        }
    )


@transaction.atomic
def customer_restore(*, actor, customer_id: int, expected_version: int | None = None) -> Customer:
    """Bring a customer back from the recycle bin (administrators only): it is in everyone's
    lists, search and duplicate checks again as before it was deleted.

    ``expected_version`` is the version the caller saw in the recycle bin: a customer restored
    and deleted again meanwhile (perhaps on purpose, after changes) is not brought back on the
    strength of an older look at it. A customer no longer in the recycle bin is refused for
    ``customer_id``, saying so."""
    if not can_restore_customers(actor):
        raise PermissionDenied(_("Only administrators may restore customers."))
    # Its account manager (and the actor) before the customer, as a deactivation locks the
    # leaver and then their customers: one under way is waited for and then seen, so that the
    # customer is not brought back to someone whose hand-over has just passed it by.
    owner_id = Customer.objects.filter(pk=customer_id).values_list("owner_id", flat=True).first()
    active = key_share_active_users([owner_id, actor.pk])
    if actor.pk not in active:
        raise ActorDeactivated
    customer = _lock_with_organisation(customer_id)
    if customer.deleted_at is None:
        raise ValidationError(
            {
                "customer_id": _(
                    "“%(name)s” is not in the recycle bin: someone restored it meanwhile, or it "
                    "was never deleted."
                )
                % {"name": customer.name}
            }
        )
    if expected_version is not None and customer.version != expected_version:
        raise StaleVersionError(customer.version)
    # A customer merged into another is in the recycle bin while the merge stands, its history
    # and contact details on the kept customer: brought back on its own it would be a second
    # live record of the same customer. Undoing the merge brings it back and takes back what
    # the merge gave the kept customer.
    merge = (
        CustomerMerge.objects.filter(merged_id=customer.pk, undone_at__isnull=True)
        .select_related("survivor")
        .first()
    )
    if merge is not None:
        raise ValidationError(
            {
                "customer_id": _(
                    "This customer was merged into “%(name)s” (#%(id)d). Undo that merge "
                    "instead of restoring the customer, so that it is not kept twice."
                )
                % {"name": merge.survivor.name, "id": merge.survivor_id}
            }
        )
    # Deleting an organisation waits until its people are gone; bringing one of them back into
    # an organisation still in the recycle bin would undo that order. The organisation is
    # locked (above), so one being deleted meanwhile is waited for and seen deleted.
    organisation = customer.organization
    if organisation is not None and organisation.deleted_at is not None:
        raise ValidationError(
            {
                "customer_id": _(
                    "This person's organisation “%(name)s” (#%(id)d) is in the recycle bin "
                    "too. Restore the organisation first."
                )
                % {"name": organisation.name, "id": organisation.pk}
            }
        )
    changes: dict[str, dict] = {"deleted": {"before": True, "after": False}}
    # An account manager who left while the customer was in the recycle bin did not hand it
    # over with their other customers (only those in use are); it comes back to the unowned
    # pool, where someone takes it on, rather than to a user nobody signs in as.
    if customer.owner_id != owner_id:
        # Given to someone else between the look above and the lock: locked after the
        # customer, out of the usual order, only in this case no service brings about.
        active |= key_share_active_users([customer.owner_id])
    owner_id = customer.owner_id
    if owner_id is not None and owner_id not in active:
        owner_id = None
        changes["owner_id"] = {"before": customer.owner_id, "after": None}
    Customer.objects.filter(pk=customer.pk).update(
        deleted_at=None, owner_id=owner_id, version=F("version") + 1, updated_at=timezone.now()
    )
    # Its organisation may have been renamed meanwhile (a deleted person's search text is not
    # rebuilt with the organisation's people), and its match keys were removed on delete.
    refresh_search_data(customer)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary=Summary(gettext_noop("Restored from the recycle bin")),
        changes=changes,
    )
    # The sweep passed over its open tickets while nobody could see it; it looks again now.
    # All of them are locked there, in id order, before the release below locks any (see
    # ``tickets_customers_restored``).
    from guanxi.service.services import tickets_customers_release, tickets_customers_restored

    tickets_customers_restored(customer_ids=[customer.pk])
    # Whoever holds its open tickets was judged able to work with it as it was when they took
    # them; sent to the pool, it may be out of their sight (a rep who saw it through their
    # team), and those tickets go back to the queue, each on record.
    tickets_customers_release(actor=actor, customer_ids=[customer.pk])
    if owner_id is None:
        # The pool has nobody to do its open churn follow-ups: one its account manager held
        # from before a deactivation closed those on customers in the recycle bin, or one
        # left with someone else, is closed on record, as a reassignment to the pool does.
        from guanxi.analytics.services import follow_ups_follow_customers

        follow_ups_follow_customers(actor=actor, customer_ids=[customer.pk], to_owner_id=None)
    from guanxi.dedup.services import duplicate_pairs_queue_for_restored

    duplicate_pairs_queue_for_restored(customer)
    return Customer.objects.get(pk=customer.pk)


# Times a restore reads a person's organisation again after finding the person moved to
# another one meanwhile (a merge of organisations moves their people).
_RESTORE_LOCK_ATTEMPTS = 3


def _lock_with_organisation(customer_id: int) -> Customer:
    """The customer, locked, its organisation (if any) locked before it: a person's
    organisation being deleted meanwhile is waited for, and the order is the one merges of
    organisations take (organisations, then their people), so the two never wait for each
    other."""
    for _attempt in range(_RESTORE_LOCK_ATTEMPTS):
        organisation_id = (
            Customer.objects.filter(pk=customer_id).values_list("organization_id", flat=True).get()
        )
        organisation = (
            Customer.objects.select_for_update().filter(pk=organisation_id).first()
            if organisation_id
            else None
        )
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.organization_id == organisation_id:
            customer.organization = organisation
            return customer
    # Moved each time it was looked at: a chain of merges no one makes. Its organisation is
    # locked after it then.
    customer.organization = (
        Customer.objects.select_for_update().filter(pk=customer.organization_id).first()
        if customer.organization_id
        else None
    )
    return customer


# How many customers a statement that changes many of them names: one SQL variable each, and
# SQLite allows some 32,000 in a statement.
CUSTOMERS_PER_STATEMENT = 5000


def customer_chunks(ids: list[int]) -> list[list[int]]:
    """``ids`` in lists of at most :data:`CUSTOMERS_PER_STATEMENT`, one statement's worth."""
    return [
        ids[start : start + CUSTOMERS_PER_STATEMENT]
        for start in range(0, len(ids), CUSTOMERS_PER_STATEMENT)
    ]


# The order every writer locks several customers in: organisations first, then people, each in
# ascending id order (``order_by(*CUSTOMER_LOCK_ORDER)``). A person's save locks their
# organisation and then them, a merge of organisations both organisations and then their
# people, and an organisation changing hands has the database write its owner to its people,
# locking them after it (``organisation_owner``): see :func:`customers_lock_for_hand_over`.
CUSTOMER_LOCK_ORDER = (
    Case(When(party_type=Customer.PartyType.ORGANIZATION, then=Value(0)), default=Value(1)),
    "pk",
)


def customers_lock_for_hand_over(ids: Iterable[int], *, also: Iterable[int] = ()) -> None:
    """Lock the customers ``ids``, about to change hands, and ``also`` (customers the caller
    changes alongside that keep their account manager): the organisations among them first,
    then the people among them together with every person of the organisations in ``ids``
    (those in the recycle bin too), each in ascending id order. Every hand-over locks its
    customers here before writing their new owner, but the customer import: it locks them in
    the same order in a pass of its own, which takes the organisations it only links people to
    (``FOR KEY SHARE``) among those it changes (``CustomerImporter._locked_customers``).

    An organisation's new owner is written to all its people by the database, which locks
    them after the organisation, one by one. Locked in one ascending pass with the customers
    moved, and only those, two hand-overs at the same moment, each of a rep who owns an
    organisation with a person of the other's, held their own people while the database waited
    for the other's: a deadlock, one of them failed. Taken here first, each person is waited for
    in the one order, and a person's save (their organisation, then them) or a merge of
    organisations (both, then their people) takes the same. The people of an organisation are
    read once it is locked: whoever puts a person in it locks it first (``_lock_organisation``,
    the import's ``FOR KEY SHARE``), so none joins between the read and the lock.

    Nothing to lock on SQLite, which has one writer at a time."""
    if not connection.features.has_select_for_update:
        return
    moved = set(ids)
    wanted = sorted(moved | set(also))
    organisations: set[int] = set()
    for chunk in customer_chunks(wanted):
        organisations.update(
            pk
            for (pk,) in Customer.objects.select_for_update()
            .filter(pk__in=chunk, party_type=Customer.PartyType.ORGANIZATION)
            .order_by("pk")
            .values_list("pk")
        )
    people = set(wanted) - organisations
    for chunk in customer_chunks(sorted(organisations & moved)):
        people.update(
            Customer.objects.filter(organization_id__in=chunk).values_list("pk", flat=True)
        )
    for chunk in customer_chunks(sorted(people)):
        list(Customer.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values("pk"))


def customers_owner_changed(
    *, actor, customer_ids: list[int], to_owner_id: int | None, release_tickets: bool = True
) -> None:
    """What follows customers ``customer_ids`` given another account manager, ``to_owner_id``
    (``None``: the unowned pool), by whichever write gave it to them: a reassignment, a new one
    chosen on the customer's form, a merge filling the kept customer's empty account manager or
    its undo taking that one away again. For the caller, in its transaction, once it has written
    the new owner, with the users locked (``key_share_active_users``), then the customers, as
    every hand-over locks them.

    Their open churn follow-ups go with them, each change on record: a follow-up is the
    account manager's task; sent to the pool, which has nobody to do it, it is closed
    (``follow_ups_follow_customers``). Their open tickets go back to the queue from whoever saw
    the customers only through the old account manager (their team's sharing), each change on
    record: left with them, a ticket stays with someone who can no longer open it
    (``tickets_customers_release``). Unless ``release_tickets`` is false: a deactivation lets
    them go itself, once it has handed the leaver's own tickets over to the successor."""
    from guanxi.analytics.services import follow_ups_follow_customers
    from guanxi.service.services import tickets_customers_release

    chunks = customer_chunks(sorted(set(customer_ids)))
    for chunk in chunks:
        follow_ups_follow_customers(actor=actor, customer_ids=chunk, to_owner_id=to_owner_id)
    for chunk in chunks if release_tickets else ():
        tickets_customers_release(actor=actor, customer_ids=chunk)


@transaction.atomic
def customers_reassign(
    *,
    actor,
    from_owner_id: int | None,
    to_owner_id: int | None,
    customer_ids: list[int] | None = None,
    release_tickets: bool = True,
) -> int:
    """Hand customers from one account manager to another: all of ``from_owner_id``'s
    customers (the salesperson-leaves case), or just ``customer_ids``. ``None`` on either side
    is the unowned pool. Returns how many customers moved. Their open churn follow-ups go
    with them, or are closed when they go to the pool (``follow_ups_follow_customers``), and
    their open tickets held by someone who no longer sees them go back to the queue
    (``tickets_customers_release``) unless ``release_tickets`` is false: a deactivation lets
    them go itself, once it has handed the leaver's own tickets over to the successor where
    they may work with the customer (released first, those would go to the queue), and locks
    every ticket it moves, the leaver's and the others', in one ascending order of its own.

    The new account manager must be allowed to change the customers they are given (an
    analyst, who changes nothing, cannot own customers nobody else then works)."""
    from guanxi.accounts.models import User

    from .validation import owner_assignment_error

    if not (actor.is_superuser or actor.role in REASSIGNING_ROLES):
        raise PermissionDenied(_("You may not reassign customers."))
    key_share_active_users([to_owner_id])
    message = owner_assignment_error(actor, to_owner_id)
    if message:
        raise ValidationError({"to_owner_id": message})
    if from_owner_id == to_owner_id:
        raise ValidationError({"to_owner_id": _("Choose a different account manager.")})
    if from_owner_id is not None and not User.objects.filter(pk=from_owner_id).exists():
        # A mistyped id would otherwise move nobody's customers and answer as if all went well.
        raise ValidationError({"from_owner_id": _("Not a valid user id.")})
    queryset = (
        Customer.objects.visible_to(actor, CHANGE).filter(owner_id=from_owner_id)
        if from_owner_id is not None
        else Customer.objects.visible_to(actor, CHANGE).filter(owner__isnull=True)
    )
    if customer_ids is not None:
        queryset = queryset.filter(pk__in=customer_ids)
    # Read, then locked in the order every writer locks customers in, with the people of the
    # organisations moved (see ``customers_lock_for_hand_over``), and read again: one moved or
    # deleted meanwhile is seen so, and left alone.
    candidates = list(queryset.order_by("pk").values_list("pk", flat=True))
    customers_lock_for_hand_over(candidates)
    rows = [
        row
        for chunk in customer_chunks(candidates)
        for row in queryset.filter(pk__in=chunk).order_by("pk").values_list("pk", "name")
    ]
    if customer_ids is not None and len(rows) != len(set(customer_ids)):
        raise ValidationError(
            {
                "customer_ids": _(
                    "Some of these customers are not yours to reassign, or are not "
                    "owned by the account manager you named."
                )
            }
        )
    if not rows:
        return 0
    ids = [pk for pk, _name in rows]
    now = timezone.now()
    chunks = customer_chunks(ids)
    for chunk in chunks:
        Customer.objects.filter(pk__in=chunk).update(
            owner_id=to_owner_id, version=F("version") + 1, updated_at=now
        )
    if to_owner_id is not None:
        # Asked of the visibility rule once the customers are theirs, so that roles stay known
        # in one place; refusing here undoes the move with the transaction.
        new_owner = User.objects.get(pk=to_owner_id)
        may_change = Customer.objects.visible_to(new_owner, CHANGE)
        if sum(may_change.filter(pk__in=chunk).count() for chunk in chunks) != len(ids):
            raise ValidationError(
                {
                    "to_owner_id": _("%(user)s may not change these customers, so cannot own them.")
                    % {"user": new_owner.label}
                }
            )
    customers_owner_changed(
        actor=actor, customer_ids=ids, to_owner_id=to_owner_id, release_tickets=release_tickets
    )
    change = {"owner_id": {"before": from_owner_id, "after": to_owner_id}}
    audit_record_many(
        AuditEvent(
            occurred_at=now,
            actor=actor,
            action=AuditEvent.Action.REASSIGN,
            object_type="customer",
            object_id=pk,
            customer_id=pk,
            summary=name[:300],
            changes=change,
        )
        for pk, name in rows
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.REASSIGN,
        object_type="user",
        object_id=from_owner_id,
        summary=Summary(gettext_noop("%(count)d customers reassigned"), {"count": len(ids)}),
        changes={**change, "customers": {"before": None, "after": len(ids)}},
    )
    return len(ids)


def _retag(*, actor, tag_ids: list[int], rename_to: str | None) -> int:
    """Rename (``rename_to``) or delete the tags ``tag_ids`` everywhere. Each customer wearing
    one is changed by it, so each gets a new version, its search text and an audit row with
    its tags before and after, as if it had been edited; customers in the recycle bin too,
    since their history is kept for a restore. However many wear it, they are changed
    :data:`CUSTOMERS_PER_STATEMENT` at a time."""
    tags = list(Tag.objects.select_for_update().filter(pk__in=tag_ids).order_by("pk"))
    if not tags:
        return 0
    wearing = list(
        Customer.objects.filter(tags__in=tags)
        .distinct()
        .order_by(*CUSTOMER_LOCK_ORDER)
        .values_list("pk", flat=True)
    )
    chunks = customer_chunks(wearing)
    names: dict[int, str] = {}
    before: dict[int, list[str]] = {}
    for chunk in chunks:
        # Locked in the order everything changing several customers locks them in.
        names.update(
            Customer.objects.select_for_update()
            .filter(pk__in=chunk)
            .order_by(*CUSTOMER_LOCK_ORDER)
            .values_list("pk", "name")
        )
        before.update(tag_names_by_customer(chunk))
    if rename_to is None:
        Tag.objects.filter(pk__in=[t.pk for t in tags]).delete()
    else:
        Tag.objects.filter(pk=tags[0].pk).update(name=rename_to, version=F("version") + 1)
    if not names:
        return 0
    now = timezone.now()
    for chunk in chunks:
        ids = [pk for pk in chunk if pk in names]
        Customer.objects.filter(pk__in=ids).update(version=F("version") + 1, updated_at=now)
        # Customers in the recycle bin have no search data to keep; a restore rebuilds it.
        refresh_search_data_many(Customer.objects.filter(pk__in=ids, deleted_at__isnull=True))
        after = tag_names_by_customer(ids)
        audit_record_many(
            AuditEvent(
                occurred_at=now,
                actor=actor,
                action=AuditEvent.Action.UPDATE,
                object_type="customer",
                object_id=pk,
                customer_id=pk,
                summary=names[pk][:300],
                changes={"tags": {"before": before.get(pk, []), "after": after.get(pk, [])}},
            )
            for pk in ids
        )
    return len(names)


def _require_settings_admin(actor) -> None:
    # Tags and custom field definitions are edited in the admin site only, which shows its
    # own refusal page.
    if not actor.is_admin_role:
        raise PermissionDenied


@transaction.atomic
def tag_rename(*, actor, tag_id: int, name: str, expected_version: int | None = None) -> int:
    """Rename a tag on every customer wearing it (administrators only); returns how many
    customers changed (none when the name is the tag's own). A tag renamed since
    ``expected_version`` (the version the admin page was read at) is refused with
    :class:`~guanxi.audit.services.StaleSettingError`, so an old page cannot put an old name
    back."""
    _require_settings_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("This field is required.")})
    renamed = Tag.objects.select_for_update().get(pk=tag_id)
    if expected_version is not None and renamed.version != expected_version:
        raise StaleSettingError(renamed)
    if renamed.name == name:
        # Saved under its own name: no customer changes, so none gets a version or audit row.
        return 0
    renamed.name = name
    renamed.validate_unique()
    return _retag(actor=actor, tag_ids=[tag_id], rename_to=name)


@transaction.atomic
def tags_delete(*, actor, tag_ids: Iterable[int]) -> int:
    """Delete tags, taking them off every customer wearing them (administrators only); returns
    how many customers changed."""
    _require_settings_admin(actor)
    return _retag(actor=actor, tag_ids=sorted(set(tag_ids)), rename_to=None)


@transaction.atomic
def customer_reveal_sensitive(*, actor, customer_id: int) -> dict[str, Any]:
    """The unmasked ID number and phone numbers of a customer, for a user with the
    'view sensitive data' permission. Every call is written to the audit log."""
    customer = access_customer(actor, customer_id, VIEW)
    if not actor.may_view_sensitive():
        raise PermissionDenied(_("You may not see sensitive data in full."))
    phones = list(customer.phones.all())
    revealed = {
        "id_number": decrypt_text(customer.id_number_encrypted)
        if customer.id_number_encrypted
        else "",
        "phones": [{"id": p.pk, "number": p.display, "label": p.label} for p in phones],
    }
    audit_record(
        actor=actor,
        action=AuditEvent.Action.REVEAL,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary=Summary(gettext_noop("ID number and phone numbers shown in full")),
    )
    return revealed


# --- custom field definitions ----------------------------------------------------------------
# Edited in the admin site only. A definition decides how every customer's value of the field
# is checked and labelled, so its changes belong in the audit log as much as the values do;
# the rows name the definition (``custom_field_definition`` and its id), not a customer.


@transaction.atomic
def custom_field_definition_save(
    *, actor, definition: CustomFieldDefinition, expected_version: int | None = None
) -> CustomFieldDefinition:
    """Add a custom field or store the edited ``definition`` (administrators only), with an
    audit row of the fields that changed; saving it unchanged writes no row. A definition
    changed since ``expected_version`` is refused
    (:class:`~guanxi.audit.services.StaleSettingError`)."""
    _require_settings_admin(actor)
    setting_save(
        actor=actor,
        instance=definition,
        object_type="custom_field_definition",
        expected_version=expected_version,
        summary_of=lambda row: row.key,
    )
    return definition


@transaction.atomic
def custom_field_definitions_delete(*, actor, definition_ids: Iterable[int]) -> int:
    """Delete custom field definitions (administrators only), each with an audit row of what
    it was; returns how many were deleted."""
    _require_settings_admin(actor)
    deleted = settings_delete(
        actor=actor,
        queryset=CustomFieldDefinition.objects.filter(pk__in=set(definition_ids)),
        object_type="custom_field_definition",
        summary_of=lambda row: row.key,
    )
    return len(deleted)


# ---------------------------------------------------------------------------------------------
# Whole phone numbers looked up by whoever sees numbers masked

# A mask (+86 138 **** 5678) leaves 10,000 numbers, and a search or a duplicate hint by a whole
# number answers yes or no for one of them (``masked_phone_search``): unlimited, ten thousand
# searches tell the number. Whole numbers not looked up before are limited to 30 in any ten
# minutes, more than a rep answering calls all day looks up (one a caller, a few minutes
# each), and 300 in any day: trying every middle of one mask then takes over a month of
# refusals, each window's first of which the audit log shows.
WHOLE_NUMBER_LIMITS = (
    (30, dt.timedelta(minutes=10)),
    (300, dt.timedelta(days=1)),
)
# The windows in words, for the message and the audit row (a Summary keeps the msgid).
_WINDOW_MESSAGES = {
    dt.timedelta(minutes=10): gettext_noop("10 minutes"),
    dt.timedelta(days=1): gettext_noop("a day"),
}


class WholeNumberLimitReached(Exception):
    """``actor`` looked up too many whole phone numbers (``WHOLE_NUMBER_LIMITS``); ``field``
    names the input that held one, and ``retry_at`` when a new one will be answered again."""

    def __init__(self, *, field: str, retry_at: dt.datetime, limit: int, window: dt.timedelta):
        super().__init__(f"Whole-number lookups limited until {retry_at.isoformat()}.")
        self.field = field
        self.retry_at = retry_at
        self.limit = limit
        self.window = window

    @property
    def retry_after(self) -> int:
        """Seconds until then, rounded up (at least one), for a Retry-After header."""
        return max(1, int(-(-(self.retry_at - timezone.now()).total_seconds() // 1)))

    def message(self) -> str:
        """What to tell the user, in the active language."""
        return _(
            "Too many searches for whole phone numbers: you looked up %(limit)d different "
            "numbers in %(window)s. You can search by a whole number again at %(time)s; "
            "searching by name, by the last four digits or by the start a number shows works "
            "meanwhile."
        ) % {
            "limit": self.limit,
            "window": _window_words(self.window),
            "time": _retry_time_words(self.retry_at),
        }


def _retry_time_words(retry_at: dt.datetime) -> str:
    """When the limit frees a place, as the reader's clock shows it: the time alone if it is
    today, else with its date, since the daily limit usually frees one tomorrow and "again at
    09:14" would read as a quarter of an hour away."""
    local = timezone.localtime(retry_at)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def _window_words(window: dt.timedelta) -> str:
    return _(_WINDOW_MESSAGES[window])


def whole_number_lookups_count(*, actor, numbers: Iterable[str], field: str) -> None:
    """Count the whole phone numbers (E.164) ``actor`` looks up, if they see numbers masked;
    raise :class:`WholeNumberLimitReached` instead when new ones would pass a limit of
    ``WHOLE_NUMBER_LIMITS``. A number they looked up in the last day counts once: searching it
    again (the next page, another spelling, the hints while they type the rest of the form)
    tells nothing new. The first refusal in a limit's window is audited.

    The lookups are rows in the database, so all processes keep to one count; the user's row is
    locked meanwhile, so that two requests at once cannot both take the last place."""
    from guanxi.accounts.models import User

    from .models import WholeNumberLookup

    if not getattr(actor, "pk", None) or actor.may_view_sensitive():
        return
    hashes = {lookup_hash(number) for number in numbers}
    if not hashes:
        return
    now = timezone.now()
    refused = None
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=actor.pk).values_list("pk"))
        lookups = WholeNumberLookup.objects.filter(user=actor)
        longest = max(window for _limit, window in WHOLE_NUMBER_LIMITS)
        lookups.filter(looked_up_at__lt=now - longest).delete()
        earlier = dict(lookups.order_by("looked_up_at").values_list("number_hash", "looked_up_at"))
        new = hashes - set(earlier)
        if not new:
            return
        for limit, window in WHOLE_NUMBER_LIMITS:
            times = sorted(at for at in earlier.values() if at >= now - window)
            over = len(times) + len(new) - limit
            if over > 0:
                # Free again once ``over`` of them are older than the window.
                retry_at = times[min(over, len(times)) - 1] + window if times else now + window
                if refused is None or retry_at > refused.retry_at:
                    refused = WholeNumberLimitReached(
                        field=field, retry_at=retry_at, limit=limit, window=window
                    )
        if refused is None:
            WholeNumberLookup.objects.bulk_create(
                WholeNumberLookup(user=actor, number_hash=h, looked_up_at=now) for h in new
            )
            return
        already_told = AuditEvent.objects.filter(
            action=AuditEvent.Action.LOOKUP_LIMIT,
            object_type="user",
            object_id=actor.pk,
            occurred_at__gte=now - refused.window,
        ).exists()
        if not already_told:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.LOOKUP_LIMIT,
                object_type="user",
                object_id=actor.pk,
                summary=Summary(
                    gettext_noop(
                        "Searched for %(limit)s whole phone numbers in %(window)s; further "
                        "ones refused until %(time)s"
                    ),
                    {
                        "limit": refused.limit,
                        "window": Summary(_WINDOW_MESSAGES[refused.window]),
                        "time": timezone.localtime(refused.retry_at).strftime("%Y-%m-%d %H:%M"),
                    },
                ),
                changes={"limit": refused.limit, "window_seconds": refused.window.total_seconds()},
            )
    raise refused
