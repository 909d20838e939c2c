"""An email filed on a ticket while a user it tells is deactivated. The email tells the
ticket's assignee, owner and watchers (notification rows naming them), and the database checks
those rows' keys only as the email commits, after the ticket's lock; a deactivation locks the
leaver first, and then their customers and the tickets they hold. The email locks the users it
may tell with its writer, before the customer and the tickets of the chain it is filed through,
so one of the two waits for the other instead of the two deadlocking. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.services import POOL
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    second_waits_for_first,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.service import services
from guanxi.service.models import Notification, Ticket, TicketMessage

pytestmark = CONCURRENT


def _deactivate(company, leaving):
    return lambda: accounts_services.user_deactivate(
        actor=company.admin, user_id=leaving.pk, hand_over_to=POOL
    )


def test_the_customers_email_and_the_deactivation_of_the_assignee_it_tells_do_not_deadlock(
    company, monkeypatch
):
    leaving = UserFactory(username="agent_2", role="service_agent", department=company.service)
    ticket = Ticket.objects.create(
        type=Ticket.Type.INQUIRY,
        subject="发票什么时候开",
        customer=company.unowned_customer,
        status=Ticket.Status.OPEN,
        assignee=leaving,
        owner=leaving,
    )
    # Held with the ticket locked, before the customer's message is told to anyone.
    hold = hold_before(monkeypatch, services, "recompute_deadlines", thread="email")
    results = second_waits_for_first(
        lambda: services.customer_message(
            ticket_id=ticket.pk,
            body="请问发票开了吗？",
            email_message_id="<invoice-asked@example.cn>",
            email_from="wangfang@example.cn",
        ),
        _deactivate(company, leaving),
        hold,
        names=("email", "deactivation"),
    )
    assert results["email"][0] == "ok", results["email"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert Notification.objects.filter(user=leaving, ticket=ticket).exists()
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)


def test_a_colleagues_emailed_reply_through_a_merged_ticket_and_a_deactivation_do_not_deadlock(
    company, monkeypatch
):
    # The leaver owns the customer and holds the ticket the first one was merged into: the
    # reply reaches it through the older ticket, which names nobody.
    leaving = UserFactory(
        username="rep_2", role="sales_rep", department=company.east, team=company.team_a
    )
    customer = CustomerFactory(name="杭州西湖茶业", owner=leaving)
    merged, kept = (
        Ticket.objects.create(
            type=Ticket.Type.INQUIRY,
            subject=subject,
            customer=customer,
            status=Ticket.Status.OPEN,
            assignee=assignee,
            owner=assignee,
        )
        for subject, assignee in (("发货慢", None), ("发货慢（又问）", leaving))
    )
    services.ticket_merge(actor=company.admin, ticket_id=merged.pk, into_id=kept.pk)
    # Held once the first ticket of the chain (the older, merged one) is locked.
    hold = hold_after_first(monkeypatch, services, "_locked", thread="email")
    results = second_waits_for_first(
        lambda: services.email_reply_from_colleague(
            actor=company.admin,
            ticket_id=merged.pk,
            body="已经安排发货了。",
            email_message_id="<shipped@example.cn>",
            email_from="admin@example.cn",
            email_copied=["buyer@example.cn"],
        ),
        _deactivate(company, leaving),
        hold,
        names=("email", "deactivation"),
    )
    assert results["email"][0] == "ok", results["email"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert TicketMessage.objects.get(email_message_id="<shipped@example.cn>").ticket_id == kept.pk
    assert Notification.objects.filter(user=leaving, ticket=kept).exists()


def test_a_colleagues_emailed_reply_and_the_deactivation_of_a_new_watcher_do_not_deadlock(
    company, monkeypatch
):
    # The leaver owns the customer and starts watching the kept ticket once the reply has read
    # whom the tickets tell: found again with the kept ticket, after the merged one is locked.
    leaving = UserFactory(
        username="rep_2", role="sales_rep", department=company.east, team=company.team_a
    )
    customer = CustomerFactory(name="杭州西湖茶业", owner=leaving)
    merged, kept = (
        Ticket.objects.create(
            type=Ticket.Type.INQUIRY,
            subject=subject,
            customer=customer,
            status=Ticket.Status.OPEN,
        )
        for subject in ("发货慢", "发货慢（又问）")
    )
    services.ticket_merge(actor=company.admin, ticket_id=merged.pk, into_id=kept.pk)
    read = hold_before(monkeypatch, services, "_lock", thread="email")
    locked = hold_after_first(monkeypatch, services, "_lock", thread="email")
    results: dict = {}
    threads = [
        in_thread(
            lambda: services.email_reply_from_colleague(
                actor=company.admin,
                ticket_id=merged.pk,
                body="已经安排发货了。",
                email_message_id="<shipped-again@example.cn>",
                email_from="admin@example.cn",
                email_copied=["buyer@example.cn"],
            ),
            results,
            "email",
        )
    ]
    try:
        assert read.reached.wait(30)
        services.ticket_watch(actor=leaving, ticket_id=kept.pk, watching=True)
        read.go.set()
        assert locked.reached.wait(30)
        threads.append(in_thread(_deactivate(company, leaving), results, "deactivation"))
        assert wait_until(waiting_for_a_lock), "the deactivation did not wait for the email"
    finally:
        read.go.set()
        locked.go.set()
        for thread in threads:
            thread.join(30)
    assert results["email"][0] == "ok", results["email"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    message = TicketMessage.objects.get(email_message_id="<shipped-again@example.cn>")
    assert message.ticket_id == kept.pk
