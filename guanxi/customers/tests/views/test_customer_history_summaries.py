"""A change's summary that is a sentence reads in the language of whoever reads the customer's
history, not of whoever made the change; one that is a name reads as written; a row without a
stored message (older, or written by hand) and one whose message no longer formats show the
summary as written. The history API's test is
``guanxi/api/tests/test_customer_history_summaries_api.py``."""

import re

import pytest
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import (
    customer_delete,
    customer_restore,
    customer_reveal_sensitive,
    customer_update,
)

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(r'<div class="muted small">([^<]*)</div>')


def _summaries(client, user, customer, language: str) -> list[str]:
    client.force_login(user)
    client.cookies["django_language"] = language
    response = client.get(f"/customers/{customer.pk}/history/")
    assert response.status_code == 200
    return SUMMARY.findall(response.content.decode())


@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_a_change_made_in_english_reads_in_chinese_for_a_chinese_reader(client, company, path):
    customer = company.rep_customer
    with translation.override("en"):
        customer_reveal_sensitive(actor=company.manager, customer_id=customer.pk)
    event = AuditEvent.objects.get(action=AuditEvent.Action.REVEAL)
    assert event.summary == "ID number and phone numbers shown in full"  # as written

    client.force_login(company.manager)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(path % customer.pk).content.decode()
    assert "已显示完整身份证号和电话号码" in page
    assert "ID number and phone numbers shown in full" not in page

    client.cookies["django_language"] = "en"
    page = client.get(path % customer.pk).content.decode()
    assert "ID number and phone numbers shown in full" in page


def test_a_change_made_in_chinese_reads_in_english_for_an_english_reader(client, company):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    with translation.override("zh-hans"):
        customer_restore(actor=company.admin, customer_id=customer.pk)
    event = AuditEvent.objects.filter(customer_id=customer.pk).latest("id")
    assert event.summary == "已从回收站恢复"

    assert "Restored from the recycle bin" in _summaries(client, company.rep, customer, "en")
    assert "已从回收站恢复" in _summaries(client, company.rep, customer, "zh-hans")


def test_a_name_summary_reads_as_written_in_either_language(client, company):
    customer = company.rep_customer
    with translation.override("en"):
        customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"name": "王小明 Wang"},
        )
    event = AuditEvent.objects.filter(customer_id=customer.pk).latest("id")
    assert (event.summary, event.summary_message) == ("王小明 Wang", "")
    for language in ("en", "zh-hans"):
        assert "王小明 Wang" in _summaries(client, company.rep, customer, language)


def _row(customer, **fields) -> None:
    AuditEvent.objects.create(
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        **fields,
    )


def test_an_older_row_with_only_its_summary_still_shows_it(client, company):
    customer = company.rep_customer
    _row(customer, summary="2 customers exported")
    for language in ("en", "zh-hans"):
        assert "2 customers exported" in _summaries(client, company.rep, customer, language)


BROKEN = [
    ("%(count)d customers exported", {"count": "many"}),  # not a number
    ("%(count)d customers exported", {}),  # a parameter missing
    ("%(count)d customers exported", ["3"]),  # no mapping
    ("%(count)d customers exported", "3"),
    ("%(count)d customers exported", {"count": {"message": 7}}),
    ("%(count)d customers exported", {"count": [1, 2]}),
    ("%(count", {"count": 3}),  # no format
    ("%(count)c customers exported", {"count": 2**40}),  # no character
    ("100% done", {}),
]


@pytest.mark.parametrize(("message", "params"), BROKEN)
@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_a_row_whose_message_does_not_format_shows_its_summary(
    client, company, message, params, path
):
    customer = company.rep_customer
    _row(customer, summary="Edited by hand", summary_message=message, summary_params=params)
    client.force_login(company.rep)
    for language in ("en", "zh-hans"):
        client.cookies["django_language"] = language
        response = client.get(path % customer.pk)
        assert response.status_code == 200
        assert "Edited by hand" in response.content.decode()
