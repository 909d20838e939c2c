"""A customer that changes hands, or comes back from a merge, may leave the sight of whoever
holds its open tickets: a rep who saw it through their team's sharing with its old account
manager, or through the customer it was merged into. Such a ticket goes back to its team's
unassigned queue, each change on record, as a restore from the recycle bin does, rather than
stay with someone who can no longer open it, where the SLA sweep's escalations go to a holder
who cannot act on them. A holder who still sees the customer keeps the ticket."""

import pytest

from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update, customers_reassign
from guanxi.customers.visibility import INTERACT
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.imports.tests.test_customer_import import run_import
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db

# The rep's customer, given to a rep of team B, which shares nothing.
TO_REP_B = "external_id,name,owner\nK1,Rep Customer 张伟,rep_b\n"


def _released(ticket: Ticket, *, actor, holder) -> None:
    """``ticket`` is back in the queue, still open, with one audit row by ``actor`` saying
    ``holder`` no longer holds it."""
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)
    assert ticket.status in Ticket.OPEN_STATUSES
    event = AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, action=AuditEvent.Action.REASSIGN
    ).get()
    assert (event.actor, event.customer_id) == (actor, ticket.customer_id)
    assert event.changes["assignee_id"] == {"before": holder.pk, "after": None}
    assert not Customer.objects.visible_to(holder, INTERACT).filter(pk=ticket.customer_id)


def _kept(ticket: Ticket, holder) -> None:
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (holder, holder)


@pytest.fixture
def tickets(company):
    """On the rep's customer: one held by their teammate, who sees it through their team's
    sharing, and one by the service agent, who sees every customer."""
    customer = company.rep_customer
    return (
        new_ticket(customer, assignee=company.teammate, owner=company.teammate),
        new_ticket(customer, assignee=company.agent, owner=company.agent),
    )


def test_a_reassignment_out_of_the_holders_sight(company, tickets):
    by_teammate, by_agent = tickets

    customers_reassign(
        actor=company.manager,
        from_owner_id=company.rep.pk,
        to_owner_id=company.rep_b.pk,
        customer_ids=[company.rep_customer.pk],
    )

    _released(by_teammate, actor=company.manager, holder=company.teammate)
    _kept(by_agent, company.agent)


def test_a_reassignment_to_the_pool(company, tickets):
    by_teammate, by_agent = tickets

    customers_reassign(actor=company.admin, from_owner_id=company.rep.pk, to_owner_id=None)

    _released(by_teammate, actor=company.admin, holder=company.teammate)
    _kept(by_agent, company.agent)


def test_a_new_account_manager_chosen_on_the_customers_form(company, tickets):
    by_teammate, by_agent = tickets
    customer = Customer.objects.get(pk=company.rep_customer.pk)

    customer_update(
        actor=company.manager,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"owner_id": company.rep_b.pk},
    )

    _released(by_teammate, actor=company.manager, holder=company.teammate)
    _kept(by_agent, company.agent)


def test_a_new_account_manager_from_an_import(company, tickets, tmp_path):
    by_teammate, by_agent = tickets
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")

    job = run_import(tmp_path, TO_REP_B, company.manager)

    assert (job.updated, job.rejected) == (1, 0)
    _released(by_teammate, actor=company.manager, holder=company.teammate)
    _kept(by_agent, company.agent)


def test_a_dry_run_import_changes_no_ticket(company, tickets, tmp_path):
    by_teammate, _by_agent = tickets
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")

    run_import(tmp_path, TO_REP_B, company.manager, dry_run=True)

    _kept(by_teammate, company.teammate)


def test_a_reassignment_within_the_holders_sight_changes_no_ticket(company, tickets):
    by_teammate, _by_agent = tickets

    customers_reassign(
        actor=company.manager,
        from_owner_id=company.rep.pk,
        to_owner_id=company.teammate.pk,
        customer_ids=[company.rep_customer.pk],
    )

    _kept(by_teammate, company.teammate)
    assert not AuditEvent.objects.filter(object_type="ticket")


def test_an_undo_bringing_a_customer_back_to_the_pool(company):
    # The merged customer's account manager is a rep of team A; its ticket, moved by the merge
    # to the rep's customer, is held by their teammate, who sees both through the team.
    leaver = UserFactory(
        username="rep_a_2", role=Role.SALES_REP, department=company.east, team=company.team_a
    )
    kept = company.rep_customer
    merged = customer_create(
        actor=company.admin, data={"name": "张伟（旧）", "owner_id": leaver.pk}
    )
    ticket = new_ticket(merged, assignee=company.teammate, owner=company.teammate)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    ticket.refresh_from_db()
    assert ticket.customer_id == kept.pk
    # Nothing in use to hand over: the merged customer is in the recycle bin, and the ticket
    # is the teammate's.
    user_deactivate(actor=company.admin, user_id=leaver.pk)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    ticket.refresh_from_db()
    assert ticket.customer_id == merged.pk
    assert Customer.objects.get(pk=merged.pk).owner_id is None
    _released(ticket, actor=company.admin, holder=company.teammate)


def test_an_undo_bringing_a_customer_back_out_of_the_holders_sight(company):
    # The ticket, moved by the merge to the rep's customer (held by the agent, who sees every
    # customer, it stays with them), was given there to their teammate; it goes back with the
    # merged customer, which is team B's and not shared.
    kept = company.rep_customer
    merged = company.rep_b_customer
    ticket = new_ticket(merged, assignee=company.agent, owner=company.agent)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=company.teammate, owner=company.teammate)

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    ticket.refresh_from_db()
    assert ticket.customer_id == merged.pk
    _released(ticket, actor=company.admin, holder=company.teammate)
