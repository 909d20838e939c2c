"""Restoring a person while their organisation is being deleted: the restore waits for the
deletion and refuses, instead of bringing the person back into an organisation in the recycle
bin. Real concurrency needs PostgreSQL: each writer runs on a thread of its own."""

import threading

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers import services
from guanxi.customers.models import Customer

pytestmark = CONCURRENT


def test_a_person_restored_while_their_organisation_is_deleted_waits_and_is_refused(
    company, monkeypatch
):
    admin = company.admin
    org = services.customer_create(
        actor=admin, data={"name": "Acme Trading", "party_type": "organization"}
    )
    person = services.customer_create(
        actor=admin, data={"name": "Li Lei", "organization_id": org.pk}
    )
    services.customer_delete(actor=admin, customer_id=person.pk)

    held, go = threading.Event(), threading.Event()
    remove = services.remove_match_keys

    def remove_when_told(ids):
        if threading.current_thread().name == "delete":
            held.set()
            go.wait(30)
        return remove(ids)

    monkeypatch.setattr(services, "remove_match_keys", remove_when_told)
    results: dict = {}
    deleting = in_thread(
        lambda: services.customer_delete(actor=admin, customer_id=org.pk), results, "delete"
    )
    assert held.wait(30), "the deletion did not get as far as the organisation's keys"
    restoring = in_thread(
        lambda: services.customer_restore(actor=admin, customer_id=person.pk), results, "restore"
    )
    try:
        assert wait_until(waiting_for_a_lock, seconds=5), "the restore did not wait"
    finally:
        go.set()
        deleting.join(30)
        restoring.join(30)

    assert results["delete"][0] == "ok", results["delete"]
    outcome, error = results["restore"][:2]
    assert outcome == "error" and isinstance(error, ValidationError), results["restore"]
    assert "Acme Trading" in error.message_dict["customer_id"][0]
    assert Customer.objects.get(pk=person.pk).deleted_at is not None
    assert Customer.objects.get(pk=org.pk).deleted_at is not None
