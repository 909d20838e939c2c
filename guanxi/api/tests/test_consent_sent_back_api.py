"""A consent read from the API and sent back as it was read changes nothing, although the API
gives its moment to the millisecond and the database keeps it to the microsecond: who recorded
it and when stay those of the decision."""

import datetime as dt

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import MarketingConsent

pytestmark = pytest.mark.django_db

# A consent recorded now has microseconds the API's answer leaves out.
GIVEN_AT = dt.datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=dt.UTC)


def test_a_consent_sent_back_as_read_keeps_who_took_it_and_when(company, api_as):
    created = api_as("rep").post(
        "/customers",
        {
            "name": "王芳",
            "consents": [{"channel": "email", "granted": True, "method": "web_form"}],
        },
    )
    assert created.status_code == 201, created.json()
    customer_id = created.json()["id"]
    MarketingConsent.objects.filter(customer_id=customer_id).update(recorded_at=GIVEN_AT)
    admin = api_as("admin")
    read = admin.get(f"/customers/{customer_id}").json()
    assert read["consents"][0]["recorded_at"] == "2026-03-02T02:00:00.123Z"

    sent_back = [
        {name: value for name, value in consent.items() if name != "recorded_by"}
        for consent in read["consents"]
    ]
    response = admin.patch(
        f"/customers/{customer_id}", {"version": read["version"], "consents": sent_back}
    )

    assert response.status_code == 200, response.json()
    stored = MarketingConsent.objects.get(customer_id=customer_id)
    assert (stored.recorded_by, stored.recorded_at) == (company.rep, GIVEN_AT)
    event = AuditEvent.objects.get(customer_id=customer_id, action=AuditEvent.Action.UPDATE)
    assert "consents" not in event.changes
