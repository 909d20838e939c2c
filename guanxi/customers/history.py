"""Turning audit rows into lines people can read on the customer page: field names in the
reader's language, user ids as names, choice codes as their labels."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat, floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User
from guanxi.analytics.models import CustomerValue
from guanxi.analytics.templatetags.analytics_format import percent
from guanxi.audit.models import AuditEvent
from guanxi.audit.selectors import audit_events_for_customer
from guanxi.core.currencies import currency_decimals
from guanxi.core.masking import mask_numbers_in_text
from guanxi.interactions.models import Interaction

from .models import Address, Customer, CustomFieldDefinition, Email, MarketingConsent, Phone

if TYPE_CHECKING:
    from guanxi.dedup.selectors import MergedCustomer

# The key a row's changes are given under when they are no mapping of fields.
STORED_AS_IS = "changes"

EXTRA_LABELS = {
    "phones": _("phones"),
    "emails": _("emails"),
    "addresses": _("addresses"),
    "tags": _("tags"),
    "consents": _("marketing consent"),
    "custom_fields": _("custom fields"),
    "id_number": _("ID number"),
    "deleted": _("deleted"),
    "channel": _("channel"),
    "direction": _("direction"),
    "subject": _("subject"),
    "staff_id": _("staff member"),
    "occurred_at": _("when"),
    "customers": _("customers"),
    "merged_into": _("merged into"),
    "merged_from": _("merged from"),
    "order_ids": _("orders"),
    "invoice_status": _("invoice status"),
    "outstanding": _("outstanding"),
    "blacklisted": _("on the blacklist"),
    "done_at": _("done"),
    "not_duplicate_of": _("not a duplicate of"),
    "attachments": _("attachments"),
    # A merge of customers: how many rows moved to the survivor; its undo: how many of them
    # went back, and the survivor's fields changed since the merge, which the undo left as
    # they are.
    "moved_rows": _("records moved"),
    "moved_back": _("records moved back"),
    "kept": _("kept as changed since the merge"),
    # An order's lines: how many it was booked with.
    "lines": _("order lines"),
    # A ticket's writes beside its own fields: the text of a reply, a note or the customer's
    # message, how routing chose the assignee, the survey's score, who watches it, the
    # messages a merge moved, and whom an escalation reached in place of someone no longer
    # active.
    "reply": _("reply to the customer"),
    "note": _("internal note"),
    "message": _("customer's message"),
    "routing": _("how it was assigned"),
    "satisfaction": _("satisfaction score"),
    "satisfaction_comment": _("satisfaction comment"),
    "watchers": _("watchers"),
    "messages": _("messages"),
    "escalated_to": _("escalated to"),
    # An email to the customer sent again after the mail server did not take it: its address.
    "customer_email": _("email to the customer"),
    # A ticket's merge: its emails to the customer not sent yet, moved to the kept ticket or
    # dropped (a survey), each {"id", "kind", "to"}.
    "customer_emails_moved": _("emails to the customer moved, not sent yet"),
    "customer_emails_dropped": _("emails to the customer dropped, not sent"),
    # What a row holds in place of a mapping of fields (see :func:`stored_changes`).
    STORED_AS_IS: _("changes"),
}


# The emails to the customer a ticket's merge moved or dropped, and their kinds in words.
CUSTOMER_EMAILS = ("customer_emails_moved", "customer_emails_dropped")
CUSTOMER_EMAIL_KINDS = {
    "reply": _("reply to the customer"),
    "acknowledgement": _("acknowledgement of the request"),
    "survey": _("satisfaction survey"),
}


# Where a change was made (``AuditEvent.via``), as the history names it.
VIA_LABELS = {"web": _("on the web"), "api": _("through the API"), "cli": _("on the command line")}


# Another customer a change names (the other customer of a merge or of a possible duplicate
# decided to be a different one, a person's organisation), to a reader who may not see it (or no
# longer can: it was deleted or merged away). Its name and number are not theirs to learn.
UNSEEN_CUSTOMER = _("another customer, which you cannot open")

# Change keys whose values are ids of other customers: the other customer of a merge or of a
# possible duplicate decided to be a different one, a person's organisation, and the customer an
# order or interaction was moved from or to by an import.
CUSTOMER_ID_KEYS = (
    "not_duplicate_of",
    "merged_from",
    "merged_into",
    "organization_id",
    "customer_id",
)

# In the API's changes, in place of the id of another customer the reader may not see (see
# :func:`entry_sources`); language-neutral, as the placeholder of a sensitive field is. The page
# reads the same changes and says ``UNSEEN_CUSTOMER`` where it finds it.
HIDDEN_CUSTOMER = "[hidden]"

# Said of an entry that happened on a customer since merged into the one whose history it is.
MERGED_HEADLINE = _("On “%(name)s” (#%(id)d), merged into this customer: %(headline)s")


@dataclass(frozen=True)
class CustomerHistory:
    """One customer's history: its own audit rows and the past of every customer merged into
    it, by merges not undone (``merged``: those customers by id)."""

    customer_id: int
    merged: Mapping[int, MergedCustomer] = field(default_factory=dict)
    # Possible duplicates of these customers that the reader may not see
    # (``dedup.selectors.pairs_hidden_from``): a decision on one is left out, as its row would
    # tell them the pair was queued, which is what keeping it from them is for.
    hidden_pairs: QuerySet | None = None

    def events(self) -> QuerySet[AuditEvent]:
        """The rows, newest first (by id, the order pages follow)."""
        events = audit_events_for_customer(
            customer_id=self.customer_id,
            merged_before={pk: merged.merged_at for pk, merged in self.merged.items()},
        )
        if self.hidden_pairs is not None:
            events = events.exclude(object_type="duplicate_pair", object_id__in=self.hidden_pairs)
        return events.order_by("-id")

    def merged_name(self, customer_id: int) -> str | None:
        """The name of a customer merged into this one, None for any other customer."""
        merged = self.merged.get(customer_id)
        return merged.name if merged is not None else None


@dataclass(frozen=True)
class EntrySource:
    """Where an entry of a history comes from and what of its stored summary and changes may be
    shown."""

    merged_customer: tuple[int, str] | None  # (id, name) when it happened on a merged customer
    summary: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChangeLine:
    label: str
    before: str
    after: str
    # The pages of the customers ``before`` and ``after`` name, when the reader may open them.
    before_url: str = ""
    after_url: str = ""


@dataclass
class HistoryEntry:
    event: AuditEvent
    headline: str
    lines: list[ChangeLine]
    summary: str = ""
    merged_customer: tuple[int, str] | None = None

    @property
    def via(self) -> str:
        via = self.event.via
        return str(VIA_LABELS[via]) if via in VIA_LABELS else via


# Whole sentences, so that translations can order the words as their language needs.
HEADLINES = {
    ("customer", AuditEvent.Action.CREATE): _("%(who)s created this customer"),
    ("customer", AuditEvent.Action.UPDATE): _("%(who)s changed this customer"),
    ("customer", AuditEvent.Action.DELETE): _("%(who)s moved this customer to the recycle bin"),
    ("customer", AuditEvent.Action.REASSIGN): _(
        "%(who)s handed this customer to a new account manager"
    ),
    ("customer", AuditEvent.Action.REVEAL): _("%(who)s viewed the full ID and phone numbers"),
    ("interaction", AuditEvent.Action.CREATE): _("%(who)s logged a contact"),
    ("order", AuditEvent.Action.CREATE): _("%(who)s booked an order"),
    ("order", AuditEvent.Action.UPDATE): _("%(who)s changed an order"),
    ("ticket", AuditEvent.Action.CREATE): _("%(who)s opened a service ticket"),
    ("ticket", AuditEvent.Action.UPDATE): _("%(who)s worked on a service ticket"),
    ("ticket", AuditEvent.Action.REASSIGN): _("%(who)s assigned a service ticket"),
    ("ticket", AuditEvent.Action.MERGE): _("%(who)s merged a duplicate service ticket"),
    ("customer", AuditEvent.Action.MERGE): _("%(who)s merged duplicate customers"),
    ("customer", AuditEvent.Action.UNMERGE): _("%(who)s undid a merge of duplicate customers"),
    ("invoice", AuditEvent.Action.CREATE): _("%(who)s issued an invoice"),
    ("payment", AuditEvent.Action.CREATE): _("%(who)s recorded a payment"),
    ("blacklist", AuditEvent.Action.CREATE): _("%(who)s put this customer on the blacklist"),
    ("blacklist", AuditEvent.Action.DELETE): _("%(who)s took this customer off the blacklist"),
    ("churn_follow_up", AuditEvent.Action.CREATE): _("%(who)s opened a churn follow-up"),
    ("churn_follow_up", AuditEvent.Action.UPDATE): _("%(who)s closed a churn follow-up"),
    ("churn_follow_up", AuditEvent.Action.REASSIGN): _(
        "%(who)s handed a churn follow-up to the customer's new account manager"
    ),
    ("duplicate_pair", AuditEvent.Action.UPDATE): _(
        "%(who)s decided that this customer and a possible duplicate are different customers"
    ),
    ("article", AuditEvent.Action.CREATE): _(
        "%(who)s wrote a knowledge-base article from this customer's ticket"
    ),
    ("article", AuditEvent.Action.UPDATE): _(
        "%(who)s edited a knowledge-base article written from this customer's ticket"
    ),
}


def stored_changes(event: AuditEvent) -> dict[str, Any]:
    """``event``'s changes as the history reads them: a mapping of each field to its value
    before and after.

    Every service writes such a mapping, but the column holds any JSON, and a row written by
    hand or before the services did may hold a list, a text or a number there: it is given
    as it is under ``STORED_AS_IS``, so the page shows it on a line of its own and the API
    gives it in its object, instead of both failing on it."""
    changes = event.changes
    if isinstance(changes, dict):
        return changes
    if changes is None or changes == "" or changes == []:
        return {}
    return {STORED_AS_IS: changes}


def _sides(change: Any) -> tuple[Any, ...]:
    """The values a change holds: before and after, or a value stored alone."""
    if isinstance(change, dict):
        return change.get("before"), change.get("after")
    return (change,)


# Audit values that are user ids, shown as the user's name.
USER_FIELDS = ("owner_id", "staff_id", "assignee_id")

# How routing chose a new ticket's assignee (``guanxi.service.routing``), as the history says it.
ROUTING_LABELS = {
    "key_account": _("the gold customer's own account manager"),
    "skill": _("an agent with the skill for its category"),
    "unassigned": _("nobody yet: it waits in the queue"),
}


def _model_of(event: AuditEvent):
    """The model whose field names and choices an event's changes use."""
    from guanxi.analytics.models import Blacklist, ChurnFollowUp
    from guanxi.dedup.models import DuplicatePair
    from guanxi.knowledge.models import Article
    from guanxi.orders.models import Invoice, Order, Payment
    from guanxi.service.models import Ticket

    return {
        "interaction": Interaction,
        "order": Order,
        "invoice": Invoice,
        "payment": Payment,
        "blacklist": Blacklist,
        "churn_follow_up": ChurnFollowUp,
        "ticket": Ticket,
        "article": Article,
        "duplicate_pair": DuplicatePair,
    }.get(event.object_type, Customer)


