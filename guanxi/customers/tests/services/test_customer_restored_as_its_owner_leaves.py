"""Restoring a customer from the recycle bin while its account manager is deactivated. The
deactivation hands over only the customers in use; a restore finding the owner gone gives the
customer to the unowned pool. It read whether the owner was active without locking them, so a
deactivation under way was not waited for: the customer came back to someone who had just left,
after their hand-over had passed it by. Real concurrency needs PostgreSQL."""

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_restore

pytestmark = CONCURRENT


def test_a_restore_waits_for_its_owner_being_deactivated_and_gives_it_to_the_pool(
    company, monkeypatch
):
    deleted = customer_create(
        actor=company.admin, data={"name": "钱塘贸易", "owner_id": company.rep.pk}
    )
    customer_delete(actor=company.admin, customer_id=deleted.pk)
    # Held once the leaver is locked, before the customers they own are.
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
        lambda: customer_restore(actor=company.admin, customer_id=deleted.pk),
        hold,
        names=("deactivate", "restore"),
        seconds=10,
    )

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    assert results["restore"][0] == "ok", results["restore"][-1]
    restored = Customer.objects.get(pk=deleted.pk)
    assert restored.deleted_at is None and restored.owner_id is None
    event = AuditEvent.objects.filter(customer_id=deleted.pk).latest("pk")
    assert event.changes["owner_id"] == {"before": company.rep.pk, "after": None}
