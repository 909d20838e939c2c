"""Notes holding a number spelled as a Chinese input method or an old editor writes it (groups
split by the full-width comma, a line ended by a lone carriage return, a landline with its
country code wrapped over lines) are read masked, and saved back by whoever reads them so as
the notes with the number written as read are: a guess in place of the stars is answered the
same whatever its digits. A range of price points reads as typed and leaves the notes
editable."""

import pytest
from django.test import Client

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

from .phone_edits import api_headers, api_patch

pytestmark = pytest.mark.django_db

# The notes as stored, the number in them, a wrong guess at its hidden digits, and the notes as
# whoever sees numbers masked reads them.
SPELLINGS = {
    "full-width-commas": (
        "手机 138，9041，7762。周三下午回电",
        "138，9041，7762",
        "138，5555，7762",
        "手机 138，****，7762。周三下午回电",
    ),
    "lone-carriage-return": (
        "手机 138 9041\r7762\r周三下午回电",
        "138 9041\r7762",
        "138 5555\r7762",
        "手机 138 ****\r7762\r周三下午回电",
    ),
    "country-code-over-lines": (
        "办公室 +86 21\n5876\n3190\n周三下午回电",
        "+86 21\n5876\n3190",
        "+86 21\n5555\n3190",
        "办公室 +86 21\n5***\n3190\n周三下午回电",
    ),
}


def _outcome(company, notes: str, sent: str) -> dict:
    """What the rep sees of sending ``sent`` for a customer whose notes are ``notes``, and what
    became of the stored notes."""
    customer = customer_create(actor=company.rep, data={"name": "王芳", "notes": notes})
    headers = api_headers(company.rep)
    client = Client()
    answer = api_patch(client, customer, {"version": customer.version, "notes": sent}, headers)
    read = client.get(f"/api/v1/customers/{customer.pk}", **headers).json()
    return {
        "status": answer.status_code,
        "fields": sorted(e["field"] for e in answer.json().get("errors", [])),
        "versions": read["version"] - customer.version,
        "notes": read["notes"],
        "stored": Customer.objects.get(pk=customer.pk).notes,
    }


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("other_words_changed", [False, True], ids=["alone", "with-words"])
def test_a_guess_in_place_of_the_stars_is_answered_the_same_whatever_its_digits(
    company, spelling, other_words_changed
):
    assert not company.rep.may_view_sensitive()
    notes, right, wrong, as_read = SPELLINGS[spelling]

    def edit(guess: str) -> str:
        sent = notes.replace(right, guess)
        return sent.replace("周三", "周四") if other_words_changed else sent

    outcomes = [_outcome(company, notes, edit(guess)) for guess in (right, wrong)]
    assert outcomes[0] == outcomes[1]
    assert outcomes[0]["stored"] == notes
    assert outcomes[0]["notes"] == as_read
    expected = (422, ["notes"]) if other_words_changed else (200, [])
    assert (outcomes[0]["status"], outcomes[0]["fields"]) == expected


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_the_notes_sent_back_as_read_keep_the_number(company, spelling):
    notes, _right, _wrong, as_read = SPELLINGS[spelling]
    outcome = _outcome(company, notes, as_read)
    assert (outcome["status"], outcome["stored"], outcome["notes"]) == (200, notes, as_read)


def test_notes_with_a_range_of_price_points_are_editable_by_whoever_sees_numbers_masked(
    company,
):
    notes = "想要价位 2999-3999 的机型，周三下午回电"
    outcome = _outcome(company, notes, notes.replace("周三", "周四"))
    assert (outcome["status"], outcome["fields"]) == (200, [])
    assert outcome["stored"] == outcome["notes"] == notes.replace("周三", "周四")


def test_a_guess_respaced_beside_other_changes_is_refused_whatever_its_digits(company):
    """A guess at a mobile read between full-width commas, written spaced as mobiles usually are
    and sent with other words changed, still masks as the number read masked: refused, rather
    than written over the number unseen."""
    notes, right, _wrong, _as_read = SPELLINGS["full-width-commas"]
    outcomes = [
        _outcome(company, notes, notes.replace(right, guess).replace("周三", "周四"))
        for guess in ("138 9041 7762", "138 5555 7762")
    ]
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0]["status"], outcomes[0]["fields"]) == (422, ["notes"])
    assert outcomes[0]["stored"] == notes