def _headline(event: AuditEvent) -> str:
    who = event.actor.label if event.actor_id and event.actor else str(_("The system"))
    template = HEADLINES.get((event.object_type, event.action))
    if template is None:
        return f"{who} · {event.get_action_display()} · {event.object_type}"
    return str(template) % {"who": who}


def _label(name: str, model=Customer) -> str:
    if name in EXTRA_LABELS:
        return str(EXTRA_LABELS[name])
    for candidate in (name, name.removesuffix("_id")):
        # The figures of the value analytics (a follow-up's value at risk, a lifetime value)
        # are named as the customer's figures are.
        for source in (model, Customer, CustomerValue):
            try:
                field = source._meta.get_field(candidate)
            except FieldDoesNotExist:
                continue
            # A reverse relation (an order's ``lines``) has no verbose name of its own.
            if getattr(field, "verbose_name", None):
                return str(field.verbose_name)
    return name


def _choice_label(model, name: str, value: Any) -> str | None:
    if name == "invoice_status":  # a payment's row records the status of its invoice
        from guanxi.orders.models import Invoice

        model, name = Invoice, "status"
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    for key, label in getattr(field, "choices", None) or []:
        if key == value:
            return str(label)
    return None


# The contact details a customer's snapshot stores as "code:value" (``services.snapshot_of``),
# by change key: the model whose ``label`` choices name the code before the colon.
LABELLED_CONTACTS = {"phones": Phone, "emails": Email, "addresses": Address}

