"""Each person's row carries their organisation's account manager, kept by the database
(``customers.organisation_owner``), whichever way the organisation or the person is written:
the search decides from it whether whoever searches may see the person's organisation."""

import pytest
from django.db import connection

from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.customers.organisation_owner import (
    SQLITE_TRIGGERS,
    restore_sqlite_organisation_owner_triggers,
)
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create, customer_update, customers_reassign
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def _organisation(actor, name: str, **data) -> Customer:
    return customer_create(actor=actor, data={"name": name, "party_type": "organization", **data})


def _person(company, name: str, organisation: Customer | None) -> Customer:
    """A person of the East rep's."""
    return customer_create(
        actor=company.admin,
        data={
            "name": name,
            "owner_id": company.rep.pk,
            "organization_id": organisation.pk if organisation else None,
        },
    )


def _carried(person: Customer) -> int | None:
    return Customer.objects.values_list("organization_owner_id", flat=True).get(pk=person.pk)


def _found(user, query: str) -> set[str]:
    return set(customer_list_for_user(user, filters={"q": query}).values_list("name", flat=True))


def _update(actor, customer: Customer, **data) -> Customer:
    customer.refresh_from_db()
    return customer_update(
        actor=actor, customer_id=customer.pk, expected_version=customer.version, data=data
    )


def test_a_person_carries_the_owner_of_the_organisation_they_join_and_leave(company):
    westward = _organisation(company.rep_west, "Westward Trading")
    eastward = _organisation(company.rep, "Eastward Trading")
    unowned = _organisation(company.admin, "Nobody's Trading", owner_id=None)
    li = _person(company, "李雷", westward)
    loner = _person(company, "Lone Wolf", None)
    assert _carried(li) == company.rep_west.pk
    assert _carried(loner) is None
    assert _carried(westward) is None  # an organisation belongs to none

    _update(company.admin, li, organization_id=eastward.pk)
    assert _carried(li) == company.rep.pk
    _update(company.admin, li, organization_id=unowned.pk)
    assert _carried(li) is None
    _update(company.admin, li, organization_id=westward.pk)
    assert _carried(li) == company.rep_west.pk
    _update(company.admin, li, organization_id=None)
    assert _carried(li) is None


def test_people_follow_their_organisation_through_every_change_of_hands(company):
    organisation = _organisation(company.rep_west, "Westward Trading")
    li = _person(company, "李雷", organisation)
    han = _person(company, "韩梅", organisation)

    _update(company.admin, organisation, owner_id=company.rep.pk)  # the form, the API
    assert (_carried(li), _carried(han)) == (company.rep.pk, company.rep.pk)

    customers_reassign(  # a reassignment
        actor=company.admin,
        from_owner_id=company.rep.pk,
        to_owner_id=None,
        customer_ids=[organisation.pk],
    )
    assert (_carried(li), _carried(han)) == (None, None)

    leaver = UserFactory(username="leaver", role=Role.SALES_REP, team=company.team_a)
    _update(company.admin, organisation, owner_id=leaver.pk)
    assert _carried(li) == leaver.pk
    user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=company.teammate.pk)
    assert (_carried(li), _carried(han)) == (company.teammate.pk, company.teammate.pk)


def test_a_person_saved_from_before_a_hand_over_does_not_write_the_former_owner_back(company):
    organisation = _organisation(company.rep_west, "Westward Trading")
    li = _person(company, "李雷", organisation)
    stale = Customer.objects.get(pk=li.pk)
    assert stale.organization_owner_id == company.rep_west.pk
    _update(company.admin, organisation, owner_id=company.rep.pk)
    stale.job_title = "Buyer"
    stale.save()  # every column, the former owner among them
    assert _carried(li) == company.rep.pk


def test_merged_organisations_people_carry_the_survivors_owner_until_the_undo(company):
    survivor = _organisation(company.rep, "Eastward Trading")
    absorbed = _organisation(company.rep_west, "Eastward Trading Co.")
    li = _person(company, "李雷", absorbed)
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=absorbed.pk)
    assert _carried(li) == company.rep.pk
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert _carried(li) == company.rep_west.pk


def test_the_search_follows_an_organisation_into_and_out_of_sight(company):
    organisation = _organisation(company.rep_west, "Zephyrine Trading")
    _person(company, "李雷", organisation)
    assert _found(company.rep, "Zephyrine") == set()
    _update(company.admin, organisation, owner_id=company.rep.pk)
    assert _found(company.rep, "Zephyrine") == {"Zephyrine Trading", "李雷"}
    _update(company.admin, organisation, owner_id=company.rep_west.pk)
    assert _found(company.rep, "Zephyrine") == set()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite copies tables to alter them")
def test_sqlite_triggers_come_back_after_a_migration_copies_the_table(company):
    organisation = _organisation(company.rep_west, "Westward Trading")
    li = _person(company, "李雷", organisation)
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    _update(company.admin, organisation, owner_id=company.rep.pk)
    assert _carried(li) == company.rep_west.pk  # nothing kept it meanwhile

    restore_sqlite_organisation_owner_triggers()

    assert _carried(li) == company.rep.pk
    _update(company.admin, organisation, owner_id=company.rep_west.pk)
    assert _carried(li) == company.rep_west.pk
