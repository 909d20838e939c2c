"""The history endpoint gives a change's summary that is a sentence in the caller's language
(``Accept-Language``), whatever language the change was made in; a name as written; and the
summary as stored for a row without a message or whose message no longer formats. The page's
test is ``guanxi/customers/tests/views/test_customer_history_summaries.py``."""

import pytest
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import (
    customer_create,
    customer_delete,
    customer_restore,
    customer_reveal_sensitive,
)
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db


def _summaries(client, customer, language: str) -> list[str]:
    response = client.get(
        f"/customers/{customer.pk}/history", headers={"Accept-Language": language}
    )
    assert response.status_code == 200, response.content
    return [item["summary"] for item in response.json()["items"]]


def test_a_change_made_in_english_reads_in_chinese_and_the_reverse(api_as, company):
    customer = company.rep_customer
    with translation.override("en"):
        customer_reveal_sensitive(actor=company.manager, customer_id=customer.pk)
    customer_delete(actor=company.admin, customer_id=customer.pk)
    with translation.override("zh-hans"):
        customer_restore(actor=company.admin, customer_id=customer.pk)
    client = api_as("manager")

    chinese = _summaries(client, customer, "zh-Hans")
    assert "已显示完整身份证号和电话号码" in chinese
    assert "已从回收站恢复" in chinese
    english = _summaries(client, customer, "en")
    assert "ID number and phone numbers shown in full" in english
    assert "Restored from the recycle bin" in english


def test_a_sentence_naming_a_customer_keeps_the_name_as_written(api_as, company):
    survivor = company.rep_customer
    merged = customer_create(actor=company.rep, data={"name": "Zhang Wei 张伟"})
    with translation.override("en"):
        customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)
    chinese = _summaries(api_as("rep"), survivor, "zh-Hans")
    assert f"已与“{merged.name}”（#{merged.pk}）合并" in chinese


def test_old_and_broken_rows_give_their_summary(api_as, company):
    customer = company.rep_customer
    for fields in (
        {"summary": "Written long ago"},
        {"summary": "Edited by hand", "summary_message": "%(n)d x", "summary_params": {"n": "y"}},
        {"summary": "Edited by hand too", "summary_message": "%(n)d x", "summary_params": [1]},
        {"summary": "Out of range", "summary_message": "%(n)c x", "summary_params": {"n": 2**40}},
    ):
        AuditEvent.objects.create(
            action=AuditEvent.Action.UPDATE,
            object_type="customer",
            object_id=customer.pk,
            customer_id=customer.pk,
            **fields,
        )
    for language in ("en", "zh-Hans"):
        given = _summaries(api_as("rep"), customer, language)
        assert {"Written long ago", "Edited by hand", "Edited by hand too", "Out of range"} <= set(
            given
        )
