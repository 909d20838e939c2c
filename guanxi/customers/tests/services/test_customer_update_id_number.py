"""Someone who may change a customer but not see ID numbers in full may still type one in (the
form and the API take it), but the history they can read must not tell whether the number typed
was the one stored: the same entry for a right and a wrong guess."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import SENSITIVE_PLACEHOLDER
from guanxi.customers.services import customer_create, customer_update

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
WRONG_GUESS = "11015619491231002X"  # masked the same, a valid check digit


def _changes_after_typing(actor, customer, id_number: str) -> dict:
    customer_update(
        actor=actor,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"id_number": id_number},
    )
    return AuditEvent.objects.get(customer_id=customer.pk, action=AuditEvent.Action.UPDATE).changes


def _customer(company):
    return customer_create(actor=company.rep, data={"name": "刘洋", "id_number": ID_NUMBER})


def test_a_right_and_a_wrong_guess_read_the_same_to_who_may_not_see_the_number(company):
    assert not company.rep.may_view_sensitive()
    right = _changes_after_typing(company.rep, _customer(company), ID_NUMBER)
    wrong = _changes_after_typing(company.rep, _customer(company), WRONG_GUESS)
    assert (
        right
        == wrong
        == {"id_number": {"before": SENSITIVE_PLACEHOLDER, "after": SENSITIVE_PLACEHOLDER}}
    )


def test_who_may_see_the_number_has_the_same_one_recorded_as_no_change(company):
    assert company.manager.may_view_sensitive()
    assert _changes_after_typing(company.manager, _customer(company), ID_NUMBER) == {}


@pytest.mark.parametrize("on", ["a new customer", "a customer without one"])
def test_a_masked_id_number_with_none_on_record_says_to_type_it_in_full(company, on):
    masked = "1****************X"
    with pytest.raises(ValidationError) as refused:
        if on == "a new customer":
            customer_create(actor=company.rep, data={"name": "王芳", "id_number": masked})
        else:
            customer = customer_create(actor=company.rep, data={"name": "王芳"})
            customer_update(
                actor=company.rep,
                customer_id=customer.pk,
                expected_version=customer.version,
                data={"id_number": masked},
            )
    assert refused.value.message_dict["id_number"] == [
        f"“{masked}” is masked, and there is no ID number on record to keep: type the number "
        "in full, or leave it empty."
    ]
