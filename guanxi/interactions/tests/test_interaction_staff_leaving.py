"""A contact logged as had by a colleague who is being deleted or deactivated at that moment.
The colleague named is locked (as the database's check of the contact's staff member would lock
them only as it commits), before the customer, so the deletion or deactivation under way is
waited for and the colleague then refused by name (``staff_id``), rather than the contact failing
on a user gone as it commits (a server error) or crediting someone who had already left. Real
concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.accounts import services as accounts_services
from guanxi.accounts.roles import Role
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = CONCURRENT


def _newcomer(company):
    return UserFactory(
        username="newcomer", role=Role.SALES_REP, department=company.east, team=company.team_a
    )


def _logging(company, staff):
    return lambda: interaction_log(
        actor=company.manager,
        customer_id=company.rep_customer.pk,
        data={"channel": "visit", "subject": "拜访", "staff_id": staff.pk},
    )


def _refused_as_no_active_user(result):
    assert result[0] == "error", result
    assert isinstance(result[1], ValidationError), result[-1]
    assert result[1].message_dict == {"staff_id": ["No such active user."]}


def test_a_contact_credited_to_someone_being_deleted_is_refused(company, monkeypatch):
    newcomer = _newcomer(company)
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[newcomer.pk]),
        _logging(company, newcomer),
        hold,
        names=("deletion", "logging"),
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    _refused_as_no_active_user(results["logging"])
    assert not Interaction.objects.filter(customer=company.rep_customer).exists()


def test_a_contact_credited_to_someone_being_deactivated_is_refused(company, monkeypatch):
    newcomer = _newcomer(company)
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: accounts_services.user_deactivate(actor=company.admin, user_id=newcomer.pk),
        _logging(company, newcomer),
        hold,
        names=("deactivation", "logging"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    _refused_as_no_active_user(results["logging"])
    assert not Interaction.objects.filter(staff=newcomer).exists()
