"""Requests customers make on their own — the public form, an email to the desk — and who they
are in the customer records.

A request is filed under the customer whose email address it comes from; someone unknown
becomes a new customer in the unowned pool, so their request, and everything after it, is on one
shared record from the first contact.

A phone number typed on the public form does not file the request under the customer who has
it: the desk shows every user which customer a ticket is on, so a member of staff who sees
numbers masked could send the form a guessed number and read the answer off the ticket, without
the limit on whole-number look-ups. The requester becomes a new customer holding the number,
whether anyone has it or not, and is queued for review with each customer who has it, for who
sees numbers in full (:func:`_queue_pair`; a scan keeps those pairs hidden from the others).

An email whose sender's address could not be verified is never filed under the customer who
has that address (anyone may have written it): the first becomes a new customer, put in the
duplicate review queue with the customer who has the address, for a person to merge if it is
theirs; later ones from the address join that new customer rather than making one each,
until a member of staff takes it on.
"""

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from guanxi.audit.models import AuditEvent
from guanxi.core.phones import parse_phone
from guanxi.customers.models import Customer, Email, Phone
from guanxi.customers.services import customer_create_unattended
from guanxi.dedup.matching.blocking import DEFAULT_MAX_BLOCK
from guanxi.dedup.matching.engine import REVIEW_THRESHOLD
from guanxi.dedup.models import CustomerMerge, DuplicatePair

from . import services
from .models import Ticket, TicketMessage
from .services import ticket_create_from_customer


def find_customer(*, email: str = "", phone: str = "") -> Customer | None:
    email = (email or "").strip().lower()
    if email:
        found = (
            Email.objects.filter(address=email, customer__deleted_at__isnull=True)
            .order_by("-is_primary", "customer_id")
            .values_list("customer_id", flat=True)
            .first()
        )
        if found:
            return Customer.objects.get(pk=found)
    if phone:
        try:
            number = parse_phone(phone).e164
        except ValidationError:
            return None
        found = (
            Phone.objects.filter(number=number, customer__deleted_at__isnull=True)
            .order_by("customer_id")
            .values_list("customer_id", flat=True)
            .first()
        )
        if found:
            return Customer.objects.get(pk=found)
    return None


# The first key of the PostgreSQL advisory locks (two-key form) that make requests from one
# address or number wait for each other; the second is the address's hash.
REQUESTER_LOCK_CLASS = 0x47584952  # "GXIR"


def _one_request_at_a_time_from(*, email: str, phone: str) -> None:
    """Make a request wait, until the transaction ends, for any other request from the same
    address or number being filed. Two arriving at once from someone new would otherwise each
    find no customer and make one each, and the address would name two customers. SQLite's
    write transactions already take turns (``IMMEDIATE``).

    Both the address and the number are waited for, as a request is found by its address and
    queued for review with the customer who has its number: two sent at once with one number
    must each see the other's, to be queued as a pair. The number is the one it is
    stored and looked up as (``+86 138…`` and ``138…`` are one), and the keys are taken in one
    order, so two requests naming both never hold one each while waiting for the other."""
    if connection.vendor != "postgresql":
        return
    keys = set()
    email = (email or "").strip().lower()
    if email:
        keys.add(f"email:{email}")
    # A number that cannot be read is neither looked up nor stored.
    with suppress(ValidationError):
        if phone:
            keys.add(f"phone:{parse_phone(phone).e164}")
    with connection.cursor() as cursor:
        for key in sorted(keys):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [REQUESTER_LOCK_CLASS, key]
            )


# Times a request looks its customer up again after finding one merged away meanwhile: each
# time another merge finished, so more than a couple is a chain of merges no one makes.
FIND_ATTEMPTS = 5


@transaction.atomic
def request_from_customer(
    *,
    name: str,
    email: str,
    phone: str = "",
    data: dict,
    channel: str,
    email_message_id: str = "",
    email_copied: Iterable[str] = (),
    acknowledge: bool = True,
    match_customer: bool = True,
    continues: Ticket | None = None,
) -> Ticket:
    """File a request: the customer found by address or number, or a new one. ``acknowledge``
    says whether the requester is told its number by email; ``email_copied`` are the others an
    email was sent to; ``continues``, the ticket in the recycle bin the customer wrote on (see
    :func:`customer_wrote_again`).

    ``match_customer`` False files it as from someone no customer is, a new customer, whatever
    the address: for an email whose sender's address nobody vouched for. The new customer's
    record holds the address only when no customer has it yet, so that an address never comes
    to name two customers and later mail from it goes where it went before (a request's
    requester keeps it all the same, for answers)."""
    _one_request_at_a_time_from(email=email, phone=phone)
    # A customer merged into another while this waited for its lock is looked up again: the
    # merge moved its addresses and numbers to the kept customer, under which the request goes.
    for _attempt in range(FIND_ATTEMPTS):
        # By the address alone: a number anyone may type is no sign of who writes (see the
        # module's docstring); the customer who has it is a suggestion, made in _file_request.
        customer = find_customer(email=email) if match_customer else None
        try:
            return _file_request(
                customer=customer,
                name=name,
                email=email,
                phone=phone,
                data=data,
                channel=channel,
                email_message_id=email_message_id,
                email_copied=email_copied,
                acknowledge=acknowledge,
                match_customer=match_customer,
                continues=continues,
            )
        except Customer.DoesNotExist:
            # An unverified sender's request may have gone to the customer of their earlier
            # ones, which was merged away meanwhile: looked for again, it makes a new one.
            if customer is None and match_customer:
                raise
    raise Customer.DoesNotExist


