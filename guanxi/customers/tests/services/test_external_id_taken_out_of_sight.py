"""An external id is unique among all customers, those a user may not see and those in the
recycle bin included, so one already taken must be refused. The refusal is the same whoever
holds the id, and names and links nothing: the user learns only that this id cannot be used,
never whose it is. A customer saved with it at the same moment by someone else is refused the
same way, not with a server error that would tell it apart."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from guanxi.core.testing.factories import CustomerFactory
from guanxi.core.testing.threads import Hold, second_waits_for_first
from guanxi.customers import services, validation
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update

pytestmark = pytest.mark.django_db

TAKEN = "Another customer already has this external id."


def _refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


def test_the_refusal_is_the_same_for_a_holder_in_sight_out_of_sight_or_deleted(company):
    CustomerFactory(name="Seen Holder", owner=company.rep, external_id="ERP-1")
    hidden = CustomerFactory(name="Hidden Holder 王芳", owner=company.rep_b, external_id="ERP-2")
    CustomerFactory(
        name="Binned Holder", owner=company.rep, external_id="ERP-3", deleted_at=timezone.now()
    )
    refusals = [
        _refusal(
            lambda eid=eid: customer_create(
                actor=company.rep, data={"name": "X", "external_id": eid}
            )
        )
        for eid in ("ERP-1", "ERP-2", "ERP-3")
    ]
    assert refusals == [{"external_id": [TAKEN]}] * 3
    for message in refusals[1]["external_id"]:
        assert hidden.name not in message and str(hidden.pk) not in message


def taken_meanwhile(monkeypatch, owner, external_id):
    """Someone out of the user's sight saves a customer with ``external_id`` after the user's
    save checked it was free, before it writes."""
    real = validation.clean_customer_data

    def then_taken(*args, **kwargs):
        clean = real(*args, **kwargs)
        CustomerFactory(name="Hidden Meanwhile", owner=owner, external_id=external_id)
        return clean

    monkeypatch.setattr(services, "clean_customer_data", then_taken)


def test_an_id_taken_meanwhile_on_create_is_refused_as_any_taken_id(company, monkeypatch):
    taken_meanwhile(monkeypatch, company.rep_b, "ERP-9")
    refusal = _refusal(
        lambda: customer_create(actor=company.rep, data={"name": "New", "external_id": "ERP-9"})
    )
    assert refusal == {"external_id": [TAKEN]}
    assert not Customer.objects.filter(name="New").exists()


def test_an_id_taken_meanwhile_on_update_is_refused_as_any_taken_id(company, monkeypatch):
    mine = company.rep_customer
    taken_meanwhile(monkeypatch, company.rep_b, "ERP-8")
    refusal = _refusal(
        lambda: customer_update(
            actor=company.rep,
            customer_id=mine.pk,
            expected_version=mine.version,
            data={"external_id": "ERP-8"},
        )
    )
    assert refusal == {"external_id": [TAKEN]}
    mine.refresh_from_db()
    assert mine.external_id != "ERP-8"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_saving_one_id_at_once_the_second_is_refused_as_any_taken_id(company):
    """Two users save customers with the same external id at once, the first out of the
    second's sight: the second's check finds the id free (the first has not committed), its
    insert waits for the first, and it is then refused like any taken id."""
    hold = Hold()

    def first():
        with transaction.atomic():
            customer = customer_create(
                actor=company.rep_b, data={"name": "Hidden Holder", "external_id": "ERP-5"}
            )
            hold.here()
        return customer.pk

    def second():
        return customer_create(actor=company.rep, data={"name": "Mine", "external_id": "ERP-5"})

    results = second_waits_for_first(first, second, hold)
    assert results["first"][0] == "ok", results["first"]
    outcome, error, *_ = results["second"]
    assert outcome == "error" and isinstance(error, ValidationError), results["second"]
    assert error.message_dict == {"external_id": [TAKEN]}
    assert list(Customer.objects.filter(external_id="ERP-5").values_list("name", flat=True)) == [
        "Hidden Holder"
    ]
