"""After each change that moves a person between organisations or renames one, the search finds
the person by the name of the organisation they now belong to, and only for whoever may see it:
an organisation renamed, a person moved to another organisation or out of one, a person
restored from the recycle bin after their organisation was renamed, organisations merged and
the merge undone. And digits of an organisation's name find its people for someone who sees
phone numbers masked whatever the people's hidden digits hold."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create, customer_delete, customer_restore
from guanxi.customers.services import customer_update as _customer_update
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def _found(user, query: str) -> set[str]:
    return set(customer_list_for_user(user, filters={"q": query}).values_list("name", flat=True))


def _organisation(actor, name: str) -> Customer:
    return customer_create(actor=actor, data={"name": name, "party_type": "organization"})


def _person(company, name: str, organisation: Customer | None, **data) -> Customer:
    """A person of the East rep's (who sees phone numbers masked)."""
    return customer_create(
        actor=company.admin,
        data={
            "name": name,
            "owner_id": company.rep.pk,
            "organization_id": organisation.pk if organisation else None,
            **data,
        },
    )


def _update(actor, customer: Customer, **data) -> Customer:
    customer.refresh_from_db()
    return _customer_update(
        actor=actor, customer_id=customer.pk, expected_version=customer.version, data=data
    )


def test_people_are_found_by_their_organisations_new_name_once_it_is_renamed(company):
    west = _organisation(company.rep_west, "Quillfeather Ltd")
    _person(company, "李雷", west)
    _update(company.admin, west, name="Marrowgate Ltd")
    assert _found(company.admin, "Marrowgate") == {"Marrowgate Ltd", "李雷"}
    assert _found(company.admin, "Quillfeather") == set()
    assert _found(company.rep, "Marrowgate") == set()  # out of the East rep's sight


def test_a_person_moved_is_found_by_the_name_of_the_organisation_they_moved_to(company):
    west = _organisation(company.rep_west, "Quillfeather Ltd")
    east = _organisation(company.rep, "Marrowgate Ltd")
    li = _person(company, "李雷", west)
    assert _found(company.rep, "Quillfeather") == set()
    _update(company.admin, li, organization_id=east.pk)
    assert _found(company.rep, "Marrowgate") == {"Marrowgate Ltd", "李雷"}
    assert _found(company.rep, "Quillfeather") == set()
    assert _found(company.admin, "Quillfeather") == {"Quillfeather Ltd"}
    _update(company.admin, li, organization_id=None)
    assert _found(company.rep, "Marrowgate") == {"Marrowgate Ltd"}
    assert _found(company.admin, "Marrowgate") == {"Marrowgate Ltd"}


def test_a_person_restored_is_found_by_the_name_their_organisation_has_now(company):
    west = _organisation(company.rep_west, "Quillfeather Ltd")
    li = _person(company, "李雷", west)
    customer_delete(actor=company.admin, customer_id=li.pk)
    _update(company.admin, west, name="Marrowgate Ltd")
    customer_restore(actor=company.admin, customer_id=li.pk)
    assert _found(company.admin, "Marrowgate") == {"Marrowgate Ltd", "李雷"}
    assert _found(company.admin, "Quillfeather") == set()
    assert _found(company.rep, "Marrowgate") == set()
    assert _found(company.rep, "李雷") == {"李雷"}


def test_people_of_merged_organisations_are_found_by_the_name_of_theirs_and_back(company):
    east = _organisation(company.rep, "Marrowgate Ltd")
    west = _organisation(company.rep_west, "Quillfeather Ltd")
    _person(company, "李雷", west)
    _person(company, "韩梅", east)
    assert _found(company.rep, "Quillfeather") == set()
    merge = customers_merge(actor=company.admin, survivor_id=east.pk, merged_id=west.pk)
    # Both now in the organisation the East rep sees, by its name alone.
    assert _found(company.rep, "Marrowgate") == {"Marrowgate Ltd", "李雷", "韩梅"}
    assert _found(company.rep, "Quillfeather") == set()
    assert _found(company.admin, "Quillfeather") == set()
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert _found(company.rep, "Marrowgate") == {"Marrowgate Ltd", "韩梅"}
    assert _found(company.rep, "Quillfeather") == set()
    assert _found(company.admin, "Quillfeather") == {"Quillfeather Ltd", "李雷"}


def test_digits_of_a_seen_organisations_name_find_its_people_whatever_their_hidden_digits(
    company,
):
    # The East rep sees numbers masked (139 **** 5678): 李雷's hidden digits hold 1234, 韩梅's
    # do not. The organisation's name holds 1234 and 12345678, and the rep sees it, so its
    # name finds both: found "unless a phone holds the digits" would tell whose hidden digits
    # hold them.
    east = _organisation(company.rep, "华瑞 1234 贸易 12345678")
    _person(company, "李雷", east, phones=["13912345678"])
    _person(company, "韩梅", east, phones=["13900005678"])
    assert not company.rep.may_view_sensitive()
    everyone = {"华瑞 1234 贸易 12345678", "李雷", "韩梅"}
    assert _found(company.rep, "1234") == everyone
    assert _found(company.rep, "华瑞 1234") == everyone
    assert _found(company.rep, "12345678") == everyone
    assert _found(company.manager, "1234") == everyone  # sees the numbers: as before
