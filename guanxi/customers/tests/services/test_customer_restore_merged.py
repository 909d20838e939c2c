"""Restoring a customer from the recycle bin that is there because it was merged into another:
while the merge stands that would make two live records of one customer, so it is refused
saying which customer it was merged into and to undo the merge instead."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_restore
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


def _twins(company):
    kept = customer_create(actor=company.rep, data={"name": "孙丽", "phones": ["13812345678"]})
    other = customer_create(actor=company.rep, data={"name": "孙丽 ", "phones": ["13812345678"]})
    return kept, other


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Undo that merge instead"), ("zh-hans", "请撤销该合并")],
)
def test_a_customer_merged_away_is_not_restored_while_the_merge_stands(company, language, words):
    kept, other = _twins(company)
    customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    events = AuditEvent.objects.count()

    with translation.override(language), pytest.raises(ValidationError) as refused:
        customer_restore(actor=company.admin, customer_id=other.pk)

    [message] = refused.value.message_dict["customer_id"]
    assert "孙丽" in message and f"#{kept.pk}" in message and words in message
    assert Customer.objects.get(pk=other.pk).deleted_at is not None
    assert AuditEvent.objects.count() == events


def test_once_the_merge_is_undone_the_customer_is_back_and_a_later_delete_restores(company):
    kept, other = _twins(company)
    merge = customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    customer_merge_undo(actor=company.rep, merge_id=merge.pk)
    customer_delete(actor=company.manager, customer_id=other.pk)

    customer_restore(actor=company.admin, customer_id=other.pk)

    assert Customer.objects.get(pk=other.pk).deleted_at is None