def _file_request(
    *,
    customer: Customer | None,
    name: str,
    email: str,
    phone: str,
    data: dict,
    channel: str,
    email_message_id: str,
    email_copied: Iterable[str],
    acknowledge: bool,
    match_customer: bool,
    continues: Ticket | None = None,
) -> Ticket:
    holder = None  # the customer who has the address, when the sender is not taken to be them
    by_number: list[int] = []  # the customers who have the number, of a request from someone new
    if customer is None and not match_customer:
        customer = _customer_of_unverified_requests(email)
        holder = find_customer(email=email) if customer is None else None
    elif customer is None and phone:
        by_number = _holders_of_number(phone)
    if customer is None:
        keep_email = bool(email) and (match_customer or holder is None)
        details = {
            "name": (name or "").strip() or email.split("@")[0],
            "emails": [{"address": email}] if keep_email else [],
            "phones": [{"number": phone}] if phone else [],
            "source_channel": "email" if channel == Ticket.Channel.EMAIL else "web",
        }
        customer = customer_create_unattended(data=details)
    ticket = ticket_create_from_customer(
        customer=customer,
        data={**data, "channel": channel},
        requester_email=(email or "").strip().lower(),
        email_message_id=email_message_id,
        email_copied=email_copied,
        acknowledge=acknowledge,
        sender_unverified=not match_customer,
        continues=continues,
    )
    if holder is not None and holder.pk != customer.pk:
        _queue_pair(customer, holder, ticket)
    for other_id in by_number:
        if other_id != customer.pk:
            _queue_pair(customer, Customer(pk=other_id), ticket, field="phone")
    return ticket


# The first key of the PostgreSQL advisory locks that make messages on one ticket in the
# recycle bin wait for each other; the second is the ticket's id's hash.
BINNED_TICKET_LOCK_CLASS = 0x47584254  # "GXBT"


