"""Restoring a person while their organisation is being deleted: the restore waits for the
deletion and refuses, instead of bringing the person back into an organisation in the recycle
bin. Real concurrency needs PostgreSQL: each writer runs on a thread of its own."""

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
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

    hold = hold_before(monkeypatch, services, "remove_match_keys", thread="delete")
    results = second_waits_for_first(
        lambda: services.customer_delete(actor=admin, customer_id=org.pk),
        lambda: services.customer_restore(actor=admin, customer_id=person.pk),
        hold,
        names=("delete", "restore"),
        seconds=5,
    )

    assert results["delete"][0] == "ok", results["delete"]
    outcome, error = results["restore"][:2]
    assert outcome == "error" and isinstance(error, ValidationError), results["restore"]
    assert "Acme Trading" in error.message_dict["customer_id"][0]
    assert Customer.objects.get(pk=person.pk).deleted_at is not None
    assert Customer.objects.get(pk=org.pk).deleted_at is not None