# A consent as ``services.snapshot_of`` stores it: "granted (web_form, 2026-03-02 10:15:00,
# Form 17)", the evidence left out when there is none (and in rows written before it was
# recorded), the time too in rows written before it was.
STORED_CONSENT = re.compile(
    r"(?P<state>granted|refused) \((?P<method>\w+), (?P<date>\d{4}-\d{2}-\d{2}(?: [\d:]{8})?)"
    r"(?:, (?P<evidence>.*))?\)",
    re.DOTALL,
)
# The words the customer page's list of consents uses for the two states.
CONSENT_STATES = {"granted": _("granted"), "refused": _("refused")}
CONSENT = _("%(state)s (%(method)s, %(date)s)")
CONSENT_WITH_EVIDENCE = _("%(state)s (%(method)s, %(date)s, %(evidence)s)")
CONSENT_OF_CHANNEL = _("%(channel)s: %(consent)s")


def _code_label(choices, code: Any) -> str | None:
    for key, label in choices:
        if key == code:
            return str(label)
    return None


def _contact_shown(model, item: Any) -> str:
    """A phone, email or address of a snapshot with its label in words ("手机 +86 155 **** 5678"
    for "mobile:+86 155 **** 5678"); the value after the code is shown as stored, masked as it
    was written. An item with no known code before its colon is shown as stored."""
    code, colon, value = str(item).partition(":")
    label = _code_label(model.Label.choices, code) if colon else None
    return f"{label} {value}" if label is not None else str(item)


