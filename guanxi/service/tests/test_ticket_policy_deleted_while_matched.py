"""A ticket opened, or changed, while the service-level policy it is matched to is deleted. The
matching locks the policy it chooses (as the database's check of the ticket's policy would only
as it commits), so it waits for the deletion and then matches the ticket to the policies left,
rather than failing on its commit with a database error (a server error on the page and the
API). Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_before,
    in_thread,
    second_waits_for_first,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.service import services
from guanxi.service.models import SlaPolicy, Ticket
from guanxi.service.tests.desk import complaint

pytestmark = CONCURRENT


def test_a_ticket_opened_while_its_policy_is_deleted_waits_and_takes_another(
    company, desk, monkeypatch
):
    policy_id = complaint(company).sla_policy_id
    assert policy_id is not None
    # Held with the policy and its tickets locked, before the policy's row goes.
    hold = hold_before(monkeypatch, services, "settings_delete", thread="deletion")
    results = second_waits_for_first(
        lambda: services.sla_policies_delete(actor=company.admin, policy_ids=[policy_id]),
        lambda: complaint(company),
        hold,
        names=("deletion", "opening"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["opening"][0] == "ok", results["opening"][-1]
    opened = Ticket.objects.get(pk=results["opening"][1].pk)
    assert opened.sla_policy_id != policy_id
    assert not SlaPolicy.objects.filter(pk=policy_id).exists()


def test_a_ticket_changed_while_the_policy_it_moves_to_is_deleted_waits_and_takes_another(
    company, desk, monkeypatch
):
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票什么时候寄出"},
    )
    urgent = SlaPolicy.objects.get(name="Urgent and high priority")
    assert ticket.sla_policy_id not in (None, urgent.pk)
    hold = hold_before(monkeypatch, services, "settings_delete", thread="deletion")
    results = second_waits_for_first(
        lambda: services.sla_policies_delete(actor=company.admin, policy_ids=[urgent.pk]),
        lambda: services.ticket_update(
            actor=company.agent,
            ticket_id=ticket.pk,
            expected_version=ticket.version,
            data={"priority": "urgent"},
        ),
        hold,
        names=("deletion", "change"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["change"][0] == "ok", results["change"][-1]
    changed = Ticket.objects.get(pk=ticket.pk)
    assert (changed.priority, changed.sla_policy_id) == ("urgent", ticket.sla_policy_id)


def test_tickets_matched_again_while_the_policy_they_move_to_is_deleted_take_another(
    company, desk, monkeypatch
):
    # The policies are read as the matching starts; one deleted before a batch commits is not
    # given to its tickets.
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "发票什么时候寄出"},
    )
    urgent = SlaPolicy.objects.get(name="Urgent and high priority")
    assert ticket.sla_policy_id not in (None, urgent.pk)
    # Made urgent behind the policies' back: matched again, it goes to the urgent policy.
    Ticket.objects.filter(pk=ticket.pk).update(priority="urgent")
    hold = hold_before(monkeypatch, services, "settings_delete", thread="deletion")
    reading = hold_before(monkeypatch, services, "status_histories", thread="matching")
    results = {}
    deletion = in_thread(
        lambda: services.sla_policies_delete(actor=company.admin, policy_ids=[urgent.pk]),
        results,
        "deletion",
    )
    assert hold.reached.wait(30)
    matching = in_thread(lambda: services.reapply_policies(), results, "matching")
    # The matching has read the policies, the deleted one among them, and then locked its
    # batch, or waits for the deletion.
    assert wait_until(lambda: reading.reached.is_set() or waiting_for_a_lock())
    hold.go.set()
    # Deleted and committed (the matching it starts as it commits waits for the batch).
    assert wait_until(lambda: not SlaPolicy.objects.filter(pk=urgent.pk).exists())
    reading.go.set()
    matching.join(30)
    deletion.join(30)
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["matching"][0] == "ok", results["matching"][-1]
    assert Ticket.objects.get(pk=ticket.pk).sla_policy_id == ticket.sla_policy_id
