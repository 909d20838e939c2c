"""The interaction endpoints: a customer's timeline, logging a touch point, the global list."""

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.interactions.models import Interaction


@pytest.fixture
def rep(api_as):
    return api_as("rep")


def _log(customer, *, hours_ago: int, channel="phone", staff=None, subject="Call"):
    return Interaction.objects.create(
        customer=customer,
        channel=channel,
        subject=subject,
        staff=staff,
        occurred_at=timezone.now() - dt.timedelta(hours=hours_ago),
    )


def test_logging_a_touch_point(rep, company):
    customer = company.teammate_customer  # the rep may log contacts on a teammate's customer
    response = rep.post(
        f"/customers/{customer.pk}/interactions",
        {
            "channel": "visit",
            "direction": "outbound",
            "subject": "Factory visit",
            "notes": "Met the buyer",
            "occurred_at": "2026-01-05T10:00:00+08:00",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["customer"] == {"id": customer.pk, "name": "Teammate Customer"}
    assert body["staff"]["username"] == "rep"
    assert (body["channel"], body["direction"], body["subject"]) == (
        "visit",
        "outbound",
        "Factory visit",
    )
    assert body["occurred_at"].startswith("2026-01-05T")
    customer.refresh_from_db()
    assert customer.last_contacted_at == dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC)
    event = AuditEvent.objects.get(object_type="interaction")
    assert (event.customer_id, event.via) == (customer.pk, "api")


def test_a_time_without_offset_is_read_in_the_servers_time_zone(rep, company):
    response = rep.post(
        f"/customers/{company.rep_customer.pk}/interactions",
        {"channel": "phone", "subject": "Call", "occurred_at": "2026-01-05T10:00:00"},
    )
    assert response.status_code == 201
    interaction = Interaction.objects.get()
    assert interaction.occurred_at == dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC)  # Asia/Shanghai


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "No channel"}, "channel"),
        ({"channel": "pigeon", "subject": "x"}, "channel"),
        ({"channel": "phone"}, "subject"),
        ({"channel": "phone", "subject": ""}, "subject"),
        ({"channel": "phone", "subject": "x" * 201}, "subject"),
        (
            {"channel": "phone", "subject": "x", "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
        ),
        ({"channel": "phone", "subject": "x", "staff_id": 999999}, "staff_id"),
        ({"channel": "phone", "subject": "x", "customer_id": 1}, "customer_id"),
    ],
)
def test_invalid_touch_points_are_422_naming_the_field(rep, company, body, field):
    response = rep.post(f"/customers/{company.rep_customer.pk}/interactions", body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Interaction.objects.exists()


def test_a_staff_member_who_may_not_see_the_customer_is_422_naming_the_field(rep, company):
    response = rep.post(
        f"/customers/{company.rep_customer.pk}/interactions",
        {"channel": "phone", "subject": "x", "staff_id": company.rep_west.pk},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["staff_id"]
    assert not Interaction.objects.exists()


def test_read_only_users_cannot_log_touch_points(api_as, company):
    response = api_as("analyst").post(
        f"/customers/{company.rep_customer.pk}/interactions", {"channel": "phone", "subject": "x"}
    )
    assert response.status_code == 403
    assert not Interaction.objects.exists()


def test_timeline_is_newest_first_and_pages_by_either_ordering(rep, company):
    customer = company.rep_customer
    made = [_log(customer, hours_ago=h, subject=f"h{h}") for h in (5, 1, 3)]
    page = rep.get(f"/customers/{customer.pk}/interactions", {"limit": 2}).json()
    assert [i["subject"] for i in page["items"]] == ["h1", "h3"]
    rest = rep.get(
        f"/customers/{customer.pk}/interactions", {"limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert [i["subject"] for i in rest["items"]] == ["h5"]
    assert rest["next_cursor"] is None
    by_id = rep.get(f"/customers/{customer.pk}/interactions", {"ordering": "-id"}).json()
    assert [i["id"] for i in by_id["items"]] == sorted((m.pk for m in made), reverse=True)
    other = _log(company.teammate_customer, hours_ago=0)
    ids = [i["id"] for i in rep.get(f"/customers/{customer.pk}/interactions").json()["items"]]
    assert other.pk not in ids


def test_interaction_list_filters(rep, company):
    a = _log(company.rep_customer, hours_ago=30, channel="fax", staff=company.rep)
    b = _log(company.teammate_customer, hours_ago=2, channel="email", staff=company.teammate)
    _log(company.west_customer, hours_ago=1, channel="email")  # invisible to the rep

    def ids(**params):
        return [i["id"] for i in rep.get("/interactions", params).json()["items"]]

    assert ids() == [b.pk, a.pk]
    assert ids(channel="fax") == [a.pk]
    assert ids(staff_id=company.teammate.pk) == [b.pk]
    assert ids(customer_id=company.rep_customer.pk) == [a.pk]
    assert ids(customer_id=company.west_customer.pk) == []
    since = (timezone.now() - dt.timedelta(hours=10)).isoformat()
    assert ids(since=since) == [b.pk]
    assert ids(until=since) == [a.pk]
    assert ids(direction="inbound") == []