def _consent_shown(channel: Any, stored: Any) -> str:
    """A channel's consent of a snapshot in words, as the customer page says it ("Email: granted
    (Web form, 2026-03-02)"); a consent stored otherwise keeps its stored text."""
    channel_label = _code_label(MarketingConsent.Channel.choices, channel) or str(channel)
    found = STORED_CONSENT.fullmatch(stored) if isinstance(stored, str) else None
    method = (
        _code_label(MarketingConsent.Method.choices, found["method"]) if found is not None else None
    )
    if found is None or method is None:
        consent = str(stored)
    else:
        words = {
            "state": str(CONSENT_STATES[found["state"]]),
            "method": method,
            "date": found["date"],
            "evidence": found["evidence"],
        }
        consent = str(CONSENT_WITH_EVIDENCE if found["evidence"] else CONSENT) % words
    return str(CONSENT_OF_CHANNEL) % {"channel": channel_label, "consent": consent}


def _money_decimals(events: list[AuditEvent]) -> int:
    """The decimals of the currency the money floats of ``events`` are in (the value analytics'
    figures), asked for only when one of them holds such a float. The currency is that of the
    current figures: a row written before the settings changed currency is shown to the new
    one's decimals, which is the currency the reader knows the figures in."""
    if not any(
        isinstance(value, float)
        for event in events
        for name, change in stored_changes(event).items()
        if name in MONEY_FIGURES
        for value in _sides(change)
    ):
        return 2
    from guanxi.analytics.selectors import figures_currency

    return currency_decimals(figures_currency())


def _custom_field_labels(events: list[AuditEvent]) -> dict[str, str]:
    """The labels, in the reader's language, of the custom fields ``events`` change, by key;
    asked for only when one of them does."""
    if not any("custom_fields" in stored_changes(event) for event in events):
        return {}
    language = get_language() or ""
    return {
        definition.key: definition.label_for(language)
        for definition in CustomFieldDefinition.objects.all()
    }


def _show(
    model,
    name: str,
    value: Any,
    users: dict[int, str],
    custom_fields: Mapping[str, str] | None = None,
    money_decimals: int = 2,
) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    # The parts of a customer's snapshot that hold codes (``services.snapshot_of``): their
    # rows are a record and keep the codes, so they are put in words here, for old rows too.
    if name in LABELLED_CONTACTS and isinstance(value, list):
        return ", ".join(_contact_shown(LABELLED_CONTACTS[name], item) for item in value)
    if name == "consents" and isinstance(value, dict):
        return "; ".join(_consent_shown(channel, stored) for channel, stored in value.items())
    if name == "custom_fields" and isinstance(value, dict):
        return _custom_fields_shown(value, custom_fields or {})
    if name == "kept" and isinstance(value, list):
        # The undo of a merge: the survivor's fields it left as changed since, by name.
        return ", ".join(_label(str(item)) for item in value)
    if name in USER_FIELDS and isinstance(value, int):
        return users.get(value, f"#{value}")
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if name == "routing" and value in ROUTING_LABELS:
        return str(ROUTING_LABELS[value])
    if name == "attachments" and isinstance(value, list):
        # The files of a ticket's reply or note: {"name": …, "size": bytes} each.
        return ", ".join(
            f"{item.get('name', '')} ({filesizeformat(item.get('size') or 0)})"
            if isinstance(item, dict)
            else str(item)
            for item in value
        )
    if name in CUSTOMER_EMAILS and isinstance(value, list):
        return ", ".join(
            f"{CUSTOMER_EMAIL_KINDS.get(item.get('kind'), item.get('kind'))} ({item.get('to')})"
            if isinstance(item, dict)
            else str(item)
            for item in value
        )
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    label = _choice_label(model, name, value)
    if label is not None:
        return label
    if isinstance(value, str) and name.endswith("_at"):
        moment = parse_datetime(value)
        if moment is not None:
            return date_format(timezone.localtime(moment), "Y-m-d H:i")
    if isinstance(value, float):
        return _figure_shown(name, value, money_decimals=money_decimals)
    if name in MONEY_FIGURES and isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        return _amount_shown(value)
    return str(value)


