"""Whoever reads a ticket's subject and description with the numbers in them masked cannot
learn a hidden number by writing a guess where its stars were: the ticket is changed, or not,
the same whether the guess is right or wrong (the rule the customer's notes follow)."""

import pytest
from django.test import Client

from guanxi.accounts.services import api_token_create
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db

SUBJECT = "回电 138 9041 7762"
DESCRIPTION = "客户座机 8765 4321，\n手机 138\n9041 7762，周三下午回电"
RIGHT_SUBJECT, WRONG_SUBJECT = SUBJECT, "回电 138 5555 7762"


def _outcome(company, data: dict) -> dict:
    ticket = services.ticket_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": SUBJECT, "description": DESCRIPTION},
    )
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="guesses")
    client, headers = Client(), {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/tickets/{ticket.pk}"
    read = client.get(url, headers=headers).json()
    answer = client.patch(
        url,
        data={"version": read["version"], **data},
        content_type="application/json",
        headers=headers,
    )
    after = client.get(url, headers=headers).json()
    stored = Ticket.objects.get(pk=ticket.pk)
    return {
        "status": answer.status_code,
        "fields": sorted(e["field"] for e in answer.json().get("errors", [])),
        "read": (read["subject"], read["description"]),
        "after": (after["subject"], after["description"], after["version"] - read["version"]),
        "stored": (stored.subject, stored.description),
    }


def test_the_numbers_in_a_ticket_read_masked_wrapped_and_local_ones_too(company):
    outcome = _outcome(company, {})
    assert outcome["read"] == (
        "回电 138 **** 7762",
        "客户座机 **** 4321，\n手机 138\n**** 7762，周三下午回电",
    )


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda subject: {"subject": subject}, id="the-number-alone"),
        pytest.param(
            lambda subject: {"subject": subject, "priority": "high"}, id="with-another-field"
        ),
        pytest.param(lambda subject: {"subject": "Urgent: " + subject}, id="with-words-added"),
    ],
)
def test_a_guess_in_a_ticket_subject_is_answered_the_same_whatever_its_digits(company, edit):
    right = _outcome(company, edit(RIGHT_SUBJECT))
    wrong = _outcome(company, edit(WRONG_SUBJECT))
    assert right == wrong
    assert right["stored"] == (SUBJECT, DESCRIPTION)


@pytest.mark.parametrize(
    "guess", [("8765 4321", "138\n9041 7762"), ("2222 4321", "138\n0000 7762")]
)
def test_a_guess_in_a_ticket_description_is_refused_whatever_its_digits(company, guess):
    local, mobile = guess
    description = f"客户座机 {local}，\n手机 {mobile}，周四下午回电"
    outcome = _outcome(company, {"description": description})
    assert (outcome["status"], outcome["fields"]) == (422, ["description"])
    assert outcome["stored"] == (SUBJECT, DESCRIPTION)


def _latest_change(company) -> dict:
    """The changes of the latest ticket row in the customer's history, as the rep reads them."""
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="history")
    answer = Client().get(
        f"/api/v1/customers/{company.rep_customer.pk}/history",
        headers={"Authorization": f"Bearer {raw}"},
    )
    return next(item["changes"] for item in answer.json()["items"] if item["action"] == "update")


@pytest.mark.parametrize(
    "spaced",
    [
        pytest.param(lambda subject: subject.replace(" ", "    "), id="four-spaces"),
        pytest.param(lambda subject: subject.replace(" ", "\n\n"), id="blank-lines"),
        pytest.param(lambda subject: subject.replace(" ", "\t\t\t\t"), id="tabs"),
    ],
)
def test_a_guess_spaced_as_the_subject_is_not_kept_is_answered_the_same(company, spaced):
    """A subject is stored on one line with single spaces: a guess spaced otherwise is judged as
    it would be stored, or the right one would be no change and a wrong one a change in the
    history written over the number."""
    right = _outcome(company, {"subject": spaced(RIGHT_SUBJECT)})
    right["history"] = _latest_change(company)
    wrong = _outcome(company, {"subject": spaced(WRONG_SUBJECT)})
    wrong["history"] = _latest_change(company)
    assert right == wrong
    assert wrong["stored"] == (SUBJECT, DESCRIPTION)


def test_a_subject_of_two_lines_sent_back_as_read_is_kept(company):
    """A ticket from before subjects were kept on one line may hold a line break: its subject
    sent back as read, beside another change, is no change to it, not refused."""
    ticket = services.ticket_create(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": SUBJECT, "description": DESCRIPTION},
    )
    Ticket.objects.filter(pk=ticket.pk).update(subject="回电\n138 9041 7762")
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="two lines")
    client, headers = Client(), {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/tickets/{ticket.pk}"
    read = client.get(url, headers=headers).json()
    assert read["subject"] == "回电\n138 **** 7762"
    answer = client.patch(
        url,
        data={"version": read["version"], "subject": read["subject"], "priority": "high"},
        content_type="application/json",
        headers=headers,
    )
    assert answer.status_code == 200, answer.content
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.subject, stored.priority) == ("回电\n138 9041 7762", "high")
