"""Two administrators saving the same service-level policy at the same moment: the second
waits for the first and is then refused as stale, instead of writing over it. Real concurrency
needs PostgreSQL (SQLite has one writer at a time, which serialises them by itself)."""

import threading

import pytest
from django.db import connection, transaction
from django.forms import modelform_factory
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import StaleSettingError
from guanxi.core.testing.admin_forms import (
    delete_selected_confirmation_data,
    form_data,
    signed_in_administrators,
)
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.service.admin import SlaPolicyForm
from guanxi.service.models import SlaPolicy, TicketCategory
from guanxi.service.services import sla_policy_save, ticket_category_save

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def _read(policy_id: int) -> SlaPolicy:
    return SlaPolicy.objects.get(pk=policy_id)


def test_a_save_waiting_on_another_is_refused_once_that_one_commits(company, desk):
    policy_id = SlaPolicy.objects.order_by("pk").first().pk
    read_by_ann, read_by_bob = _read(policy_id), _read(policy_id)  # both pages opened
    saved, release = threading.Event(), threading.Event()

    def ann_saves_and_holds():
        with transaction.atomic():
            read_by_ann.warn_percent = 70
            sla_policy_save(actor=company.admin, policy=read_by_ann, expected_version=1)
            saved.set()
            release.wait(60)

    results: dict = {}
    ann = in_thread(ann_saves_and_holds, results, "ann")
    assert saved.wait(30)

    def bob_saves():
        read_by_bob.warn_percent = 90
        sla_policy_save(actor=company.admin, policy=read_by_bob, expected_version=1)

    bob = in_thread(bob_saves, results, "bob")
    waited = wait_until(waiting_for_a_lock, seconds=5)
    release.set()
    ann.join(60)
    bob.join(60)
    assert results["ann"][0] == "ok", results["ann"]
    assert waited  # Bob's save waits for Ann's to end…
    assert results["bob"][0] == "error" and isinstance(results["bob"][1], StaleSettingError)
    stored = _read(policy_id)  # …and is refused once it sees her version
    assert (stored.warn_percent, stored.version) == (70, 2)
    assert AuditEvent.objects.filter(object_type="sla_policy").count() == 1


def test_the_change_form_waits_and_shows_the_refusal(company, desk):
    """The form checks the version under a lock held to the save, as the admin's change page
    runs it: the refusal comes back on the form, before the service is called."""
    policy = SlaPolicy.objects.order_by("pk").first()
    fields = [f.name for f in SlaPolicy._meta.fields if f.editable and f.name != "id"]
    form_class = modelform_factory(SlaPolicy, form=SlaPolicyForm, fields=fields)
    data = form_data(form_class(instance=policy))  # the page Bob opened
    saved, release = threading.Event(), threading.Event()

    def ann_saves_and_holds():
        with transaction.atomic():
            mine = _read(policy.pk)
            mine.warn_percent = 70
            sla_policy_save(actor=company.admin, policy=mine, expected_version=1)
            saved.set()
            release.wait(60)

    results: dict = {}
    ann = in_thread(ann_saves_and_holds, results, "ann")
    assert saved.wait(30)

    def bob_submits():
        with transaction.atomic():
            form = form_class({**data, "warn_percent": 90}, instance=_read(policy.pk))
            return form.errors if not form.is_valid() else None

    bob = in_thread(bob_submits, results, "bob")
    waited = wait_until(waiting_for_a_lock, seconds=5)
    release.set()
    ann.join(60)
    bob.join(60)
    assert waited
    outcome = results["bob"]
    assert outcome[0] == "ok" and "changed by someone else" in str(outcome[1]), outcome
    assert _read(policy.pk).warn_percent == 70


def test_a_bulk_delete_waiting_on_a_save_is_refused_once_that_save_commits():
    """The list's bulk delete checks the versions its confirmation page showed under the rows'
    locks, held until it deletes them: confirmed while another administrator's save of one of
    them is still open, it waits for that save, then sees the new version and deletes nothing
    (read without the lock, it saw the old version and deleted the row just saved)."""
    shipping = TicketCategory.objects.create(name="物流", name_en="Shipping")
    returns = TicketCategory.objects.create(name="退货", name_en="Returns")
    (bob,) = signed_in_administrators("bob")
    changelist = reverse("admin:service_ticketcategory_changelist")
    selected = {"action": "delete_selected", "_selected_action": [shipping.pk, returns.pk]}
    confirmation = delete_selected_confirmation_data(bob.post(changelist, selected))
    ann = User.objects.create(username="ann", is_staff=True, is_superuser=True)
    saved, release = threading.Event(), threading.Event()

    def ann_saves_and_holds():
        with transaction.atomic():
            mine = TicketCategory.objects.get(pk=returns.pk)
            mine.name_en = "Refunds"
            ticket_category_save(actor=ann, category=mine, expected_version=1)
            saved.set()
            release.wait(60)

    results: dict = {}
    ann_thread = in_thread(ann_saves_and_holds, results, "ann")
    assert saved.wait(30)

    def bob_confirms():
        response = bob.post(changelist, confirmation, follow=True)
        return [str(message) for message in response.context["messages"]]

    bob_thread = in_thread(bob_confirms, results, "bob")
    waited = wait_until(waiting_for_a_lock, seconds=5)
    release.set()
    ann_thread.join(60)
    bob_thread.join(60)
    assert results["ann"][0] == "ok", results["ann"]
    assert waited
    outcome = results["bob"]
    assert outcome[0] == "ok" and "“Refunds” (changed)" in outcome[1][0], outcome
    assert TicketCategory.objects.filter(pk__in=[shipping.pk, returns.pk]).count() == 2
    assert not AuditEvent.objects.filter(object_type="ticket_category", action="delete").exists()