# Float fields of audit rows that are amounts of money (the value analytics keep them as floats,
# in the currency of their figures, :func:`~guanxi.analytics.selectors.figures_currency`), and
# those that are probabilities (0 to 1).
MONEY_FIGURES = frozenset(
    {
        "value_at_risk",
        "clv",
        "total_amount",
        "monetary_value",
        "gross_margin",
        "cost_to_serve",
        "profit",
        "expected_spend",
        "amount",
        "cost",
        "outstanding",
    }
)
PROBABILITIES = frozenset({"p_alive"})

# An amount of an order, an invoice or a payment as its audit row keeps it: the exact text of the
# decimal (``audit.services.audit_value``), "1234567.50", or "1E+6" for a decimal given with an
# exponent, which the services keep as given. The exponent is bounded: the amount fields hold
# at most a few dozen digits, and a longer one is no amount of theirs to write out in full.
DECIMAL_TEXT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d{1,2})?")


def _amount_shown(text: str) -> str:
    """An amount kept as its decimal text, as money is shown elsewhere: with the reader's
    language's digit grouping ("1,234,567.50"; Chinese writes none). Every decimal stored is
    kept, as the row records the exact amount: no rounding."""
    amount = Decimal(text)
    decimals = max(0, -amount.as_tuple().exponent)
    return floatformat(amount, f"{decimals}g")


# The most decimals added to tell apart two figures of a change that round alike; closer
# figures are the same figure to the models (which leave such hairs) and to the reader.
MORE_DIGITS = 6


def _figure_shown(name: str, value: float, more: int = 0, *, money_decimals: int = 2) -> str:
    """A float of an audit row as people read it, in the reader's language: money to its
    currency's decimals (``money_decimals``: two for yuan, none for yen) with the language's
    grouping, a probability as a percentage, anything else to at most two decimals (``more``
    decimals more, to tell it from the other side of a change). The models leave what is
    nothing as a float a hair from 0 (7.6e-20), which is 0 here; the row keeps it as stored."""
    if not math.isfinite(value):
        return str(value)
    if name in MONEY_FIGURES:
        # The currency's decimals always; the ones added only as far as they tell the figures
        # apart.
        digits = money_decimals + more
        return floatformat(round(value, digits), f"{digits if more == 0 else -digits}g")
    if name in PROBABILITIES:
        return percent(round(value, 3 + more), 1 + more)
    return floatformat(round(value, 2 + more), f"-{2 + more}g")


def _custom_fields_shown(
    value: dict, labels: Mapping[str, str], more: Mapping[str, int] | None = None
) -> str:
    """The custom fields of a snapshot by their labels, a float among them rounded as the
    other figures of a row are (``more``: decimals more by key, to tell a change apart)."""
    more = more or {}
    # In key order: PostgreSQL keeps a JSON object's keys in an order of its own.
    return "; ".join(
        f"{labels.get(key, key)}: {custom_value_shown(value[key], more.get(key, 0))}"
        for key in sorted(value)
    )


