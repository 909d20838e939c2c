"""A ticket merge while a user starts watching the second of the two tickets and is then
deactivated. The merge reads whom either ticket tells and locks them before the first ticket;
the newcomer, read again with the second ticket, was locked only then, holding the first
ticket and the customer, while the deactivation held them and waited for their customer.
The merge now lets its locks go and starts again, so one of the two waits for the other
instead of the two deadlocking. Real concurrency needs PostgreSQL (SQLite has one writer at a
time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.services import POOL
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_merge_and_the_deactivation_of_a_new_watcher_of_its_second_ticket_do_not_deadlock(
    company, monkeypatch
):
    leaving = UserFactory(
        username="rep_2", role="sales_rep", department=company.east, team=company.team_a
    )
    customer = CustomerFactory(name="杭州西湖茶业", owner=leaving)
    first, second = (
        Ticket.objects.create(
            type=Ticket.Type.INQUIRY,
            subject=subject,
            customer=customer,
            status=Ticket.Status.OPEN,
        )
        for subject in ("发货慢", "发货慢（又问）")
    )
    # Held once it has read whom the tickets tell, before it locks anything; and again once
    # it holds the first ticket.
    read = hold_before(monkeypatch, services, "_lock", thread="merge")
    locked = hold_after_first(monkeypatch, services, "_lock", thread="merge")
    results: dict = {}
    threads = [
        in_thread(
            lambda: services.ticket_merge(
                actor=company.admin, ticket_id=second.pk, into_id=first.pk
            ),
            results,
            "merge",
        )
    ]
    try:
        assert read.reached.wait(30)
        services.ticket_watch(actor=leaving, ticket_id=second.pk, watching=True)
        read.go.set()
        assert locked.reached.wait(30)
        threads.append(
            in_thread(
                lambda: accounts_services.user_deactivate(
                    actor=company.admin, user_id=leaving.pk, hand_over_to=POOL
                ),
                results,
                "deactivation",
            )
        )
        assert wait_until(waiting_for_a_lock), "the deactivation did not wait for the merge"
    finally:
        read.go.set()
        locked.go.set()
        for thread in threads:
            thread.join(30)
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Ticket.objects.get(pk=second.pk).merged_into_id == first.pk
