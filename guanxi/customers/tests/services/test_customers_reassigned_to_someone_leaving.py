"""Customers handed to an account manager (the bulk reassignment of the customer list and the
API) who is being deleted at that moment, or who is the successor named in the deactivation of
the customers' owner under way. The new account manager is locked (as the database's check of
the customers' owner would lock them only as the move commits) before the customers, as a
deactivation locks the leaver and their successor and then the customers they own: a deletion
is waited for and the account manager then refused by name (``to_owner_id``), rather than the
move failing on a user gone as it commits (a server error), and the two writers no longer wait
for each other. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.core.exceptions import ValidationError

from guanxi.accounts import services as accounts_services
from guanxi.accounts.roles import Role
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services
from guanxi.customers.models import Customer

pytestmark = CONCURRENT


def _reassigning(company, to_owner_id):
    return lambda: services.customers_reassign(
        actor=company.admin,
        from_owner_id=company.rep.pk,
        to_owner_id=to_owner_id,
        customer_ids=[company.rep_customer.pk],
    )


def test_customers_handed_to_someone_being_deleted_are_refused(company, monkeypatch):
    newcomer = UserFactory(
        username="newcomer", role=Role.SALES_REP, department=company.east, team=company.team_a
    )
    hold = hold_before(monkeypatch, accounts_services, "user_access_as_stored", thread="deletion")
    results = second_waits_for_first(
        lambda: accounts_services.users_delete(actor=company.admin, user_ids=[newcomer.pk]),
        _reassigning(company, newcomer.pk),
        hold,
        names=("deletion", "reassignment"),
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    result = results["reassignment"]
    assert result[0] == "error", result
    assert isinstance(result[1], ValidationError), result[-1]
    assert result[1].message_dict == {"to_owner_id": ["No such active user."]}
    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id == company.rep.pk


def test_customers_handed_to_the_successor_of_their_leaving_owner_do_not_deadlock(
    company, monkeypatch
):
    # Held with the customer locked and moved, before its audit rows: the deactivation of its
    # owner, handing their customers to the same colleague, holds the colleague and waits for it.
    hold = hold_before(monkeypatch, services, "audit_record_many", thread="reassignment")
    results = second_waits_for_first(
        _reassigning(company, company.teammate.pk),
        lambda: accounts_services.user_deactivate(
            actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk
        ),
        hold,
        names=("reassignment", "deactivation"),
    )
    assert results["reassignment"] == ("ok", 1), results["reassignment"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Customer.objects.get(pk=company.rep_customer.pk).owner_id == company.teammate.pk
