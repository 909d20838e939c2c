"""The customer list page searched asks the database a fixed, small number of questions for
each role, and shows each row's company, first phone (masked), first email and tags."""

import re

import pytest

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer, Email, Phone, Tag

pytestmark = pytest.mark.django_db

# What each asks, in order: the session; its user; the people of the account manager filter;
# the rep's team and its members, or the manager's department's members; the user's
# permissions, their own and their groups' (not for an administrator); the page of customers;
# their phones, emails, tags and organisations in sight; the unread notifications; the user's
# department, named in the top bar.
QUERIES = {"rep": 10, "manager": 9, "agent": 8, "analyst": 7, "admin": 6}


@pytest.fixture
def found(company):
    """Customers of the rep named Zhang: people of an organisation of the rep's, each with two
    phones (the second one primary), two emails and tags."""
    tags = [Tag.objects.create(name=name) for name in ("vip", "beijing")]
    organisation = CustomerFactory(
        name="Zhang Trading", party_type=Customer.PartyType.ORGANIZATION, owner=company.rep
    )
    for i in range(4):
        person = CustomerFactory(
            name=f"Zhang {i}", owner=company.rep, organization=organisation, company="Own words"
        )
        Phone.objects.create(customer=person, number=f"+86138{i:08d}", display=f"+86 138 {i:08d}")
        Phone.objects.create(
            customer=person,
            number=f"+86139{i:08d}",
            display=f"+86 139 {i:08d}",
            is_primary=True,
        )
        Email.objects.create(customer=person, address=f"zhang{i}@example.com")
        Email.objects.create(customer=person, address=f"other{i}@example.com")
        person.tags.set(tags)
    return company


def _row(html: str, name: str) -> str:
    """The table row of the customer named ``name``."""
    pattern = rf'<tr>\s*<td class="primary-cell"><a [^>]*>{name}</a>.*?</tr>'
    return re.search(pattern, html, re.S)[0]


@pytest.mark.parametrize("username", sorted(QUERIES))
def test_a_search_asks_a_fixed_number_of_queries(
    client, found, username, django_assert_num_queries
):
    client.force_login(getattr(found, username))
    with django_assert_num_queries(QUERIES[username]):
        response = client.get("/customers/", {"q": "zhang"})
    row = _row(response.content.decode(), "Zhang 3")
    assert "Zhang Trading" in row and "Own words" not in row
    assert "+86 139 ****0003" in row and "0000003" not in row
    assert "zhang3@example.com" in row and "other3@example.com" not in row
    assert re.findall(r'<span class="tag">(\w+)</span>', row) == ["beijing", "vip"]


def test_a_person_whose_organisation_is_out_of_sight_shows_their_own_company(
    client, found, django_assert_num_queries
):
    """The West rep sees a person of the rep's (moved to them) but not the organisation."""
    person = Customer.objects.get(name="Zhang 3")
    person.owner = found.rep_west
    person.save()
    client.force_login(found.rep_west)
    with django_assert_num_queries(QUERIES["rep"]):
        response = client.get("/customers/", {"q": "zhang"})
    row = _row(response.content.decode(), "Zhang 3")
    assert "Own words" in row and "Zhang Trading" not in row
