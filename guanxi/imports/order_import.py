"""Importing orders from a file (a shop's or an ERP's export), batch by batch.

Each row names its customer by external id (a customer merged away stands for the one it was
merged into) or by Guanxi id, and must be one the importing user may change. Outcomes:
**created**; **updated** — the row's own ``external_id`` is an order imported before, so
importing the same file again changes nothing and a corrected file corrects what changed;
**rejected** with reasons, each naming its column. "Merged" does not apply and stays 0.
A new order for a blacklisted or D-rated customer waits for a manager's approval, as one
entered by hand does. An order with an invoice or a ticket of another customer than the row
names is not moved to that customer: the row is rejected (see ``_kept_where_they_are``).

The file speaks for the system the orders come from, so a row may set any status, including
taking an order out of "refunded" if the source says so; in Guanxi itself those are final.
"""

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record_many, audit_value
from guanxi.audit.summaries import Choices, Summary
from guanxi.customers.visibility import CHANGE
from guanxi.interactions.services import EARLIEST_YEAR
from guanxi.orders.models import Invoice, Order
from guanxi.orders.services import approval_reasons_for
from guanxi.service.models import Ticket

from .customer_rows import choice_code, parse_date
from .interaction_import import parse_moment
from .linked_rows import LinkedRowImporter, customer_column
from .models import ImportRowError
from .readers import SourceRow
from .reasons import field_reason

CENT = Decimal("0.01")
# 14 digits with 2 after the point, as the model stores them.
MONEY_LIMIT = Decimal("1e12")
# What spreadsheets put around a number: currency signs, thousands separators, spaces.
_MONEY_NOISE = re.compile(r"[\s,¥￥$€£]|^(CNY|RMB|USD|EUR)|(CNY|RMB|USD|EUR|元)$", re.I)
# The fields an import writes and compares when a row updates an order imported before.
WRITTEN = (
    "customer_id",
    "ordered_on",
    "amount",
    "cost",
    "gross_margin",
    "currency",
    "channel",
    "status",
    "notes",
)


def parse_money(text: str) -> Decimal | None:
    """``"¥1,234.5"`` -> ``Decimal("1234.50")``; None for anything that is not an amount a
    money column can hold. Spreadsheet noise beyond the cent (``12.3000001``) is rounded."""
    cleaned = _MONEY_NOISE.sub("", text.strip())
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    # copy_abs(), not abs(), which rounds to the decimal context: an exponent beyond it
    # ("1E+999999999") raised Overflow and failed the whole import.
    if not value.is_finite() or value.copy_abs() >= MONEY_LIMIT:
        return None
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_day(text: str) -> dt.date | None:
    day = parse_date(text)
    if day is None:
        moment = parse_moment(text)
        try:
            day = timezone.localdate(moment) if moment else None
        except OverflowError:
            # A moment whose day here is outside the calendar (9999-12-31T23:59-14:00 falls in
            # year 10000, 0001-01-01T00:00+14:00 in year 0) is no date, not a failed import.
            day = None
    return day


