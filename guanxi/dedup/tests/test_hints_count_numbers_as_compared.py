"""The duplicate hints compare a typed phone as libphonenumber reads it (``phone_key``): with an
extension after an x, dashes of other widths, letters of a keypad. A hint saying "same mobile
phone" of such a spelling answers yes or no to a guess at the hidden digits as the plain
number does, so it counts towards the whole-number limit as that number (README, "Sensitive
data"), whatever the search's own reading of the text."""

import pytest
from django.test import Client

from guanxi.customers.models import WholeNumberLookup
from guanxi.customers.services import (
    WHOLE_NUMBER_LIMITS,
    customer_create,
    whole_number_lookups_count,
)
from guanxi.tests.test_authorization_walk import _token_client

pytestmark = pytest.mark.django_db

LIMIT, _WINDOW = WHOLE_NUMBER_LIMITS[0]
# Spellings of +86 138 0012 5678 that the hints compare as that number.
SPELLINGS = [
    "13800125678x1",  # an extension after an x
    "138–0012–5678",  # en dashes
    "138-0012-JMPT",  # keypad letters: J 5, M 6, P 7, T 8
]


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.admin,
        data={"name": "Mobile Person", "phones": ["+86 138 0012 5678"], "owner_id": company.rep.pk},
    )


def _hints(client, phone):
    return client.post(
        "/duplicates/hints/",
        {
            "party_type": "person",
            "name": "Mobile Person",
            "phone_number": phone,
            "phone_label": "mobile",
        },
    )


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_spelling_the_hints_compare_is_counted_as_the_number(company, customer, spelling):
    client = Client()
    client.force_login(company.rep)
    hints = _hints(client, spelling)
    assert hints.status_code == 200
    assert f"/customers/{customer.pk}/" in hints.content.decode()  # the number was compared
    assert WholeNumberLookup.objects.filter(user=company.rep).count() == 1
    # As the number itself: typing it plainly then is no new lookup.
    _hints(client, "138 0012 5678")
    assert WholeNumberLookup.objects.filter(user=company.rep).count() == 1


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_over_the_limit_such_a_spelling_is_refused(company, customer, spelling):
    whole_number_lookups_count(
        actor=company.rep,
        numbers=[f"+86139{middle:04d}5678" for middle in range(LIMIT)],
        field="q",
    )
    client = Client()
    client.force_login(company.rep)
    hints = _hints(client, spelling)
    assert hints.status_code == 200  # htmx swaps only a successful answer
    assert "Too many searches for whole phone numbers" in hints.content.decode()
    assert f"/customers/{customer.pk}/" not in hints.content.decode()
    api, headers = _token_client(company.rep)
    checked = api.post(
        "/api/v1/customers/duplicates",
        {"name": "Mobile Person", "phones": [spelling]},
        content_type="application/json",
        headers=headers,
    )
    assert checked.status_code == 429
    assert [e["field"] for e in checked.json()["errors"]] == ["phones"]
