"""Requests customers make on their own — the public form, an email to the desk — and who they
are in the customer records.

A request is filed under the customer whose email address (or, failing that, mobile number) it
comes from; someone unknown becomes a new customer in the unowned pool, so their request, and
everything after it, is on one shared record from the first contact.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from guanxi.core.phones import parse_phone
from guanxi.customers.models import Customer, Email, Phone
from guanxi.customers.services import customer_create_unattended

from .models import Ticket
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
) -> Ticket:
    """File a request: the customer found by address or number, or a new one. ``acknowledge``
    says whether the requester is told its number by email; ``email_copied`` are the others an
    email was sent to.

    ``match_customer`` False files it as from someone no customer is, a new customer, whatever
    the address: for an email whose sender's address nobody vouched for. The new customer's
    record holds the address only when no customer has it yet, so that an address never comes
    to name two customers and later mail from it goes where it went before (a request's
    requester keeps it all the same, for answers)."""
    # A customer merged into another while this waited for its lock is looked up again: the
    # merge moved its addresses and numbers to the kept customer, under which the request goes.
    for _attempt in range(FIND_ATTEMPTS):
        customer = find_customer(email=email, phone=phone) if match_customer else None
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
            )
        except Customer.DoesNotExist:
            if customer is None:
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
) -> Ticket:
    if customer is None:
        keep_email = bool(email) and (match_customer or find_customer(email=email) is None)
        details = {
            "name": (name or "").strip() or email.split("@")[0],
            "emails": [{"address": email}] if keep_email else [],
            "phones": [{"number": phone}] if phone else [],
            "source_channel": "email" if channel == Ticket.Channel.EMAIL else "web",
        }
        customer = customer_create_unattended(data=details)
    return ticket_create_from_customer(
        customer=customer,
        data={**data, "channel": channel},
        requester_email=(email or "").strip().lower(),
        email_message_id=email_message_id,
        email_copied=email_copied,
        acknowledge=acknowledge,
    )
