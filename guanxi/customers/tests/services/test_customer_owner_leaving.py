"""A customer given to an account manager who is being deleted or deactivated at that moment,
or whose previous account manager is being deactivated with the new one as successor. The
named owner is locked (as the database's check of the customer's owner would lock them only as
the save commits) before the customer and its organisation, as a deactivation locks the leaver
and their successor and then the customers they own: a deletion or deactivation under way is
waited for and the owner then refused by name, rather than the save failing on a user gone as it
commits (a server error), the customer going to someone who has left after their customers were
handed over, or the two writers waiting for each other. Real concurrency needs PostgreSQL."""

from django.core.exceptions import ValidationError

from guanxi.accounts import services as accounts_services
from guanxi.accounts.roles import Role
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, hold_before, second_waits_for_first
from guanxi.customers import services
from guanxi.customers.models import Customer

pytestmark = CONCURRENT


def _newcomer(company):
    return UserFactory(
        username="newcomer", role=Role.SALES_REP, department=company.east, team=company.team_a
    )


def _giving(company, owner):
    customer = company.unowned_customer
    return lambda: services.customer_update(
        actor=company.admin,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"owner_id": owner.pk},
    )


def _creating(company, owner):
    return lambda: services.customer_create(
        actor=company.admin, data={"name": "钱坤", "owner_id": owner.pk}
    )


def _deleting(company, user):
    return lambda: accounts_services.users_delete(actor=company.admin, user_ids=[user.pk])


def _refused_as_no_active_user(result):
    assert result[0] == "error", result
    assert isinstance(result[1], ValidationError), result[-1]
    assert result[1].message_dict == {"owner_id": ["No such active user."]}


def test_a_customer_given_to_someone_being_deleted_is_refused(company, monkeypatch):
    newcomer = _newcomer(company)
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        _deleting(company, newcomer), _giving(company, newcomer), hold, names=("deletion", "save")
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    _refused_as_no_active_user(results["save"])
    assert Customer.objects.get(pk=company.unowned_customer.pk).owner_id is None


def test_a_customer_created_for_someone_being_deleted_is_refused(company, monkeypatch):
    newcomer = _newcomer(company)
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        _deleting(company, newcomer), _creating(company, newcomer), hold, names=("deletion", "save")
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    _refused_as_no_active_user(results["save"])
    assert not Customer.objects.filter(name="钱坤").exists()


def test_a_customer_given_to_someone_being_deactivated_is_refused(company, monkeypatch):
    newcomer = _newcomer(company)
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: accounts_services.user_deactivate(actor=company.admin, user_id=newcomer.pk),
        _giving(company, newcomer),
        hold,
        names=("deactivation", "save"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    _refused_as_no_active_user(results["save"])
    assert Customer.objects.get(pk=company.unowned_customer.pk).owner_id is None


def test_a_customer_given_to_the_successor_of_its_leaving_owner_does_not_deadlock(
    company, monkeypatch
):
    # The representative's customer is given to their teammate while the representative is
    # deactivated with the teammate as successor: the save, holding the customer, waited for
    # the teammate as it committed, and the deactivation, holding the teammate, for the customer.
    customer = company.rep_customer
    hold = hold_after_first(monkeypatch, services, "access_customer", thread="save")
    results = second_waits_for_first(
        lambda: services.customer_update(
            actor=company.admin,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"owner_id": company.teammate.pk},
        ),
        lambda: accounts_services.user_deactivate(
            actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk
        ),
        hold,
        names=("save", "deactivation"),
    )
    assert results["save"][0] == "ok", results["save"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Customer.objects.get(pk=customer.pk).owner_id == company.teammate.pk
