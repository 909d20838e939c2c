"""New requests by email from an address whose sender could not be verified: never filed under
the customer who has the address, but not one new customer per email either. The first makes a
new customer, queued for review as a possible duplicate of the one who has the address; later
ones from the address join it, while it is still the customer those requests made."""

import io

import pytest
from django.core.management import call_command

from guanxi.analytics.services import blacklist_add
from guanxi.customers.models import Customer, Email
from guanxi.customers.services import customer_reveal_sensitive, customers_reassign
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customers_merge
from guanxi.dedup.templatetags.dedup_tags import reason_label
from guanxi.interactions.services import interaction_log
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_reply
from guanxi.service.tests.test_inbound_sender_verification import FAIL, MX, PASS
from guanxi.service.tests.test_inbound_unknown_sender import filed, raw_email

pytestmark = pytest.mark.django_db

ADDRESS = "wangfang@example.cn"


def _request(n: int, verdict: str = FAIL, sender: str = f"王芳 <{ADDRESS}>"):
    return filed(
        raw_email(
            sender=sender,
            subject=f"退款 {n}",
            body="请把退款转到这个账户。",
            message_id=f"<request-{n}@example.cn>",
            headers={"Authentication-Results": verdict},
        )
    )


@pytest.fixture(autouse=True)
def verifying(settings):
    settings.GUANXI_INBOUND_AUTHSERV_ID = [MX]


@pytest.fixture
def known(company):
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    return company.rep_customer


def test_unverified_requests_from_a_known_address_make_one_new_customer_queued_with_it(
    company, desk, known
):
    customers = Customer.objects.count()
    tickets = [_request(n).ticket for n in range(3)]

    [new] = {ticket.customer for ticket in tickets}
    assert new != known and Customer.objects.count() == customers + 1
    assert all(ticket.sender_unverified for ticket in tickets)
    # Nothing reaches the customer who has the address: no ticket, and the address stays theirs.
    assert not Ticket.objects.filter(customer=known).exists()
    assert not new.emails.exists()
    pair = DuplicatePair.objects.get()
    assert {pair.left_id, pair.right_id} == {known.pk, new.pk}
    assert (pair.status, pair.source) == ("open", "intake")
    assert pair.details["ticket"] == tickets[0].pk
    assert (
        reason_label(pair.details["fields"][0]) == "request from their email, sender not verified"
    )
    # A verified request is the known customer's, as before.
    assert _request(9, PASS).ticket.customer == known


@pytest.mark.parametrize("kept", ["known", "new"])
def test_once_merged_with_the_known_customer_a_later_unverified_request_makes_a_new_one_again(
    company, desk, known, kept
):
    new = _request(1).ticket.customer
    survivor, merged = (known, new) if kept == "known" else (new, known)
    customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk)

    later = _request(2).ticket

    # Kept either way, the merged record is the customer's who has the address now.
    assert later.customer not in (known, new)
    pair = DuplicatePair.objects.get(status="open")
    assert {pair.left_id, pair.right_id} == {survivor.pk, later.customer_id}


def test_unverified_requests_from_an_unknown_address_make_one_customer(company, desk):
    sender = "李强 <liqiang@other.example.com>"
    first, second = (_request(n, sender=sender).ticket for n in (1, 2))
    assert first.customer == second.customer
    assert list(first.customer.emails.values_list("address", flat=True)) == [
        "liqiang@other.example.com"
    ]
    assert not DuplicatePair.objects.exists()


def test_the_pair_stays_queued_through_a_duplicate_scan(company, desk, known):
    # The scan reads no ticket's address, so it does not find this pair again; it must not
    # drop it as one it no longer finds.
    _request(1)
    pair = DuplicatePair.objects.get()
    call_command("dedup", "scan", stdout=io.StringIO())
    assert DuplicatePair.objects.get(pk=pair.pk).status == "open"


def test_once_a_verified_request_went_to_it_unverified_ones_no_longer_join_it(company, desk):
    # The first unverified request from an address no customer has makes a customer holding
    # it; a verified request from the address then goes there, as to anyone who has it, which
    # makes it that person's record: a forged request must not be filed under it from then on.
    made = _request(1).ticket.customer
    assert list(made.emails.values_list("address", flat=True)) == [ADDRESS]
    assert _request(2, PASS).ticket.customer == made

    forged = _request(3).ticket

    assert forged.customer != made and forged.sender_unverified
    assert not forged.customer.emails.exists()
    pair = DuplicatePair.objects.get()
    assert {pair.left_id, pair.right_id} == {made.pk, forged.customer_id}
    assert pair.source == "intake"


def _claimed(company, customer):
    customers_reassign(
        actor=company.admin,
        from_owner_id=None,
        to_owner_id=company.rep.pk,
        customer_ids=[customer.pk],
    )


def _called(company, customer):
    interaction_log(
        actor=company.agent,
        customer_id=customer.pk,
        data={"channel": "phone", "direction": "outbound", "subject": "回电确认退款账户"},
    )


def _blacklisted(company, customer):
    blacklist_add(actor=company.admin, customer_id=customer.pk, reason="冒用他人账户申请退款")


@pytest.mark.parametrize(
    "taken_on",
    [_claimed, _called, _blacklisted],
    ids=["given an owner", "called", "blacklisted"],
)
def test_once_staff_took_the_customer_on_unverified_requests_no_longer_join_it(
    company, desk, known, taken_on
):
    # A rep given the customer, or an agent who phoned them, deals with them as a real person
    # from then on, and whoever put them on the blacklist judged them as one: a forged request
    # must not be filed under that record.
    made = _request(1).ticket.customer
    taken_on(company, made)

    later = _request(2).ticket

    assert later.customer not in (made, known) and later.sender_unverified
    assert Customer.objects.filter(pk=made.pk, deleted_at__isnull=True).exists()


def test_an_answer_to_the_request_keeps_later_ones_joining_it(company, desk, known):
    # Answering is what the desk does with every request; it does not make the record anyone's.
    first = _request(1).ticket
    ticket_reply(actor=company.agent, ticket_id=first.pk, body="请提供订单号。")

    assert _request(2).ticket.customer == first.customer


def test_a_look_at_the_numbers_in_full_keeps_later_ones_joining_it(company, desk, known):
    # An agent answering may need the number to call back; looking vouches for no one.
    first = _request(1).ticket
    customer_reveal_sensitive(actor=company.manager, customer_id=first.customer_id)

    assert _request(2).ticket.customer == first.customer