class OrderImporter(LinkedRowImporter):
    customer_action = CHANGE
    model = Order

    def _refused(self, reference: str) -> Summary:
        return Summary(gettext_noop("no customer %(ref)s that you may change"), {"ref": reference})

    def _refused_rewrite(self, external_id: str) -> Summary:
        return Summary(
            gettext_noop("external_id: order %(ref)s belongs to a customer you may not change"),
            {"ref": external_id},
        )

    def _kept_where_they_are(
        self, moves: set[tuple[int, int]], rewritten: set[int]
    ) -> dict[tuple[int, int], Summary]:
        """An order with an invoice or linked to a ticket of a customer other than the one the
        row names stays where it is: moved, the first customer's invoice would bill it for
        another's order and its ticket would be about another's order, the state an undo of a
        customer merge refuses to leave behind. The invoices and tickets are named only when
        the importing user may see their customer; a file's reasons must not tell of others."""
        if not moves:
            return {}
        orders = sorted({order_id for order_id, _customer_id in moves})
        if transaction.get_connection().in_atomic_block:
            # An invoice is issued, and a ticket opened, with its customer locked FOR UPDATE,
            # which waits for the lock the batch already holds on the orders' customers (see
            # ``_locked``), so none is issued on them while the batch moves their orders. They
            # are not locked again here FOR UPDATE: that stronger lock waited for anyone holding
            # the lock a new record's key takes on one (a contact being added), who then waited
            # for another customer the batch held, a deadlock.
            # A ticket changed to link an order locks the order instead, so the orders are
            # locked too: a link under way is saved first and read below, and one asked for
            # after waits for the batch and finds the order another customer's.
            # A look before the import runs outside a transaction and only reads.
            # With the orders the batch only changes, in one ascending id order: locked after
            # the moving ones (``_update``), an older one changed was locked after a newer one
            # moving, while a writer holding the older waited for the newer, a deadlock.
            list(
                Order.objects.select_for_update()
                .filter(pk__in={*orders, *rewritten})
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        # Each order's invoices and tickets, as (kind, number, customer id).
        linked: dict[int, list[tuple[str, str, int]]] = {}
        for order_id, number, customer_id in (
            Invoice.objects.filter(order_id__in=orders).order_by("number")
        ).values_list("order_id", "number", "customer_id"):
            linked.setdefault(order_id, []).append(("invoice", number, customer_id))
        for order_id, ticket_id, customer_id in (
            Ticket.orders.through.objects.filter(order_id__in=orders).order_by("ticket_id")
        ).values_list("order_id", "ticket_id", "ticket__customer_id"):
            linked.setdefault(order_id, []).append(
                ("ticket", Ticket(pk=ticket_id).number, customer_id)
            )
        # Those of another customer than the one a move names.
        links = {
            (order_id, to): found
            for order_id, to in moves
            if (found := [link for link in linked.get(order_id, []) if link[2] != to])
        }
        in_sight = self._in_sight(
            {customer_id for found in links.values() for _kind, _n, customer_id in found}
        )
        kept = {}
        for move, found in links.items():
            named = {
                kind: ", ".join(
                    n for k, n, customer_id in found if k == kind and customer_id in in_sight
                )
                for kind in ("invoice", "ticket")
            }
            if named["invoice"] and named["ticket"]:
                kept[move] = Summary(
                    gettext_noop(
                        "this order has an invoice (%(invoices)s) and is linked to a ticket "
                        "(%(tickets)s); it cannot move to another customer"
                    ),
                    {"invoices": named["invoice"], "tickets": named["ticket"]},
                )
            elif named["invoice"]:
                kept[move] = Summary(
                    gettext_noop(
                        "this order has an invoice (%(invoices)s); it cannot move to another "
                        "customer"
                    ),
                    {"invoices": named["invoice"]},
                )
            elif named["ticket"]:
                kept[move] = Summary(
                    gettext_noop(
                        "this order is linked to a ticket (%(tickets)s); it cannot move to "
                        "another customer"
                    ),
                    {"tickets": named["ticket"]},
                )
            else:
                kept[move] = Summary(
                    gettext_noop(
                        "this order has an invoice or is linked to a ticket; it cannot move to "
                        "another customer"
                    )
                )
        return kept

    def _clean(self, values: dict[str, str], customers: dict[str, int | Summary]):
        """The order's fields from one row, or the reasons it cannot be imported."""
        problems = []
        reference = (
            f"e:{values['customer_external_id']}"
            if values.get("customer_external_id")
            else f"i:{values.get('customer_id', '')}"
        )
        column = customer_column(values)
        customer = customers.get(reference)
        if not isinstance(customer, int):
            problems.append(
                field_reason(
                    column,
                    customer
                    or Summary(gettext_noop("no customer %(ref)s"), {"ref": reference[2:] or "?"}),
                )
            )
        ordered_on = None
        if not values.get("ordered_on"):
            problems.append(Summary(gettext_noop("ordered_on: required")))
        else:
            ordered_on = parse_day(values["ordered_on"])
            if ordered_on is None:
                problems.append(Summary(gettext_noop("ordered_on: not a date")))
            elif ordered_on > timezone.localdate() + dt.timedelta(days=1):
                problems.append(
                    Summary(gettext_noop("ordered_on: an order cannot be in the future"))
                )
            elif ordered_on.year < EARLIEST_YEAR:
                # As the API and the order form refuse it (orders.services): year 1 is a
                # spreadsheet's empty date, no order anyone took.
                problems.append(
                    Summary(
                        gettext_noop("ordered_on: the year must be between %(first)d and %(last)d"),
                        {"first": EARLIEST_YEAR, "last": timezone.localdate().year},
                    )
                )
        money: dict[str, Decimal | None] = {}
        for name in ("amount", "cost", "gross_margin"):
            text = values.get(name, "")
            money[name] = None
            if not text:
                if name == "amount":
                    problems.append(Summary(gettext_noop("amount: required")))
                continue
            money[name] = parse_money(text)
            if money[name] is None:
                problems.append(
                    Summary(gettext_noop("%(column)s: not an amount"), {"column": name})
                )
            elif name != "gross_margin" and money[name] < 0:
                problems.append(
                    Summary(gettext_noop("%(column)s: must not be negative"), {"column": name})
                )
        if money["gross_margin"] is None and money["amount"] is not None and money["cost"]:
            money["gross_margin"] = money["amount"] - money["cost"]
        currency = values.get("currency", "").strip().upper() or "CNY"
        if not (len(currency) == 3 and currency.isalpha()):
            problems.append(Summary(gettext_noop("currency: a three-letter code such as CNY")))
        # A choice is written as its code or its label, as in a customer import.
        channel_text = values.get("channel", "").strip()
        channel = choice_code(Order.Channel, channel_text) if channel_text else Order.Channel.OTHER
        if channel is None:
            problems.append(
                Summary(
                    gettext_noop("channel: “%(value)s” is not one of %(choices)s"),
                    {"value": channel_text, "choices": Choices.of(Order.Channel)},
                )
            )
        status_text = values.get("status", "").strip()
        status = choice_code(Order.Status, status_text) if status_text else Order.Status.PLACED
        if status is None:
            problems.append(
                Summary(
                    gettext_noop("status: “%(value)s” is not one of %(choices)s"),
                    {"value": status_text, "choices": Choices.of(Order.Status)},
                )
            )
        external_id = values.get("external_id", "").strip() or None
        if external_id and len(external_id) > 100:
            problems.append(Summary(gettext_noop("external_id: at most 100 characters")))
        if problems:
            return None, problems
        fields = {
            "customer_id": customer,
            "ordered_on": ordered_on,
            **money,
            "currency": currency,
            "channel": channel,
            "status": status,
            "notes": values.get("notes", ""),
        }
        return (external_id, fields), []

    def _run_batch(self, batch: list[SourceRow]) -> None:
        job = self.job
        good, rejected, existing = self._checked(batch)
        errors = [self._error(source, reasons) for source, reasons in rejected]
        now = timezone.now()
        new: list[Order] = []
        updates: dict[int, dict] = {}
        created = updated = 0
        for _source, external_id, fields in good:
            if external_id and external_id in existing:
                pk = existing[external_id][0]
                if pk < 0:  # created earlier in this batch: the later row wins
                    target = new[-pk - 1]
                    for name, value in fields.items():
                        setattr(target, name, value)
                else:
                    updates[pk] = fields
                updated += 1
                continue
            if external_id:
                existing[external_id] = (-len(new) - 1, fields["customer_id"])
            new.append(
                Order(
                    **fields,
                    external_id=external_id,
                    created_by=self.actor,
                    created_at=now,
                    updated_at=now,
                )
            )
            created += 1
        # The same rule as an order entered by hand: a new order for a blacklisted or D-rated
        # customer waits for a manager (orders updated from the file keep their approval).
        reasons = approval_reasons_for(order.customer_id for order in new)
        for order in new:
            order.approval_reason = reasons[order.customer_id]
            if order.approval_reason:
                order.approval = Order.Approval.PENDING
        Order.objects.bulk_create(new, batch_size=2000)
        changed = self._update(updates, now)
        audit_record_many(
            AuditEvent(
                occurred_at=now,
                actor=self.actor,
                action=AuditEvent.Action.CREATE,
                object_type="order",
                object_id=order.pk,
                customer_id=order.customer_id,
                summary=f"{order.ordered_on.isoformat()} {order.amount} {order.currency}",
                changes={
                    name: {"before": None, "after": audit_value(getattr(order, name))}
                    for name in ("external_id", *WRITTEN, "approval", "approval_reason")
                    if getattr(order, name) not in (None, "")
                },
            )
            for order in new
        )
        if job.dry_run:
            self._dry_run_errors += errors
        else:
            ImportRowError.objects.bulk_create(errors)
        job.rows_read += len(batch)
        job.created += created
        job.updated += updated
        job.unchanged += len(updates) - changed
        job.rejected += len(errors)
        job.last_row = batch[-1].number

    def _update(self, updates: dict[int, dict], now) -> int:
        changed = 0
        events = []
        # Locked in ascending id order, as the orders moving were (``_kept_where_they_are``) and
        # as a ticket linking orders and a merge of customers lock them, not in the model's
        # newest-first order: one of those holding the older of two would wait for the newer
        # locked here first, while this waited for the older.
        for order in Order.objects.select_for_update().filter(pk__in=list(updates)).order_by("pk"):
            fields = updates[order.pk]
            differences = {
                name: {"before": audit_value(getattr(order, name)), "after": audit_value(value)}
                for name, value in fields.items()
                if getattr(order, name) != value
            }
            if not differences:
                continue
            Order.objects.filter(pk=order.pk).update(
                **fields, version=F("version") + 1, updated_at=now
            )
            changed += 1
            events += self._rewrite_events(
                order.pk,
                now=now,
                changes=differences,
                customer_id=fields["customer_id"],
                summary=f"{fields['ordered_on'].isoformat()} {fields['amount']}",
                stored_on=order.customer_id,
                stored_summary=f"{order.ordered_on.isoformat()} {order.amount}",
            )
        audit_record_many(events)
        return changed