def custom_value_shown(value: Any, more: int = 0) -> str:
    """A custom field's value; a float to at most two decimals (``more`` decimals more), as
    :func:`_figure_shown` puts a figure that is no money, but without grouping: a custom number
    may be a year or a code, which "2,026" would misread. The customer's card shows its custom
    fields by this too, so the card and the history read a value alike. Python's float
    arithmetic leaves hairs (0.1 + 0.2 is 0.30000000000000004)."""
    if not isinstance(value, float) or not math.isfinite(value):
        return str(value)
    return floatformat(round(value, 2 + more), f"-{2 + more}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _custom_fields_more(before: dict, after: dict) -> dict[str, int]:
    """For each custom field whose float before and after round alike but differ, the decimals
    more that tell them apart (at most ``MORE_DIGITS``; closer is no change to the reader)."""
    more = {}
    for key in before.keys() & after.keys():
        old, new = before[key], after[key]
        # A number typed whole is kept as an int (``validation._coerce_custom_value``), so a
        # change from 2 to 2.001 has an int on one side: it is told apart as two floats are.
        if not (_is_number(old) and _is_number(new)) or old == new:
            continue
        if not (isinstance(old, float) or isinstance(new, float)):
            continue
        if not (math.isfinite(old) and math.isfinite(new)):
            continue
        digits = _decimals_telling_apart(custom_value_shown, old, new)
        if digits:
            more[key] = digits
    return more


def _decimals_telling_apart(shown: Callable[[Any, int], str], old: Any, new: Any) -> int:
    """The fewest decimals more (up to ``MORE_DIGITS``) with which ``shown(value, more)`` tells
    ``old`` and ``new`` apart; 0 when they differ as shown or when no decimals tell them apart
    (closer is no change to the reader)."""
    for digits in range(MORE_DIGITS + 1):
        if shown(old, digits) != shown(new, digits):
            return digits
    return 0


def _sides_shown(
    model, name: str, change: dict, users, custom_fields, money_decimals: int = 2
) -> dict[str, str]:
    """The before and after of a change as :func:`_show` puts them, but for two different
    floats that round alike ("0.123" and "0.124" both "0.12"), shown with the decimals that
    tell them apart: "0.12 → 0.12" would hide the change the row records."""
    before, after = change.get("before"), change.get("after")
    if name == "custom_fields" and isinstance(before, dict) and isinstance(after, dict):
        more = _custom_fields_more(before, after)
        return {
            "before": _custom_fields_shown(before, custom_fields or {}, more) if before else "—",
            "after": _custom_fields_shown(after, custom_fields or {}, more) if after else "—",
        }
    shown = {
        "before": _show(model, name, before, users, custom_fields, money_decimals),
        "after": _show(model, name, after, users, custom_fields, money_decimals),
    }
    if not (isinstance(before, float) and isinstance(after, float)) or before == after:
        return shown
    if not (math.isfinite(before) and math.isfinite(after)):
        return shown
    if shown["before"] != shown["after"]:
        return shown
    # Closer than any decimal shown (0 more): no change to the reader, in the usual rounding.
    more = _decimals_telling_apart(
        lambda value, digits: _figure_shown(name, value, digits, money_decimals=money_decimals),
        before,
        after,
    )
    return {
        "before": _figure_shown(name, before, more, money_decimals=money_decimals),
        "after": _figure_shown(name, after, more, money_decimals=money_decimals),
    }


def _named_customers(event: AuditEvent) -> set[int]:
    """The customer a merge or undo row's summary names: the other customer of the merge
    (``merged_from``/``merged_into``: the new value of a merge, the old one of an undo), or the
    organisation a person is now in (``organization_id``'s new value); or the other customer of
    a possible duplicate decided to be a different customer (``not_duplicate_of``)."""
    if event.object_type == "duplicate_pair":
        change = stored_changes(event).get("not_duplicate_of")
        if isinstance(change, dict) and isinstance(change.get("after"), int):
            return {change["after"]}
        return set()
    if event.object_type != "customer" or event.action not in (
        AuditEvent.Action.MERGE,
        AuditEvent.Action.UNMERGE,
    ):
        return set()
    changes = stored_changes(event)
    side = "before" if event.action == AuditEvent.Action.UNMERGE else "after"
    for name in ("merged_from", "merged_into"):
        change = changes.get(name)
        if isinstance(change, dict) and isinstance(change.get(side), int):
            return {change[side]}
    change = changes.get("organization_id")
    if isinstance(change, dict) and isinstance(change.get("after"), int):
        return {change["after"]}
    return set()


def _customer_ids_in_changes(event: AuditEvent) -> set[int]:
    """The ids of customers ``event``'s changes name, before or after (``CUSTOMER_ID_KEYS``)."""
    ids = set()
    for name in CUSTOMER_ID_KEYS:
        ids |= {
            value
            for value in _sides(stored_changes(event).get(name))
            if isinstance(value, int) and not isinstance(value, bool)
        }
    return ids


def _changes_without(changes: dict[str, Any], hidden: set[int]) -> dict[str, Any]:
    """``changes`` with each id of ``hidden`` under ``CUSTOMER_ID_KEYS`` replaced by
    ``HIDDEN_CUSTOMER``; the key stays, so the reader still learns that there was one."""
    if not hidden:
        return changes
    shown = dict(changes)
    for name in CUSTOMER_ID_KEYS:
        change = shown.get(name)
        if isinstance(change, dict):
            shown[name] = {
                side: HIDDEN_CUSTOMER if isinstance(value, int) and value in hidden else value
                for side, value in change.items()
            }
        elif isinstance(change, int) and change in hidden:  # an id stored alone
            shown[name] = HIDDEN_CUSTOMER
    return shown


def _customers_in_sight(
    events: list[AuditEvent], *, viewer, history: CustomerHistory | None
) -> dict[int, str]:
    """The names, by id, of the customers ``events``' changes name (``CUSTOMER_ID_KEYS``) that
    ``viewer`` may see: one query for the whole page, however many rows name one. The
    customers merged into this one are not asked for: they are deleted, so nobody may see
    them, and ``history`` names them."""
    ids = _other_customer_ids(events, history=history)
    if not ids:
        return {}
    return dict(Customer.objects.visible_to(viewer).filter(pk__in=ids).values_list("pk", "name"))


def _customers_in_the_bin(
    events: list[AuditEvent], *, viewer, history: CustomerHistory | None
) -> dict[int, str]:
    """The names, by id, of the customers ``events``' changes name that are in the recycle bin
    of ``viewer``, who may use it (:func:`~.selectors.deleted_customers_for_user`): on the page
    of a customer in the bin, its organisation or the customer it was merged into may be in
    the bin too, and that page names them and links to them there."""
    from .selectors import deleted_customers_for_user

    ids = _other_customer_ids(events, history=history)
    if not ids:
        return {}
    return dict(deleted_customers_for_user(viewer).filter(pk__in=ids).values_list("pk", "name"))


def _other_customer_ids(events: list[AuditEvent], *, history: CustomerHistory | None) -> set[int]:
    """The ids of the customers ``events``' changes name (``CUSTOMER_ID_KEYS``) but those
    merged into this one, which ``history`` names."""
    ids: set[int] = set()
    for event in events:
        ids |= _customer_ids_in_changes(event)
    return ids - (set(history.merged) if history is not None else set())


def entry_sources(
    events: list[AuditEvent], *, viewer, history: CustomerHistory | None
) -> list[EntrySource]:
    """For each of ``events`` (rows of ``history``): the merged customer it happened on, if
    any, its summary and its changes.

    The merged customers are named, as the survivor's merge row names them. A summary naming
    another customer (the other customer of a merge since undone, a person's organisation),
    whether on this customer's own rows or a merged customer's, is left out unless that
    customer is part of this history or the viewer may see it: the row must not tell its
    reader what they may not look up themselves. For the same reason the id of such a
    customer in the changes (``CUSTOMER_ID_KEYS``) is given as ``HIDDEN_CUSTOMER``, where the
    page says "another customer, which you cannot open"."""
    in_sight = _customers_in_sight(events, viewer=viewer, history=history)
    return _entry_sources(
        events, history=history, in_sight=in_sight, masked=not viewer.may_view_sensitive()
    )


def _entry_sources(
    events: list[AuditEvent],
    *,
    history: CustomerHistory | None,
    in_sight: Mapping[int, str],
    masked: bool,
) -> list[EntrySource]:
    """:func:`entry_sources`, of the customers ``in_sight`` (:func:`_customers_in_sight`);
    ``masked``: with the numbers typed into their text (a note, a ticket's subject) masked, as
    the customer's card masks them (the rows keep the text as typed)."""
    shown = _numbers_masked if masked else (lambda value: value)
    part_of_history = {history.customer_id, *history.merged} if history is not None else set()
    sources = []
    for event in events:
        name = history.merged_name(event.customer_id) if history is not None else None
        unseen = _customer_ids_in_changes(event) - part_of_history - in_sight.keys()
        sources.append(
            EntrySource(
                merged_customer=(event.customer_id, name) if name is not None else None,
                # In the reader's language where the row keeps its message.
                summary="" if _named_customers(event) & unseen else shown(event.summary_text()),
                changes=shown(_changes_without(stored_changes(event), unseen)),
            )
        )
    return sources


def _numbers_masked(value: Any) -> Any:
    """``value``, a row's changes or a part of them, with every text in it masked."""
    if isinstance(value, str):
        return mask_numbers_in_text(value)
    if isinstance(value, list):
        return [_numbers_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers_masked(item) for key, item in value.items()}
    return value


def describe_history(
    events: list[AuditEvent],
    *,
    viewer,
    history: CustomerHistory | None = None,
    recycle_bin: bool = False,
) -> list[HistoryEntry]:
    """Readable entries for ``events``, which the caller already scoped to a visible customer
    (rows of ``history``, which says which come from customers merged into it).

    Another customer a change names (``CUSTOMER_ID_KEYS``) is named, with its number and a link
    to its page, only where the API's changes give its id (:func:`entry_sources`), and said to
    be one the reader cannot open where they give ``HIDDEN_CUSTOMER``: the page and the API
    withhold the same customers from the same reader.

    With ``recycle_bin``, for the page of a customer in the recycle bin (whose history the API
    does not give), the customers in the bin the viewer may open there are named too, linked to
    their page in the bin: the viewer may use the bin."""
    user_ids: set[int] = set()
    for event in events:
        for name, change in stored_changes(event).items():
            for value in _sides(change):
                if name in USER_FIELDS and isinstance(value, int):
                    user_ids.add(value)
    users = {u.pk: u.label for u in User.objects.filter(pk__in=user_ids)}
    custom_fields = _custom_field_labels(events)
    money_decimals = _money_decimals(events)
    in_sight = _customers_in_sight(events, viewer=viewer, history=history)
    in_the_bin = (
        _customers_in_the_bin(events, viewer=viewer, history=history) if recycle_bin else {}
    )
    in_sight |= in_the_bin
    entries = []
    for event, source in zip(
        events,
        # The recycle bin shows even those who may see numbers in full only masked ones.
        _entry_sources(
            events,
            history=history,
            in_sight=in_sight,
            masked=recycle_bin or not viewer.may_view_sensitive(),
        ),
        strict=True,
    ):
        model = _model_of(event)
        lines = [
            _customer_line(_label(name, model), change, in_sight, history, in_the_bin)
            if name in CUSTOMER_ID_KEYS
            else ChangeLine(
                label=_label(name, model),
                **_sides_shown(model, name, change, users, custom_fields, money_decimals),
            )
            if isinstance(change, dict)
            # A value stored alone, not as before and after: shown as it is.
            else ChangeLine(
                label=_label(name, model),
                before="",
                after=_show(model, name, change, users, custom_fields, money_decimals),
            )
            for name, change in sorted(source.changes.items())
        ]
        headline = _headline(event)
        if source.merged_customer is not None:
            merged_id, merged_name = source.merged_customer
            headline = str(MERGED_HEADLINE) % {
                "name": merged_name,
                "id": merged_id,
                "headline": headline,
            }
        entries.append(
            HistoryEntry(
                event=event,
                headline=headline,
                lines=lines,
                summary=source.summary,
                merged_customer=source.merged_customer,
            )
        )
    return entries


def _customer_line(
    label: str,
    change: Any,
    in_sight: Mapping[int, str],
    history: CustomerHistory | None,
    in_the_bin: Mapping[int, str],
) -> ChangeLine:
    """The line of a change whose values are other customers (``CUSTOMER_ID_KEYS``), from the
    changes as :func:`entry_sources` gives them, ids withheld from the reader already being
    ``HIDDEN_CUSTOMER``."""
    if not isinstance(change, dict):  # an id stored alone, not as before and after
        after, after_url = _customer_shown(change, in_sight, history, in_the_bin)
        return ChangeLine(label=label, before="", after=after, after_url=after_url)
    before, before_url = _customer_shown(change.get("before"), in_sight, history, in_the_bin)
    after, after_url = _customer_shown(change.get("after"), in_sight, history, in_the_bin)
    return ChangeLine(
        label=label, before=before, after=after, before_url=before_url, after_url=after_url
    )


def _customer_shown(
    value: Any,
    in_sight: Mapping[int, str],
    history: CustomerHistory | None,
    in_the_bin: Mapping[int, str],
) -> tuple[str, str]:
    """A customer a change names and the address of its page (in the recycle bin, for one of
    ``in_the_bin``), or "" when the reader may not open it. A customer merged into this one is
    named as the history names it, without a link: it is deleted. One withheld from the reader
    is named neither by name nor by number: its number alone would say nothing, and its name is
    not theirs to learn."""
    if value == HIDDEN_CUSTOMER:
        return str(UNSEEN_CUSTOMER), ""
    if not isinstance(value, int) or isinstance(value, bool):
        return (str(value) if value not in (None, "") else "—"), ""
    merged_name = history.merged_name(value) if history is not None else None
    if merged_name is not None:
        return f"{merged_name} (#{value})", ""
    if value in in_sight:
        page = "customers:deleted_detail" if value in in_the_bin else "customers:detail"
        return f"{in_sight[value]} (#{value})", reverse(page, args=[value])
    # Neither withheld nor in sight: only the customer whose history this is can be, which the
    # API gives by its id too.
    return f"#{value}", ""
