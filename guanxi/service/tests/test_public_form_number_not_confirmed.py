"""A number typed on the public form (no sign-in) does not file the request under the customer
who has it: a member of staff who sees numbers masked could otherwise send the form a guessed
number and see on the desk which customer its ticket went to, confirming the hidden digits
without the limit on whole-number look-ups. The requester becomes a new customer holding the
number either way; who sees numbers in full is shown the pair to merge."""

import pytest

from guanxi.customers.models import Customer, Phone
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.selectors import (
    duplicate_pairs_for_user,
    open_pairs_of_customer_for_user,
    reasons_for_user,
)
from guanxi.dedup.templatetags.dedup_tags import reason_label
from guanxi.service.models import Ticket
from guanxi.service.selectors import tickets_for_user

pytestmark = pytest.mark.django_db

NUMBER = "+8613812345678"


@pytest.fixture
def holder(company):
    customer = company.rep_customer
    Phone.objects.create(customer=customer, number=NUMBER, display="138 1234 5678")
    return customer


def _send_form(client, phone: str, subject: str) -> Ticket:
    response = client.post(
        "/service/help/",
        {"name": "测试", "email": f"{subject}@guess.example", "phone": phone, "type": "inquiry",
         "subject": subject, "description": "请回电。"},
    )  # fmt: skip
    assert response.status_code == 200
    return Ticket.objects.get(subject=subject)


def _what_a_masked_viewer_sees(user, ticket: Ticket, holder: Customer) -> dict:
    return {
        "new customer": ticket.customer_id != holder.pk,
        "holds the number typed": ticket.customer.phones.exists(),
        "on the holder's tickets": tickets_for_user(user, customer_id=holder.pk)
        .filter(pk=ticket.pk)
        .exists(),
        "pairs": list(duplicate_pairs_for_user(user)),
        "pairs of the new customer": list(open_pairs_of_customer_for_user(user, ticket.customer)),
    }


def test_a_guessed_number_sent_through_the_form_is_not_confirmed_on_the_desk(
    client, company, desk, clock, holder
):
    hit = _send_form(client, "138 1234 5678", "guess-right")
    miss = _send_form(client, "138 1234 5679", "guess-wrong")

    # Not filed under the customer who has the number.
    assert hit.customer_id != holder.pk
    assert not Ticket.objects.filter(customer=holder, subject="guess-right").exists()
    # What the agent, who sees numbers masked and may see the holder, is shown of the right
    # guess is what they are shown of the wrong one.
    agent = company.agent
    assert not agent.may_view_sensitive()
    seen_hit = _what_a_masked_viewer_sees(agent, hit, holder)
    seen_miss = _what_a_masked_viewer_sees(agent, miss, holder)
    assert seen_hit == seen_miss
    assert seen_hit["new customer"] and seen_hit["holds the number typed"]
    assert seen_hit["pairs"] == [] and seen_hit["pairs of the new customer"] == []


def test_who_sees_numbers_in_full_is_offered_the_customer_who_has_the_number(
    client, company, desk, clock, holder
):
    ticket = _send_form(client, "+86 138-1234-5678", "callback")

    admin = company.admin
    assert admin.may_view_sensitive()
    [pair] = duplicate_pairs_for_user(admin)
    assert {pair.left_id, pair.right_id} == {holder.pk, ticket.customer_id}
    assert pair.source == DuplicatePair.Source.INTAKE
    [reason] = reasons_for_user(admin, pair.details["fields"])
    assert reason_label(reason) == "request through the public form giving their mobile phone"
    assert [p.pk for p in open_pairs_of_customer_for_user(admin, holder)] == [pair.pk]


def test_the_same_address_still_files_the_request_under_its_customer(
    client, company, desk, clock, holder
):
    first = _send_form(client, "138 1234 5678", "again")
    second = client.post(
        "/service/help/",
        {"name": "测试", "email": "again@guess.example", "phone": "138 1234 5678",
         "type": "inquiry", "subject": "again-2", "description": "还是我。"},
    )  # fmt: skip
    assert second.status_code == 200
    assert Ticket.objects.get(subject="again-2").customer_id == first.customer_id
    assert DuplicatePair.objects.count() == 1


def _send_form_as(client, name: str, phone: str, subject: str) -> Ticket:
    response = client.post(
        "/service/help/",
        {"name": name, "email": f"{subject}@guess.example", "phone": phone, "type": "inquiry",
         "subject": subject, "description": "请回电。"},
    )  # fmt: skip
    assert response.status_code == 200
    return Ticket.objects.get(subject=subject)


def _pairs_with(user, customer: Customer, other: Customer) -> list[DuplicatePair]:
    return [
        pair
        for pair in open_pairs_of_customer_for_user(user, customer)
        if other.pk in (pair.left_id, pair.right_id)
    ]


def test_a_scan_does_not_show_a_masked_viewer_the_pair_the_form_queued(
    client, company, desk, clock, holder
):
    """The scan finds the same pair by the number, and the holder's name typed on the form
    makes it as likely as any: it must not show it to whoever sees numbers masked, which would
    confirm the guess a night later."""
    from guanxi.dedup.scan import scan_duplicates

    hit = _send_form_as(client, holder.name, "138 1234 5678", "name-and-right-number")
    miss = _send_form_as(client, holder.name, "138 1234 5679", "name-and-wrong-number")
    scan_duplicates()

    agent = company.agent
    assert _pairs_with(agent, holder, hit.customer) == _pairs_with(agent, holder, miss.customer)
    assert _pairs_with(agent, holder, hit.customer) == []
    # Who sees numbers in full still has it to merge.
    assert len(_pairs_with(company.admin, holder, hit.customer)) == 1


def test_every_customer_who_has_the_number_stays_hidden_after_a_scan(
    client, company, desk, clock, holder
):
    """Two customers may have one number (a shared office line): the form queues the
    requester with each, so that the scan finds none of them unqueued to show."""
    from guanxi.core.testing.factories import CustomerFactory
    from guanxi.dedup.scan import scan_duplicates

    second = CustomerFactory(name=holder.name, owner=holder.owner)
    Phone.objects.create(customer=second, number=NUMBER, display="138 1234 5678")
    hit = _send_form_as(client, holder.name, "138 1234 5678", "shared-line")
    scan_duplicates()

    agent = company.agent
    assert _pairs_with(agent, second, hit.customer) == []
    assert _pairs_with(agent, holder, hit.customer) == []
    assert len(_pairs_with(company.admin, second, hit.customer)) == 1


def test_a_decision_on_the_hidden_pair_is_not_in_the_history_a_masked_viewer_reads(
    client, company, desk, clock, holder
):
    """Who sees numbers in full deciding that the requester is not the customer who has the
    number says both customers' histories; read by whoever sees numbers masked, the row would
    tell them a pair was queued, which only the number did."""
    from guanxi.customers.history import describe_history
    from guanxi.customers.selectors import customer_history_for_user
    from guanxi.dedup.services import duplicate_pair_reject

    hit = _send_form(client, "138 1234 5678", "decided")
    [pair] = DuplicatePair.objects.all()
    duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)

    def headlines(user, customer):
        history = customer_history_for_user(user, customer.pk)
        entries = describe_history(list(history.events()), viewer=user, history=history)
        return [entry.event.object_type for entry in entries]

    agent = company.agent
    assert "duplicate_pair" not in headlines(agent, hit.customer)
    assert "duplicate_pair" not in headlines(agent, holder)
    assert "duplicate_pair" in headlines(company.admin, hit.customer)