def _one_message_at_a_time_on(ticket: Ticket) -> None:
    """Make a customer's message on ``ticket``, whose customer is in the recycle bin, wait until
    the transaction ends for any other being filed on it: two at once would each find no
    request started from it and start one each. An advisory lock rather than the ticket's row:
    taken before the users, customers and tickets of the request the message joins, the row
    would be locked out of the order they are locked in everywhere else, and could deadlock
    with a colleague's change. SQLite's write transactions already take turns."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [BINNED_TICKET_LOCK_CLASS, str(ticket.pk)],
        )


@dataclass(frozen=True)
class WroteAgain:
    """What became of a customer's message on one of their tickets: ``message``, filed (None:
    this email was filed already), and, when the ticket's customer is in the recycle bin,
    ``new_request``, the ticket it started, or ``continued``, the request an earlier message
    from the same address on that ticket started, which this one joined (its thread, or that
    of the ticket it was merged into). Both None: it went into the ticket, or the one that was
    merged into."""

    message: TicketMessage | None
    new_request: Ticket | None = None
    continued: Ticket | None = None


@transaction.atomic
def customer_wrote_again(
    *,
    ticket_id: int,
    body: str,
    name: str = "",
    subject: str = "",
    email_from: str = "",
    email_message_id: str = "",
    email_copied: Iterable[str] = (),
    acknowledge: bool = True,
) -> WroteAgain:
    """The customer wrote on ticket ``ticket_id`` again (an email reply, the status page): what
    became of the message.

    On a ticket whose customer is in the recycle bin it is not filed there. That ticket would
    open again where nobody may see it, and the customer would wait for an answer no one can
    give. Nor does the message bring the customer back from the recycle bin: binning is a
    decision of staff (restoring one is an administrator's), perhaps at the customer's own
    request, which one email should not undo. It is filed as mail from its address that
    answers no ticket is: a new request (:func:`request_from_customer`) in the queue,
    under the customer outside the recycle bin who has the address or a new one in the unowned
    pool, the requester told its number. The new ticket's note names the old one, for whoever
    restores its customer; the old ticket, left as it was, says where the message went.

    The new request continues the old ticket (``Ticket.continues``): later messages on the old
    ticket from the same address go to it (also once the old ticket is merged into another,
    whose messages they then are: by email or on the old ticket's page alike), as they would had
    they been written on its own page or in answer to its acknowledgement, whatever its status
    (a customer's message opens a resolved or closed ticket again), rather than each starting a
    request of its own. Only from the same address: the writer is taken to that request's page,
    which shows the desk's answers to its requester. One deleted since, or whose customer is in
    the recycle bin too, is not continued: the message starts a request anew, which later ones
    then join. The old ticket's messages take turns (:func:`_one_message_at_a_time_on`), so two
    at once start one request.

    Someone writing on the page of a ticket that has no requester's address gave neither a
    name nor an address: the new customer is named after the page they wrote on, not after the
    customer in the recycle bin, whose name stays out of sight with the rest of it.

    The customer is asked about once locked, with the ticket (see ``customer_message``): one
    being binned is waited for and the message filed anew, and one not binned stays so until
    this commits (its move to the recycle bin, waiting, then finds the ticket open)."""
    try:
        return WroteAgain(
            services.customer_message(
                ticket_id=ticket_id,
                body=body,
                email_message_id=email_message_id,
                email_from=email_from,
                email_copied=email_copied,
            )
        )
    except services.CustomerInTheBin as binned:
        ticket = binned.ticket  # the ticket the message would have gone to
    written_on = Ticket.objects.get(pk=ticket_id)
    # Whoever wrote: the email's sender, or on the status page the requester of the ticket
    # whose page it is (its link went to them), not of the ticket it was merged into, whose
    # requester may be someone else: filed for them, the new ticket's page, where the writer is
    # taken, would have shown the desk's answers to that other requester.
    address = (email_from or written_on.requester_email or "").strip().lower()
    # A writer with no address is known only by the page they wrote on: the requests started on
    # the pages of a ticket and of one merged into it, both without an address, would otherwise
    # be one, and each page's writer taken to messages, and answers, meant for the other's.
    started_from = ticket if address else written_on
    _one_message_at_a_time_on(started_from)
    # Continued: an earlier message from the address started the request on this ticket, or
    # on one merged into it since (written on the old ticket's page, whose conversation has
    # gone on here): the message joins that request rather than starting a second one.
    continuing = _with_merged_into(started_from) if address else [started_from.pk]
    continued = (
        Ticket.objects.filter(continues_id__in=continuing, requester_email=address)
        .order_by("-pk")
        .first()
    )
    if continued is not None:
        with suppress(services.CustomerInTheBin):
            return WroteAgain(
                services.customer_message(
                    ticket_id=continued.pk,
                    body=body,
                    email_message_id=email_message_id,
                    email_from=email_from,
                    email_copied=email_copied,
                ),
                continued=continued,
            )
    if not name and not address:
        name = _("Writer on the status page of ticket %(number)s") % {"number": written_on.number}
    new = request_from_customer(
        name=name or address.split("@")[0],
        email=address,
        data={"type": ticket.type, "subject": subject or ticket.subject, "description": body},
        channel=Ticket.Channel.EMAIL if email_message_id else Ticket.Channel.WEB_FORM,
        email_message_id=email_message_id,
        email_copied=email_copied,
        acknowledge=acknowledge,
        continues=started_from,
    )
    services.add_note(
        new,
        _(
            "The customer wrote this on ticket %(number)s, whose customer is in the recycle "
            "bin; it is filed here as a new request."
        )
        % {"number": ticket.number},
    )
    if not address:
        services.add_note(
            new,
            _(
                "The writer gave no email address: they read the answers on this ticket's "
                "status page, where they were taken."
            ),
        )
    services.add_note(
        Ticket.objects.select_for_update().get(pk=ticket.pk),
        _(
            "The customer wrote again while in the recycle bin; the message was filed as a "
            "new request, ticket %(number)s."
        )
        % {"number": new.number},
    )
    return WroteAgain(
        new.messages.filter(kind=TicketMessage.Kind.CUSTOMER).order_by("pk").first(), new
    )


def _with_merged_into(ticket: Ticket) -> list[int]:
    """The ids of ``ticket`` and of every ticket merged into it, one into the next: those whose
    messages come to it."""
    ids = [ticket.pk]
    found = ids
    while found:
        found = list(
            Ticket.objects.filter(merged_into_id__in=found)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids += found
    return ids


# The most customers who have one number a request is queued with: as many as a scan compares
# by one number (a number more share is a switchboard, whose block the scan passes over).
MAX_HOLDERS_OF_NUMBER = DEFAULT_MAX_BLOCK


def _holders_of_number(phone: str) -> list[int]:
    """The customers who have ``phone`` (at most :data:`MAX_HOLDERS_OF_NUMBER`): each is
    queued with the requester, hidden alike, since a scan shows whoever sees numbers masked a
    pair by the number it finds unqueued (``dedup.scan``), which would name a customer who has
    it."""
    try:
        number = parse_phone(phone).e164
    except ValidationError:
        return []
    return list(
        Phone.objects.filter(number=number, customer__deleted_at__isnull=True)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .distinct()[:MAX_HOLDERS_OF_NUMBER]
    )


def _customer_of_unverified_requests(email: str) -> Customer | None:
    """The customer an earlier request from ``email`` whose sender could not be verified was
    filed under as a new customer, while it is still that: not in the recycle bin, that
    request its first, no ticket on it but such requests from the address, and no other
    customer merged into it (a person merging the one who has the address into it makes it
    theirs, and unverified mail must not reach it). A verified request from the address, which
    goes to it once it holds the address, or a ticket a desk user opened for it, makes it a
    customer people deal with, whom unverified mail must not reach either; so does a member of
    staff taking it on: an account manager given to it, or anyone changing it or recording a
    call, an order or a payment of it."""
    email = (email or "").strip().lower()
    if not email:
        return None
    candidates = (
        Ticket.objects.filter(
            requester_email=email, sender_unverified=True, customer__deleted_at__isnull=True
        )
        .order_by("-pk")
        .values_list("customer_id", flat=True)
    )
    for customer_id in dict.fromkeys(candidates[:20]):
        first = (
            Ticket.objects.filter(customer_id=customer_id)
            .order_by("pk")
            .values_list("requester_email", "sender_unverified")
            .first()
        )
        merged_in = CustomerMerge.objects.filter(survivor_id=customer_id, undone_at__isnull=True)
        others = Ticket.objects.filter(customer_id=customer_id).exclude(
            requester_email=email, sender_unverified=True
        )
        if first != (email, True) or others.exists() or merged_in.exists():
            continue
        # Asked again once it is locked: a merge into it or a change of it under way holds it
        # until it is done.
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if (
            customer is not None
            and customer.deleted_at is None
            and not merged_in.exists()
            and not _dealt_with_by_staff(customer)
        ):
            return customer
    return None


# What a member of staff records about a customer that makes it someone people deal with. A
# ticket's own events are not among them: answering the request is what the desk is for, and
# later mail from the address should still find that conversation's customer.
_STAFF_RECORDS = ("customer", "interaction", "order", "invoice", "payment", "blacklist")


def _dealt_with_by_staff(customer: Customer) -> bool:
    """Whether someone has taken the customer on: given it an account manager, or changed,
    merged or imported into it, recorded a call, an order or a payment of it, or put it on the
    blacklist, a judgement of a real person (each leaves an audit row with its actor; the
    customer's own creation from the request has none). Looking
    at its phone numbers in full does not count: an agent answering the request may need them
    to call back, and reading the record vouches for it no more than answering does."""
    if customer.owner_id is not None:
        return True
    return (
        AuditEvent.objects.filter(
            customer_id=customer.pk, actor__isnull=False, object_type__in=_STAFF_RECORDS
        )
        .exclude(action=AuditEvent.Action.REVEAL)
        .exists()
    )


# How a pair queued by a request reads ("request from their email, sender not verified").
LEVELS = {"email": "unverified request", "phone": "public form"}


def _queue_pair(customer: Customer, holder: Customer, ticket: Ticket, field: str = "email") -> None:
    """Put the new customer of a request in the duplicate review queue with the customer who
    has its address (an unverified email) or its number (the public form): it may well be
    them, and a person can merge the two. As likely as the least likely pair a scan queues:
    the address or number says so, but anyone may have written it.

    A pair by the number is not shown to whoever sees numbers masked (the score they are shown
    is 0, which keeps it out of their queue and off the customer's page, as a pair only ID
    numbers found is): it would tell them that a number they sent through the form is that
    customer's, which is what filing the request under the new customer keeps from them."""
    low, high = sorted((customer.pk, holder.pk))
    defaults = {
        "score": REVIEW_THRESHOLD,
        "source": DuplicatePair.Source.INTAKE,
        "details": {
            "fields": [{"field": field, "level": LEVELS[field], "weight": 1.0}],
            "ticket": ticket.pk,
        },
    }
    if field == "phone":
        defaults["score_without_id_number"] = 0.0
    DuplicatePair.objects.get_or_create(left_id=low, right_id=high, defaults=defaults)
