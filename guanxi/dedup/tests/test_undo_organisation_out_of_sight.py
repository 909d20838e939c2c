"""Undoing a merge of a person whose organisation, one the actor may not see, has gone to the
recycle bin since. The refusal named the organisation, which the person's pages keep from them
(see ``organisations_in_sight``): it says why without naming it, and who may bring it back."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def _own_organisation(company):
    # The kept person's own: a merge gives one without an organisation the other's.
    return CustomerFactory(
        name="杭州茶业", party_type=Customer.PartyType.ORGANIZATION, owner=company.rep
    )


def test_an_undo_refused_for_an_organisation_out_of_the_actors_sight_does_not_name_it(company):
    # Owned in the West, out of the East rep's sight; the rep owns both people.
    org = CustomerFactory(
        name="西湖贸易有限公司", party_type=Customer.PartyType.ORGANIZATION, owner=company.rep_west
    )
    kept = CustomerFactory(name="李雷", owner=company.rep, organization=_own_organisation(company))
    merged = CustomerFactory(name="Li Lei", owner=company.rep, organization=org)
    merge = customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=merged.pk)
    customer_delete(actor=company.admin, customer_id=org.pk)

    with pytest.raises(ValidationError) as refused:
        customer_merge_undo(actor=company.rep, merge_id=merge.pk)

    [message] = refused.value.message_dict["merge"]
    assert "西湖贸易" not in message and f"#{org.pk}" not in message
    assert "recycle bin" in message and "administrator" in message
    assert Customer.objects.get(pk=merged.pk).deleted_at is not None


def test_an_undo_refused_for_an_organisation_in_the_actors_sight_names_it(company):
    org = CustomerFactory(
        name="西湖贸易有限公司", party_type=Customer.PartyType.ORGANIZATION, owner=company.rep
    )
    kept = CustomerFactory(name="李雷", owner=company.rep, organization=_own_organisation(company))
    merged = CustomerFactory(name="Li Lei", owner=company.rep, organization=org)
    merge = customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=merged.pk)
    customer_delete(actor=company.admin, customer_id=org.pk)

    with pytest.raises(ValidationError) as refused:
        customer_merge_undo(actor=company.rep, merge_id=merge.pk)

    [message] = refused.value.message_dict["merge"]
    assert "西湖贸易有限公司" in message and f"#{org.pk}" in message
