"""A customer search through the API asks the database a fixed, small number of questions for
each role: on a loaded server every round trip costs about a millisecond of a search's time."""

import pytest

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer, Email, Phone, Tag

# What each asks, in order: the token with its user and team; the user's permissions, their own
# and their groups' (not for an administrator, who may see everything); the members of the
# rep's team or the manager's department (not for those who see everyone); the page of
# customers; their phones, emails, tags and organisations in sight.
QUERIES = {"rep": 5, "manager": 5, "agent": 4, "analyst": 4, "admin": 3}


@pytest.fixture
def found(company):
    """Customers of the rep named Zhang: people of an organisation of the rep's, each with a
    phone, an email and tags."""
    tags = [Tag.objects.create(name=name) for name in ("vip", "beijing")]
    organisation = CustomerFactory(
        name="Zhang Trading", party_type=Customer.PartyType.ORGANIZATION, owner=company.rep
    )
    for i in range(4):
        person = CustomerFactory(name=f"Zhang {i}", owner=company.rep, organization=organisation)
        Phone.objects.create(customer=person, number=f"+86139{i:08d}", display=f"+86 139 {i:08d}")
        Email.objects.create(customer=person, address=f"zhang{i}@example.com")
        person.tags.set(tags)
    return company


@pytest.mark.parametrize("username", sorted(QUERIES))
def test_a_search_asks_a_fixed_number_of_queries(
    api_as, found, username, django_assert_num_queries
):
    client = api_as(username)
    client.get("/customers", {"q": "zhang"})  # the token's "last used" stamp: not counted
    with django_assert_num_queries(QUERIES[username]):
        response = client.get("/customers", {"q": "zhang"})
    items = response.json()["items"]
    assert len(items) == 6  # with the rep's 张伟 (zhang)
    person = next(item for item in items if item["name"] == "Zhang 3")
    assert person["organization"]["name"] == "Zhang Trading"
    assert [phone["number_masked"] for phone in person["phones"]] == ["+86 139 ****0003"]
    assert [email["address"] for email in person["emails"]] == ["zhang3@example.com"]
    assert person["tags"] == ["beijing", "vip"]


def test_a_page_without_organisations_does_not_ask_for_them(
    api_as, found, django_assert_num_queries
):
    client = api_as("rep")
    client.get("/customers", {"q": "trading"})
    with django_assert_num_queries(QUERIES["rep"]):
        response = client.get("/customers", {"q": "trading"})
    assert [item["name"] for item in response.json()["items"]] == ["Zhang Trading"]


def test_a_search_finding_no_one_asks_nothing_about_the_page(
    api_as, found, django_assert_num_queries
):
    client = api_as("rep")
    client.get("/customers", {"q": "nobody"})
    with django_assert_num_queries(QUERIES["rep"] - 1):
        response = client.get("/customers", {"q": "nobody"})
    assert response.json()["items"] == []
