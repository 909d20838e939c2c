"""Deciding that a possible duplicate is two different customers is a change to both of them:
each customer's history records it, in both languages, without naming the other customer to
readers who may not see it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import EXTRA_LABELS, CustomerHistory, describe_history
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import duplicate_pair_reject

pytestmark = pytest.mark.django_db


def _pair(first, second) -> DuplicatePair:
    low, high = sorted((first.pk, second.pk))
    return DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")


def test_rejecting_a_pair_writes_a_row_on_each_customer_naming_the_other(company):
    first, second = company.rep_customer, company.teammate_customer
    pair = _pair(first, second)
    with pytest.raises(PermissionDenied):
        duplicate_pair_reject(actor=company.analyst, pair_id=pair.pk)
    assert not AuditEvent.objects.exists()
    duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)
    rows = {
        row.customer_id: row
        for row in AuditEvent.objects.filter(object_type="duplicate_pair", object_id=pair.pk)
    }
    assert set(rows) == {first.pk, second.pk}
    for customer, other in ((first, second), (second, first)):
        row = rows[customer.pk]
        assert (row.actor, row.action) == (company.admin, AuditEvent.Action.UPDATE)
        assert row.changes == {
            "status": {"before": "open", "after": "rejected"},
            "not_duplicate_of": {"before": None, "after": other.pk},
        }
        assert other.name in row.summary
    # Deciding it again is refused and records nothing more.
    with pytest.raises(ValidationError):
        duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)
    assert AuditEvent.objects.count() == 2


def test_the_history_headline_is_in_both_languages(company):
    pair = _pair(company.rep_customer, company.teammate_customer)
    duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)
    event = AuditEvent.objects.get(customer_id=company.rep_customer.pk)
    history = CustomerHistory(customer_id=company.rep_customer.pk)
    with translation.override("en"):
        [english] = describe_history([event], viewer=company.admin, history=history)
    with translation.override("zh-hans"):
        [chinese] = describe_history([event], viewer=company.admin, history=history)
    assert english.headline == (
        "admin decided that this customer and a possible duplicate are different customers"
    ), english.headline
    assert " · " not in chinese.headline and chinese.headline != english.headline
    assert {line.label for line in chinese.lines} == {"状态", "非重复于"}
    [status] = [line for line in english.lines if line.label == "status"]
    assert (status.before, status.after) == ("Waiting for review", "Not duplicates")


def test_the_other_customer_is_not_named_to_who_may_not_see_it(client, company):
    # The administrator decides on a pair across departments; the East rep sees that on their
    # customer's page, but not the West customer's name.
    pair = _pair(company.rep_customer, company.west_customer)
    duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)
    client.force_login(company.rep)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert "a possible duplicate are different customers" in page
    assert company.west_customer.name not in page
    client.force_login(company.manager_west)
    page = client.get(f"/customers/{company.west_customer.pk}/").content.decode()
    assert company.rep_customer.name not in page
    client.force_login(company.admin)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert company.west_customer.name in page


def _not_duplicate_line(customer, viewer):
    event = AuditEvent.objects.get(object_type="duplicate_pair", customer_id=customer.pk)
    [entry] = describe_history(
        [event], viewer=viewer, history=CustomerHistory(customer_id=customer.pk)
    )
    # Changes come sorted by name: "not_duplicate_of", then "status".
    line = entry.lines[0]
    assert line.label == str(EXTRA_LABELS["not_duplicate_of"])
    return line


def test_the_history_names_and_links_the_other_customer_for_who_may_see_it(client, company):
    first, second = company.rep_customer, company.teammate_customer
    duplicate_pair_reject(actor=company.admin, pair_id=_pair(first, second).pk)
    for customer, other in ((first, second), (second, first)):
        line = _not_duplicate_line(customer, company.admin)
        assert (line.before, line.after) == ("—", f"{other.name} (#{other.pk})")
        assert line.after_url == f"/customers/{other.pk}/"
    client.force_login(company.admin)
    page = client.get(f"/customers/{first.pk}/").content.decode()
    assert f'<a href="/customers/{second.pk}/">{second.name} (#{second.pk})</a>' in page


def test_the_history_neither_names_nor_numbers_the_other_customer_for_who_may_not(client, company):
    pair = _pair(company.rep_customer, company.west_customer)
    duplicate_pair_reject(actor=company.admin, pair_id=pair.pk)
    west = company.west_customer
    line = _not_duplicate_line(company.rep_customer, company.rep)
    assert line.after == "another customer, which you cannot open"
    assert line.after_url == ""
    with translation.override("zh-hans"):
        assert _not_duplicate_line(company.rep_customer, company.rep).after == (
            "另一位您无法打开的客户"
        )
    client.force_login(company.rep)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert "another customer, which you cannot open" in page
    assert west.name not in page and f"/customers/{west.pk}/" not in page
    assert f'<td class="after">{west.pk}</td>' not in page
