"""Importing interactions (the contact timeline) from a file, batch by batch.

Each row names its customer by external id (a customer merged away stands for the one it was
merged into) or by Guanxi id, and must be one the importing user may log contacts on. Outcomes:
**created**; **updated** — the row's own ``external_id`` is an interaction imported before
(re-importing a file changes nothing, or corrects what changed); **rejected** with reasons.
"Merged" does not apply to interactions and stays 0.
"""

import datetime as dt
import re

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record_many, audit_value
from guanxi.audit.summaries import Choices, Summary
from guanxi.customers.models import Customer
from guanxi.customers.visibility import INTERACT, VIEW
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_created_changes, last_contacts_recompute

from .customer_rows import choice_code, parse_date
from .linked_rows import LinkedRowImporter
from .models import ImportRowError
from .readers import SourceRow
from .reasons import field_reason

FIELDS = ("channel", "direction", "subject", "notes", "staff_id", "occurred_at")
# The years an occurred_at may fall in: any moment of them can be stored in UTC.
FIRST_YEAR, LAST_YEAR = 1900, 9998


def parse_moment(text: str) -> dt.datetime | None:
    """A date and time (or a date, taken as midnight) in the server's time zone."""
    text = text.strip().replace("/", "-")
    text = re.sub(r"^(\d{4})(\d{2})(\d{2})", r"\1-\2-\3", text)
    try:
        moment = parse_datetime(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        moment = None
    if moment is None:
        day = parse_date(text)
        if day is None:
            return None
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _touch(touched: dict[int, dt.datetime], interaction: Interaction) -> None:
    """Keep in ``touched`` the latest moment of a contact with each customer."""
    moment = touched.get(interaction.customer_id)
    if moment is None or interaction.occurred_at > moment:
        touched[interaction.customer_id] = interaction.occurred_at


def _reference(values: dict[str, str]) -> str:
    """How a row names its customer, as the keys of ``LinkedRowImporter._customers``."""
    if values.get("customer_external_id"):
        return f"e:{values['customer_external_id']}"
    return f"i:{values.get('customer_id', '')}"


class InteractionImporter(LinkedRowImporter):
    customer_action = INTERACT
    model = Interaction

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._staff: dict[str, int | None] = {}
        # Kept for the whole import, as the importing user is, so that each one's team and its
        # members are read once rather than again for every batch.
        self._staff_users: dict[int, User] = {}

    def _staff_id(self, username: str) -> int | None:
        if username not in self._staff:
            self._staff[username] = (
                User.objects.filter(username=username, is_active=True)
                .values_list("pk", flat=True)
                .first()
            )
        return self._staff[username]

    def _customers(self, rows: list[dict[str, str]]) -> dict[str, int | str]:
        found = super()._customers(rows)
        # What the staff named in this batch may see is asked once per person and batch, about
        # the customers the rows name them with: the whole batch's ids, sent for every person
        # named, cost more to pass to the database than the answer takes to find.
        self._named_with: dict[int, set[int]] = {}
        for values in rows:
            staff_id = self._staff_id(values["staff"].strip()) if values.get("staff") else None
            customer = found.get(_reference(values))
            if staff_id is not None and isinstance(customer, int):
                self._named_with.setdefault(staff_id, set()).add(customer)
        self._visible_to_staff: dict[int, dict[int, bool]] = {}
        return found

    def _users_named(self, rows: list[dict[str, str]]) -> set[int]:
        named = (self._staff_id(values["staff"].strip()) for values in rows if values.get("staff"))
        return {staff_id for staff_id in named if staff_id is not None}

    def _users_left(self, user_ids: set[int]) -> None:
        # For the rest of the import, as someone inactive when first looked up is.
        for username, staff_id in self._staff.items():
            if staff_id in user_ids:
                self._staff[username] = None

    def _staff_sees(self, staff_id: int, customer_id: int) -> bool:
        """Whether the staff member named by a row may view its customer, by the visibility
        rule, as the web form and the API ask it (``interaction_log``)."""
        seen = self._visible_to_staff.setdefault(staff_id, {})
        if customer_id not in seen:
            staff = self._staff_users.get(staff_id)
            if staff is None:
                staff = User.objects.select_related("team").get(pk=staff_id)
                self._staff_users[staff_id] = staff
            asked = (self._named_with.get(staff_id, set()) | {customer_id}) - seen.keys()
            visible = set(
                Customer.objects.visible_to(staff, VIEW)
                .filter(pk__in=list(asked))
                .values_list("pk", flat=True)
            )
            seen.update((pk, pk in visible) for pk in asked)
        return seen[customer_id]

    def _checked(self, batch: list[SourceRow]):
        good, rejected, existing = super()._checked(batch)
        # A row that moves an interaction to another customer without naming the staff keeps
        # the staff it has: they must be allowed to see the new customer too. What it has is
        # what the rows before it in the batch left (a later row of the file updates what an
        # earlier one wrote), else what is stored. Someone who has left keeps the contacts
        # they had, wherever they move: they see nothing any more.
        if not any("staff_id" not in fields for _s, _e, fields in good):
            return good, rejected, existing
        names = {pk: name for name, pk in self._staff.items() if pk is not None}
        holds: dict[str, tuple[int, int | None]] = {}  # external id -> (customer, active staff)
        for external_id, customer_id, staff_id, username, active in Interaction.objects.filter(
            pk__in=[pk for pk, _customer in existing.values()]
        ).values_list(
            "external_id", "customer_id", "staff_id", "staff__username", "staff__is_active"
        ):
            holds[external_id] = (customer_id, staff_id if active else None)
            names[staff_id] = username
        kept = []
        for source, external_id, fields in good:
            held = holds.get(external_id) if external_id else None
            if held is None:  # a new interaction, by default the importing user's
                staff_id = fields.get("staff_id", self.actor.pk)
            elif "staff_id" in fields:
                staff_id = fields["staff_id"]
            else:
                staff_id = held[1]
                moved = fields["customer_id"] != held[0]
                if (
                    moved
                    and staff_id is not None
                    and not self._staff_sees(staff_id, fields["customer_id"])
                ):
                    reason = Summary(
                        gettext_noop(
                            "staff: “%(name)s”, who had interaction %(ref)s, may not see its new "
                            "customer; name someone who may in the staff column"
                        ),
                        {"name": names.get(staff_id, ""), "ref": external_id},
                    )
                    rejected.append((source, [reason]))
                    continue
            if external_id:
                holds[external_id] = (fields["customer_id"], staff_id)
            kept.append((source, external_id, fields))
        return kept, rejected, existing

    def _refused(self, reference: str) -> Summary:
        return Summary(
            gettext_noop("no customer %(ref)s that you may log contacts on"), {"ref": reference}
        )

    def _refused_rewrite(self, external_id: str) -> Summary:
        return Summary(
            gettext_noop(
                "external_id: interaction %(ref)s belongs to a customer you may not log contacts on"
            ),
            {"ref": external_id},
        )

    def _clean(self, values: dict[str, str], customers: dict[str, int | Summary]):
        """The interaction's fields from one row, or the reasons it cannot be imported. Besides
        the customer and subject, a field is among them only when the row gives it: a new
        interaction without an occurred_at happened now, one imported before keeps its moment
        (and its channel, direction, notes and staff likewise)."""
        problems = []
        reference = _reference(values)
        customer = customers.get(reference)
        if not isinstance(customer, int):
            # Named by the column it was looked up by, as every other reason is.
            column = "customer_external_id" if reference.startswith("e:") else "customer_id"
            problems.append(
                field_reason(
                    column,
                    customer
                    or Summary(gettext_noop("no customer %(ref)s"), {"ref": reference[2:] or "?"}),
                )
            )
        # Only what the row gives is checked and kept: a new interaction takes the defaults
        # (see _defaults), one imported before keeps what it has where the file says nothing.
        fields: dict = {"customer_id": customer}
        # A choice is written as its code or its label, as in a customer import.
        for name, choices in (
            ("channel", Interaction.Channel),
            ("direction", Interaction.Direction),
        ):
            text = values.get(name, "").strip()
            code = choice_code(choices, text) if text else None
            if text and code is None:
                problems.append(
                    field_reason(
                        name,
                        Summary(
                            gettext_noop("“%(value)s” is not one of %(choices)s"),
                            {"value": text, "choices": Choices.of(choices)},
                        ),
                    )
                )
            elif code:
                fields[name] = code
        subject = values.get("subject", "").strip()
        if not subject or len(subject) > 200:
            problems.append(Summary(gettext_noop("subject: required, at most 200 characters")))
        fields["subject"] = subject
        if values.get("notes"):
            fields["notes"] = values["notes"]
        occurred = None
        if values.get("occurred_at"):
            occurred = parse_moment(values["occurred_at"])
            if occurred is None:
                problems.append(Summary(gettext_noop("occurred_at: not a date and time")))
            elif not FIRST_YEAR <= occurred.year <= LAST_YEAR:
                # Year 1 is no contact anyone logged (a spreadsheet's empty date), and the
                # database cannot store the moment once it is moved to UTC.
                problems.append(
                    Summary(
                        gettext_noop(
                            "occurred_at: the year must be between %(first)d and %(last)d"
                        ),
                        {"first": FIRST_YEAR, "last": LAST_YEAR},
                    )
                )
            elif occurred > timezone.now() + dt.timedelta(minutes=5):
                problems.append(
                    Summary(gettext_noop("occurred_at: an interaction cannot be in the future"))
                )
            else:
                fields["occurred_at"] = occurred
        if values.get("staff"):
            fields["staff_id"] = self._staff_id(values["staff"].strip())
            if fields["staff_id"] is None:
                problems.append(
                    Summary(
                        gettext_noop("staff: no active user “%(name)s”"), {"name": values["staff"]}
                    )
                )
            elif isinstance(customer, int) and not self._staff_sees(fields["staff_id"], customer):
                problems.append(
                    Summary(
                        gettext_noop("staff: “%(name)s” may not see customer %(ref)s"),
                        {"name": values["staff"].strip(), "ref": reference[2:]},
                    )
                )
        external_id = values.get("external_id", "").strip() or None
        if external_id and len(external_id) > 100:
            problems.append(Summary(gettext_noop("external_id: at most 100 characters")))
        if problems:
            return None, problems
        return (external_id, fields), []

    def _defaults(self, now) -> dict:
        """A new interaction's fields where its row gives none."""
        return {
            "occurred_at": now,
            "channel": Interaction.Channel.OTHER,
            "direction": Interaction.Direction.OUTBOUND,
            "notes": "",
            "staff_id": self.actor.pk,
        }

    def _run_batch(self, batch: list[SourceRow]) -> None:
        job = self.job
        good, rejected, found = self._checked(batch)
        errors = [self._error(source, reasons) for source, reasons in rejected]
        existing = {external_id: pk for external_id, (pk, _customer) in found.items()}
        now = timezone.now()
        new: list[Interaction] = []
        updates: dict[int, dict] = {}
        created = updated = unchanged = 0
        for _source, external_id, fields in good:
            if external_id and external_id in existing:
                # A row changes only what it gives: after an earlier row of the batch on the
                # same interaction, both rows' changes stand, as they would across batches.
                pk = existing[external_id]
                updates[pk] = {**updates.get(pk, {}), **fields}
                updated += 1
                continue
            if external_id:
                existing[external_id] = -len(new) - 1  # later rows of the file update this one
            new.append(
                Interaction(
                    **{**self._defaults(now), **fields},
                    external_id=external_id,
                    created_by=self.actor,
                    created_at=now,
                )
            )
            created += 1
        for pk, fields in list(updates.items()):
            if pk < 0:  # a row created in this batch, updated by a later row
                target = new[-pk - 1]
                for name, value in fields.items():
                    setattr(target, name, value)
                del updates[pk]
        # The customers the batch touches were locked as its rows were checked, before any
        # contact is created or locked (``LinkedRowImporter._locked``): locking a contact
        # first, this waited for a customer a merge held (to move the contact to it, or to set
        # its last contact) while the merge waited for the contact, and the database broke one
        # of the two off as a deadlock.
        Interaction.objects.bulk_create(new, batch_size=2000)
        # Each customer's last contact, as logging one sets it: the latest of the contacts
        # created here and of those moved to it or to another moment.
        touched: dict[int, dt.datetime] = {}
        left: set[int] = set()
        changed = self._update(updates, touched, left)
        unchanged += len(updates) - changed
        for interaction in new:
            _touch(touched, interaction)
        for customer_id, moment in sorted(touched.items()):
            Customer.objects.filter(pk=customer_id).filter(
                Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=moment)
            ).update(last_contacted_at=moment)
        # The customers contacts moved away from, or to an earlier moment on, take the latest
        # of those they keep: their last contact may have been one that went. Each has the
        # audit row of the contact that left it or moved (``_rewrite_events``), as the customer
        # a contact goes to has that of the contact that set its last contact.
        last_contacts_recompute(left)
        audit_record_many(
            AuditEvent(
                occurred_at=now,
                actor=self.actor,
                action=AuditEvent.Action.CREATE,
                object_type="interaction",
                object_id=i.pk,
                customer_id=i.customer_id,
                summary=i.subject[:300],
                changes=interaction_created_changes(i),
            )
            for i in new
        )
        if job.dry_run:
            self._dry_run_errors += errors
        else:
            ImportRowError.objects.bulk_create(errors)
        job.rows_read += len(batch)
        job.created += created
        job.updated += updated
        job.unchanged += unchanged
        job.rejected += len(errors)
        job.last_row = batch[-1].number

    def _update(
        self, updates: dict[int, dict], touched: dict[int, dt.datetime], left: set[int]
    ) -> int:
        """Apply the rows' changes to interactions imported before, each with an audit row;
        the moment of one moved to another customer or moment is put in ``touched`` (see
        :func:`_touch`), and the customer one moved away from, or to an earlier moment on, in
        ``left``. Returns how many changed."""
        changed = 0
        now = timezone.now()
        events = []
        # Locked in ascending id order, as a merge of customers and its undo lock them, not in
        # the model's newest-first order: one of those holding the older of two would wait for
        # the newer locked here first, while this waited for the older.
        for interaction in (
            Interaction.objects.select_for_update().filter(pk__in=list(updates)).order_by("pk")
        ):
            fields = updates[interaction.pk]
            differences = {
                name: {
                    "before": audit_value(getattr(interaction, name)),
                    "after": audit_value(value),
                }
                for name, value in fields.items()
                if getattr(interaction, name) != value
            }
            if not differences:
                continue
            stored_on, stored_subject = interaction.customer_id, interaction.subject
            stored_at = interaction.occurred_at
            for name, value in fields.items():
                setattr(interaction, name, value)
            interaction.save(update_fields=list(fields))
            changed += 1
            if {"customer_id", "occurred_at"} & differences.keys():
                _touch(touched, interaction)
            # Moved away, or to an earlier moment, it may have been its customer's last contact.
            if interaction.customer_id != stored_on or interaction.occurred_at < stored_at:
                left.add(stored_on)
            events += self._rewrite_events(
                interaction.pk,
                now=now,
                changes=differences,
                customer_id=interaction.customer_id,
                summary=interaction.subject,
                stored_on=stored_on,
                stored_summary=stored_subject,
            )
        audit_record_many(events)
        return changed
