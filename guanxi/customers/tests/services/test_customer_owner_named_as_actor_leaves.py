"""A manager creating or changing a customer, naming a colleague as its account manager, at the
moment the manager is deactivated with that colleague as successor. The deactivation locks the
two users in ascending id order (the manager, the older, first) and then the manager's
customers. The write locked the named owner first and the manager only afterwards: each waited
for the user the other held, and the database broke one of them off as a deadlock. Real
concurrency needs PostgreSQL."""

import pytest
from django.core.exceptions import PermissionDenied

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update

pytestmark = CONCURRENT


def _leaver_and_successor(company) -> tuple[User, User]:
    leaver = UserFactory(username="manager_east_2", role=Role.MANAGER, department=company.east)
    successor = UserFactory(
        username="rep_east_2", role=Role.SALES_REP, department=company.east, team=company.team_a
    )
    assert leaver.pk < successor.pk
    return leaver, successor


def _create(leaver, successor, customer):
    return customer_create(actor=leaver, data={"name": "钱塘贸易", "owner_id": successor.pk})


def _update(leaver, successor, customer):
    return customer_update(
        actor=leaver,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"owner_id": successor.pk},
    )


@pytest.mark.parametrize("write", [_create, _update], ids=["create", "update"])
def test_a_write_naming_the_successor_of_an_actor_being_deactivated_does_not_deadlock(
    company, monkeypatch, write
):
    leaver, successor = _leaver_and_successor(company)
    customer = company.rep_customer
    # Held once the users are locked, before the customer is.
    hold = hold_before(monkeypatch, customer_services, "_lock_organisation", thread="write")

    results = second_waits_for_first(
        lambda: write(leaver, successor, customer),
        lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=successor.pk),
        hold,
        names=("write", "deactivate"),
    )

    assert results["write"][0] == "ok", results["write"][-1]
    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    assert not User.objects.get(pk=leaver.pk).is_active
    assert results["write"][1].owner_id == successor.pk
    assert not Customer.objects.filter(owner=leaver).exists()


def test_a_customer_created_by_someone_deactivated_meanwhile_is_refused(company, monkeypatch):
    leaver, _successor = _leaver_and_successor(company)
    customer_create(actor=company.admin, data={"name": "西湖茶庄", "owner_id": leaver.pk})
    # Held once the leaver is locked, before the customers they own are.
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to="pool"),
        lambda: customer_create(actor=leaver, data={"name": "钱塘贸易"}),
        hold,
        names=("deactivate", "create"),
    )

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    outcome = results["create"]
    assert outcome[0] == "error" and isinstance(outcome[1], PermissionDenied), outcome[-1]
    assert not Customer.objects.filter(name="钱塘贸易").exists()
