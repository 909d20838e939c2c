import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction
from guanxi.interactions.selectors import interaction_list_for_user
from guanxi.interactions.services import interaction_log


def test_logged_interaction_lands_on_the_timeline_and_in_the_audit(company):
    when = timezone.now() - dt.timedelta(days=2)
    interaction = interaction_log(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={
            "channel": "visit",
            "direction": "outbound",
            "subject": "拜访",
            "notes": "谈续约",
            "occurred_at": when,
        },
    )
    assert interaction.staff == company.rep
    customer = Customer.objects.get(pk=company.rep_customer.pk)
    assert customer.last_contacted_at == when
    assert AuditEvent.objects.filter(
        object_type="interaction", object_id=interaction.pk, customer_id=customer.pk
    ).exists()


def test_service_agent_may_log_on_any_customer_but_analyst_on_none(company):
    interaction_log(
        actor=company.agent,
        customer_id=company.west_customer.pk,
        data={"channel": "phone", "subject": "Complaint call"},
    )
    with pytest.raises(PermissionDenied):
        interaction_log(
            actor=company.analyst,
            customer_id=company.west_customer.pk,
            data={"channel": "phone", "subject": "x"},
        )
    with pytest.raises(Customer.DoesNotExist):
        interaction_log(
            actor=company.rep,
            customer_id=company.west_customer.pk,
            data={"channel": "phone", "subject": "x"},
        )
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "pigeon", "subject": "x"}, "channel"),
        ({"channel": "phone", "subject": ""}, "subject"),
        ({"channel": "phone", "subject": "x", "direction": "sideways"}, "direction"),
        (
            {
                "channel": "phone",
                "subject": "x",
                "occurred_at": timezone.now() + dt.timedelta(days=1),
            },
            "occurred_at",
        ),
        ({"channel": "phone", "subject": "x", "staff_id": 987654}, "staff_id"),
        ({"channel": "phone", "subject": "x", "mood": "good"}, "mood"),
    ],
)
def test_bad_interactions_are_refused_naming_the_field(company, data, field):
    with pytest.raises(ValidationError) as caught:
        interaction_log(actor=company.rep, customer_id=company.rep_customer.pk, data=data)
    assert field in caught.value.message_dict
    assert not Interaction.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_staff_member_named_must_be_allowed_to_see_the_customer(company):
    # West's rep may not see the East rep's customer, so cannot be who had the contact.
    with pytest.raises(ValidationError) as caught:
        interaction_log(
            actor=company.rep,
            customer_id=company.rep_customer.pk,
            data={"channel": "visit", "subject": "x", "staff_id": company.rep_west.pk},
        )
    assert "rep_west" in caught.value.message_dict["staff_id"][0]
    # A service agent may log on any customer, but not in the name of a rep who cannot see it.
    with pytest.raises(ValidationError) as caught:
        interaction_log(
            actor=company.agent,
            customer_id=company.west_customer.pk,
            data={"channel": "phone", "subject": "x", "staff_id": company.rep.pk},
        )
    assert list(caught.value.message_dict) == ["staff_id"]
    assert not Interaction.objects.exists()
    assert not AuditEvent.objects.exists()
    # The teammate sees the rep's customers (team A shares them for viewing).
    logged = interaction_log(
        actor=company.rep,
        customer_id=company.rep_customer.pk,
        data={"channel": "visit", "subject": "Joint visit", "staff_id": company.teammate.pk},
    )
    assert logged.staff == company.teammate


def test_interaction_list_follows_customer_visibility(company):
    for customer in company.customers.values():
        interaction_log(
            actor=company.admin,
            customer_id=customer.pk,
            data={"channel": "email", "subject": f"Hello {customer.name}"},
        )
    seen = {i.customer_id for i in interaction_list_for_user(company.rep)}
    assert seen == {company.rep_customer.pk, company.teammate_customer.pk}
