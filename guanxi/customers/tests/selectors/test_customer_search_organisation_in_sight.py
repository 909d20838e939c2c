"""The search finds a person by their organisation's name only for whoever may see the
organisation: otherwise a search for that name would tell which of the people in sight belong
to it, which no page or answer does. Whoever may see it finds its people by its name as
before, on its own or with words of the person's own."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.selectors import (
    customer_list_for_user,
    deleted_customers_for_user,
    organisations_named,
)
from guanxi.customers.services import customer_create, customer_delete, customer_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def westward(company) -> Customer:
    """An organisation of the West rep's with a Chinese name, a Latin word and digits, and two
    people of the East rep's in it: 李雷 with a company text of his own, 韩梅 without. The East
    rep sees the two people, not the organisation."""
    organisation = customer_create(
        actor=company.rep_west,
        data={"name": "华瑞贸易 Zephyrine 8866 有限公司", "party_type": "organization"},
    )
    for name, company_text in (("李雷", "Plainview Trading"), ("韩梅", "")):
        customer_create(
            actor=company.admin,
            data={
                "name": name,
                "organization_id": organisation.pk,
                "owner_id": company.rep.pk,
                "company": company_text,
                "phones": ["13912345678"],
            },
        )
    return organisation


def _found(user, query: str) -> set[str]:
    found = customer_list_for_user(user, filters={"q": query})
    return set(found.values_list("name", flat=True))


ORGANISATION = "华瑞贸易 Zephyrine 8866 有限公司"
BY_ITS_NAME = ["华瑞", "华瑞贸易", "huarui", "hrmy", "Zephyrine", "zephy", "8866"]


@pytest.mark.parametrize("query", BY_ITS_NAME)
def test_its_people_are_not_found_by_the_name_of_an_organisation_out_of_sight(
    company, westward, query
):
    assert _found(company.rep, query) == set()
    assert _found(company.rep, f"李雷 {query}") == set()
    assert _found(company.manager, query) == set()  # East: the West rep's is out of sight


@pytest.mark.parametrize("query", BY_ITS_NAME)
def test_whoever_sees_the_organisation_finds_its_people_by_its_name(company, westward, query):
    assert _found(company.admin, query) == {ORGANISATION, "李雷", "韩梅"}
    assert _found(company.admin, f"李雷 {query}") == {"李雷"}
    assert _found(company.agent, query) == {ORGANISATION, "李雷", "韩梅"}
    # The West rep sees the organisation, not its people.
    assert _found(company.rep_west, query) == {ORGANISATION}


def test_a_persons_own_words_find_them_whoever_searches(company, westward):
    assert _found(company.rep, "李雷") == {"李雷"}
    assert _found(company.rep, "Plainview") == {"李雷"}
    assert _found(company.rep, "5678") == {"李雷", "韩梅"}  # the digits the mask shows
    assert _found(company.rep, "韩梅 5678") == {"韩梅"}


def test_a_word_both_the_person_and_the_organisation_hold_finds_the_person(company, westward):
    # Her own company text holds the word too: it is hers to be found by.
    person = Customer.objects.get(name="韩梅")
    customer_update(
        actor=company.admin,
        customer_id=person.pk,
        expected_version=person.version,
        data={"company": "Zephyrine"},
    )
    assert _found(company.rep, "Zephyrine") == {"韩梅"}
    assert _found(company.rep, "华瑞") == set()


def test_sharing_the_team_brings_the_organisation_and_its_name_into_sight(company):
    organisation = customer_create(
        actor=company.teammate, data={"name": "宏达科技", "party_type": "organization"}
    )
    customer_create(actor=company.rep, data={"name": "王芳", "organization_id": organisation.pk})
    assert _found(company.rep, "宏达") == {"宏达科技", "王芳"}
    company.team_a.customer_sharing = company.team_a.Sharing.NONE
    company.team_a.save()
    for user in (company.rep, company.teammate):
        user.refresh_from_db()
    assert _found(company.rep, "宏达") == set()
    assert _found(company.teammate, "宏达") == {"宏达科技"}


def test_in_the_recycle_bin_people_are_found_by_their_deleted_organisations_name(company):
    # The bin counts deleted customers as the lists count the others, organisations included.
    organisation = customer_create(
        actor=company.admin, data={"name": "Quillfeather Ltd", "party_type": "organization"}
    )
    tom = customer_create(
        actor=company.admin, data={"name": "Tom", "organization_id": organisation.pk}
    )
    assert _found(company.admin, "Quillfeather") == {"Quillfeather Ltd", "Tom"}
    customer_delete(actor=company.admin, customer_id=tom.pk)
    customer_delete(actor=company.admin, customer_id=organisation.pk)
    assert _found(company.admin, "Quillfeather") == set()
    binned = deleted_customers_for_user(company.admin, query="Quillfeather")
    assert set(binned.values_list("name", flat=True)) == {"Quillfeather Ltd", "Tom"}


def test_organisations_named_still_finds_organisations_by_their_name(company, westward):
    assert [o.name for o in organisations_named(company.rep_west, ORGANISATION)] == [ORGANISATION]
    assert organisations_named(company.rep, ORGANISATION) == []
