"""An account manager writing to a customer of theirs at the moment they are deactivated. The
deactivation locks the user and then the customers they own; the writer locked the customer
and then, as its audit row naming the user was written, the user: each waited for what the
other held, and the database broke one of them off as a deadlock. Real concurrency needs
PostgreSQL."""

import pytest
from django.core.exceptions import PermissionDenied

from guanxi.accounts.services import POOL, user_deactivate
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_update
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = CONCURRENT


def _update(company, customer):
    return customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"notes": "回访"},
    )


def _log_a_contact(company, customer):
    return interaction_log(
        actor=company.rep,
        customer_id=customer.pk,
        data={"channel": "phone", "direction": "outbound", "subject": "回访"},
    )


@pytest.mark.parametrize("write", [_update, _log_a_contact], ids=["update", "contact"])
def test_a_write_by_someone_being_deactivated_waits_and_is_refused(company, monkeypatch, write):
    customer = company.rep_customer
    # Held once the leaver is locked, before the customers they own are.
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
        lambda: write(company, customer),
        hold,
        names=("deactivate", "write"),
    )

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    outcome = results["write"]
    assert outcome[0] == "error" and isinstance(outcome[1], PermissionDenied), outcome[-1]
    assert Customer.objects.get(pk=customer.pk).owner_id is None
    assert not Interaction.objects.filter(customer_id=customer.pk).exists()
    assert not AuditEvent.objects.filter(
        customer_id=customer.pk, actor=company.rep, action=AuditEvent.Action.UPDATE
    ).exists()
