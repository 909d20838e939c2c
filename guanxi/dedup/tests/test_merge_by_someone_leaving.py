"""Merging, or undoing a merge, as the one doing it is deactivated. A deactivation locks the
leaver and then what they hold; a write locks its acting user before any customer, so that the
two wait for each other in one order, and whoever was deactivated meanwhile is told so.

The undo locked the merged customer (when its id was the lower) before the acting user: it held
a customer while it waited for the user a deactivation held. And both told a leaver that they
may not change the customer, as if they lacked a right they could ask for. Real concurrency
needs PostgreSQL."""

import json

from django.db import OperationalError, transaction
from django.test import Client

from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, api_token_create, user_deactivate
from guanxi.core.locking import ActorDeactivated
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_before,
    in_thread,
    second_waits_for_first,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = CONCURRENT

DEACTIVATED = "Your account has been deactivated: nothing was changed."


def _leaver_with_two_customers(company):
    leaver = UserFactory(username="manager_east_2", role=Role.MANAGER, department=company.east)
    # The one to be merged away first, so that its id is the lower of the two.
    merged, kept = (
        customer_create(actor=company.admin, data={"name": name, "owner_id": leaver.pk})
        for name in ("西湖茶庄（旧）", "西湖茶庄")
    )
    assert merged.pk < kept.pk
    return leaver, kept, merged


def _free_to_lock(customer_id: int) -> bool:
    """Whether nobody holds customer ``customer_id`` locked, asked without waiting."""
    try:
        with transaction.atomic():
            list(
                Customer.objects.select_for_update(nowait=True)
                .filter(pk=customer_id)
                .values_list("pk")
            )
    except OperationalError:
        return False
    return True


def test_an_undo_by_someone_being_deactivated_waits_for_them_first_and_is_refused(
    company, monkeypatch
):
    leaver, kept, merged = _leaver_with_two_customers(company)
    merge = customers_merge(actor=leaver, survivor_id=kept.pk, merged_id=merged.pk)
    # Held once the leaver is locked, before the customers they own are.
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    results: dict = {}
    threads = [
        in_thread(
            lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL),
            results,
            "deactivate",
        )
    ]
    try:
        assert hold.reached.wait(30), "the deactivation did not lock the leaver"
        threads.append(
            in_thread(lambda: customer_merge_undo(actor=leaver, merge_id=merge.pk), results, "undo")
        )
        assert wait_until(waiting_for_a_lock), "the undo did not wait for the deactivation"
        # Waiting for the leaver, the undo holds none of the customers yet: a writer locking the
        # leaver and then the merged customer would otherwise wait for it while it waited.
        free = _free_to_lock(merged.pk)
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    assert free, "the undo locked the merged customer before the acting user"
    outcome = results["undo"]
    assert outcome[0] == "error" and isinstance(outcome[1], ActorDeactivated), outcome[-1]
    assert outcome[1].args == (DEACTIVATED,)
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None
    assert Customer.objects.get(pk=merged.pk).deleted_at is not None


def test_a_merge_through_the_api_by_someone_deactivated_meanwhile_says_so(company, monkeypatch):
    leaver, kept, other = _leaver_with_two_customers(company)
    _token, raw = api_token_create(actor=leaver, user=leaver, name="tests")
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    def merge():
        return Client().post(
            f"/api/v1/customers/{kept.pk}/merge",
            data=json.dumps(
                {"merged_id": other.pk, "version": kept.version, "merged_version": other.version}
            ),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )

    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL),
        merge,
        hold,
        names=("deactivate", "merge"),
    )

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    assert results["merge"][0] == "ok", results["merge"][-1]
    response = results["merge"][1]
    # About the caller, not about the customer in the path: no right to ask anyone for.
    assert response.status_code == 403, response.content
    assert response.json()["detail"] == DEACTIVATED
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.get(pk=other.pk).deleted_at is None
