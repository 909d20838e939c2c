"""Undoing a merge that gave the kept customer the merged one's newer consent, once the
colleague who had recorded the kept customer's own consent has been deleted: nothing named them
any more, so the deletion went ahead. The undo wrote their id back into the consent it
restores, and its commit failed on a user gone (a server error); the users it writes back are
locked with the others it names, and one gone comes back as nobody."""

import datetime as dt

import pytest

from guanxi.accounts.roles import Role
from guanxi.accounts.services import users_delete
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer, MarketingConsent
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge

# Committed for real: the database checks a consent's key only as its transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


def _consent(customer, *, granted, day, recorded_by):
    return MarketingConsent.objects.create(
        customer=customer,
        channel="email",
        granted=granted,
        recorded_at=dt.datetime(2026, 11, day, 9, tzinfo=dt.UTC),
        method="verbal",
        recorded_by=recorded_by,
    )


def test_an_undo_gives_back_a_consent_whose_recorder_was_deleted_as_recorded_by_nobody(company):
    recorder = UserFactory(username="rep_east_3", role=Role.SALES_REP, department=company.east)
    kept = customer_create(actor=company.admin, data={"name": "西湖茶庄"})
    merged = customer_create(actor=company.admin, data={"name": "西湖茶庄（旧）"})
    _consent(kept, granted=True, day=1, recorded_by=recorder)
    _consent(merged, granted=False, day=5, recorded_by=company.rep)
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=merged.pk)
    assert kept.consents.get().recorded_by_id == company.rep.pk  # the newer one, the merged's
    assert users_delete(actor=company.admin, user_ids=[recorder.pk]) == 1

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)

    assert Customer.objects.get(pk=merged.pk).deleted_at is None
    consent = kept.consents.get()
    assert (consent.granted, consent.recorded_at.day) == (True, 1)
    assert consent.recorded_by_id is None
