"""A consent sent again as it is stored (the API's PUT of a customer as read, or the same
decision without a moment) changes nothing: who recorded it and when stay those of the
decision, which no audit row would otherwise say had been taken from them. A changed decision,
or a consent dated anew on purpose, is recorded by whoever sends it, and the row says so."""

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import MarketingConsent
from guanxi.customers.services import customer_create, customer_update

pytestmark = pytest.mark.django_db

GIVEN_AT = "2026-03-02T10:00:00+08:00"


def _consent(**changes) -> dict:
    return {
        "channel": "email",
        "granted": True,
        "method": "written",
        "evidence": "Form 17, signed",
        "recorded_at": GIVEN_AT,
        **changes,
    }


@pytest.fixture
def customer(company):
    return customer_create(actor=company.rep, data={"name": "王芳", "consents": [_consent()]})


def _send_again(company, customer, consent: dict) -> AuditEvent:
    customer_update(
        actor=company.admin,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"consents": [consent]},
    )
    return AuditEvent.objects.get(customer_id=customer.pk, action=AuditEvent.Action.UPDATE)


def _stored(customer) -> MarketingConsent:
    return MarketingConsent.objects.get(customer=customer, channel="email")


@pytest.mark.parametrize(
    "consent",
    [_consent(), _consent(recorded_at=None), {**_consent(), "recorded_at": ""}],
    ids=["as read", "without a moment", "with an empty moment"],
)
def test_a_consent_sent_again_unchanged_keeps_who_took_it_and_when(company, customer, consent):
    event = _send_again(company, customer, consent)
    stored = _stored(customer)
    assert stored.recorded_by == company.rep
    assert stored.recorded_at == dt.datetime.fromisoformat(GIVEN_AT)
    assert "consents" not in event.changes


def test_a_changed_decision_is_recorded_by_whoever_sends_it(company, customer):
    event = _send_again(company, customer, _consent(granted=False, recorded_at=None))
    stored = _stored(customer)
    assert (stored.granted, stored.recorded_by) == (False, company.admin)
    assert timezone.now() - stored.recorded_at < dt.timedelta(minutes=1)
    assert event.changes["consents"]["after"]["email"].startswith("refused (written, ")


def test_a_consent_dated_anew_is_recorded_with_its_new_date(company, customer):
    event = _send_again(company, customer, _consent(recorded_at="2026-04-01T09:00:00+08:00"))
    stored = _stored(customer)
    assert stored.recorded_by == company.admin
    assert "2026-04-01" in event.changes["consents"]["after"]["email"]


def test_a_consent_dated_anew_on_the_same_day_is_on_record(company, customer):
    # Ten o'clock becomes three in the afternoon of the same day: the row must say so, or the
    # decision's moment and who took it change with nothing on record.
    event = _send_again(company, customer, _consent(recorded_at="2026-03-02T15:00:00+08:00"))
    stored = _stored(customer)
    assert stored.recorded_by == company.admin
    before = event.changes["consents"]["before"]["email"]
    after = event.changes["consents"]["after"]["email"]
    assert "10:00:00" in before and "15:00:00" in after


def test_a_moment_sent_within_the_second_stored_changes_nothing(company, customer):
    # The audit row tells moments apart to the second, so a moment within the stored second is
    # the stored one: writing it would change who took the decision with no row to say so.
    event = _send_again(company, customer, _consent(recorded_at="2026-03-02T10:00:00.4+08:00"))
    stored = _stored(customer)
    assert stored.recorded_by == company.rep
    assert stored.recorded_at == dt.datetime.fromisoformat(GIVEN_AT)
    assert "consents" not in event.changes
