"""Whoever reads a customer's notes with a number in them masked cannot learn the hidden digits
by writing a guess where the stars were and watching what becomes of the save: the notes are
treated the same whether the guess is the stored number or not. Written in place of the stars
with nothing else changed, the notes stay as stored (as if sent back as read); with other
words changed too, they are refused naming the notes. A number that is not the masked one
(other digits where the mask shows them) is taken as any other rewrite."""

import pytest
from django.test import Client

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

from .phone_edits import api_headers, api_patch

pytestmark = pytest.mark.django_db

NOTES = "手机 138 9041 7762。周三下午回电"
AS_READ = "手机 138 **** 7762。周三下午回电"
RIGHT, WRONG = "138 9041 7762", "138 5555 7762"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _outcome(company, notes_with_guess: str) -> dict:
    """What the rep sees of sending ``notes_with_guess`` for a customer whose notes are NOTES,
    and what became of the stored notes."""
    customer = customer_create(actor=company.rep, data={"name": "王芳", "notes": NOTES})
    headers = api_headers(company.rep)
    client = Client()
    answer = api_patch(
        client, customer, {"version": customer.version, "notes": notes_with_guess}, headers
    )
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    history = client.get(f"/api/v1/customers/{customer.pk}/history", **headers).json()
    return {
        "status": answer.status_code,
        "fields": sorted(e["field"] for e in answer.json().get("errors", [])),
        "versions": read["version"] - customer.version,
        "notes": read["notes"],
        "history": [item["changes"] for item in history["items"] if item["action"] == "update"],
        "stored": Customer.objects.get(pk=customer.pk).notes,
    }


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda guess: NOTES.replace(RIGHT, guess), id="the-number-alone"),
        pytest.param(
            lambda guess: NOTES.replace(RIGHT, guess).replace("周三", "周四"),
            id="with-other-words-changed",
        ),
        pytest.param(
            lambda guess: NOTES.replace(RIGHT, guess.replace(" ", "")) + "\n已寄样品",
            id="respaced-with-a-line-added",
        ),
        pytest.param(
            lambda guess: NOTES.replace(RIGHT, guess).replace("\n", "\r\n") + "\r\n",
            id="as-a-browser-sends-it",
        ),
        pytest.param(
            lambda guess: NOTES.replace(RIGHT, guess.translate(FULL_WIDTH)).replace("周三", "周四"),
            id="in-full-width-digits",
        ),
        pytest.param(
            lambda guess: NOTES.replace(RIGHT, guess.replace(" ", "\n", 1)),
            id="wrapped-at-the-end-of-a-line",
        ),
    ],
)
def test_a_guess_in_place_of_a_masked_number_is_answered_the_same_whatever_its_digits(
    company, edit
):
    assert not company.rep.may_view_sensitive()
    right, wrong = _outcome(company, edit(RIGHT)), _outcome(company, edit(WRONG))
    assert right == wrong
    # Neither the guess nor anything else of it is written over the stored number.
    assert right["stored"] == NOTES
    assert right["notes"] == AS_READ


def test_the_number_alone_guessed_is_no_change_to_the_notes(company):
    outcome = _outcome(company, NOTES.replace(RIGHT, WRONG))
    assert outcome["status"] == 200
    assert [changes for changes in outcome["history"] if "notes" in changes] == []
    assert outcome["stored"] == NOTES


def test_other_words_changed_beside_a_guess_are_refused_naming_the_notes(company):
    outcome = _outcome(company, NOTES.replace(RIGHT, WRONG).replace("周三", "周四"))
    assert (outcome["status"], outcome["fields"]) == (422, ["notes"])


def test_another_number_in_place_of_the_masked_one_is_taken(company):
    """Digits that differ where the mask shows them make another number, not a guess at the
    hidden ones: the notes are rewritten without the masked number, and taken."""
    notes = NOTES.replace(RIGHT, "137 6620 9153").replace("周三", "周四")
    outcome = _outcome(company, notes)
    assert (outcome["status"], outcome["stored"]) == (200, notes)
    assert outcome["notes"] == "手机 137 **** 9153。周四下午回电"


def test_whoever_may_see_numbers_writes_them_as_they_like(company):
    customer = customer_create(actor=company.manager, data={"name": "王芳", "notes": NOTES})
    notes = NOTES.replace(RIGHT, WRONG).replace("周三", "周四")
    answer = api_patch(
        Client(),
        customer,
        {"version": customer.version, "notes": notes},
        api_headers(company.manager),
    )
    assert answer.status_code == 200, answer.content
    assert Customer.objects.get(pk=customer.pk).notes == notes
