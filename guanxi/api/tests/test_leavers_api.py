"""What an administrator's script needs when someone leaves: deactivating them with a handover
(``POST /users/{id}/deactivate``), sending customers to the unowned pool
(``POST /customers/reassign`` with ``to_owner_id: null``) and finding customers whose account
manager has gone (``GET /customers?owner_inactive=true``)."""

import pytest

from guanxi.accounts.models import Team, User
from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db


def _active(user) -> bool:
    return User.objects.get(pk=user.pk).is_active


def _fields(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_administrator_deactivates_handing_over_to_a_colleague(api_as, company):
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.rep, reason="overdue"
    )
    response = api_as("admin").post(
        f"/users/{company.rep.pk}/deactivate", {"hand_over_to": company.teammate.pk}
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "id": company.rep.pk,
        "username": "rep",
        "is_active": False,
        "hand_over_to": company.teammate.pk,
        "handed_over": {"customers": 1, "open_tickets": 0, "open_follow_ups": 1},
    }
    assert not _active(company.rep)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.teammate
    follow_up.refresh_from_db()
    assert follow_up.owner == company.teammate
    event = AuditEvent.objects.get(object_type="user", object_id=company.rep.pk, action="update")
    assert event.via == "api" and event.actor == company.admin


def test_handing_over_to_the_pool(api_as, company):
    response = api_as("admin").post(f"/users/{company.rep.pk}/deactivate", {"hand_over_to": "pool"})
    assert response.status_code == 200, response.json()
    assert response.json()["hand_over_to"] == "pool"
    assert Customer.objects.get(pk=company.rep_customer.pk).owner is None


def test_someone_holding_nothing_needs_no_successor(api_as, company):
    response = api_as("admin").post(f"/users/{company.analyst.pk}/deactivate", {})
    assert response.status_code == 200, response.json()
    assert not _active(company.analyst)


def test_a_refusal_names_the_field_and_changes_nothing(api_as, company):
    Team.objects.filter(pk=company.team_a.pk).update(lead=company.rep)
    response = api_as("admin").post(f"/users/{company.rep.pk}/deactivate", {})
    assert response.status_code == 422
    fields = _fields(response)
    assert "1 customer" in fields["hand_over_to"]
    assert "East Sales / A" in fields["roles"] and "/admin/accounts/team/" in fields["roles"]
    assert _active(company.rep)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep
    # Nothing on record but the token the test signs in with.
    assert not AuditEvent.objects.exclude(object_type="api_token").exists()


@pytest.mark.parametrize("value", ["someone", "12", 0, True, 1.5, [1]])
def test_a_malformed_successor_is_refused_naming_the_field(api_as, company, value):
    response = api_as("admin").post(f"/users/{company.rep.pk}/deactivate", {"hand_over_to": value})
    assert response.status_code == 422, response.json()
    assert {e["field"] for e in response.json()["errors"]} == {"hand_over_to"}
    assert _active(company.rep)


def test_an_inactive_or_unknown_successor_is_refused(api_as, company):
    User.objects.filter(pk=company.teammate.pk).update(is_active=False)
    admin = api_as("admin")
    for successor in (company.teammate.pk, 999999):
        response = admin.post(f"/users/{company.rep.pk}/deactivate", {"hand_over_to": successor})
        assert response.status_code == 422
        assert set(_fields(response)) == {"hand_over_to"}
    assert _active(company.rep)


def test_unknown_fields_are_refused(api_as, company):
    response = api_as("admin").post(
        f"/users/{company.rep.pk}/deactivate", {"successor": company.teammate.pk}
    )
    assert response.status_code == 422
    assert "successor" in _fields(response)


def test_only_administrators_and_unknown_users_are_not_found(api_as, company):
    for username in ("manager", "rep", "agent", "analyst"):
        client = api_as(username)
        response = client.post(f"/users/{company.rep_b.pk}/deactivate", {"hand_over_to": "pool"})
        assert response.status_code == 403, username
        # Not told whether an id is a user either.
        assert client.post("/users/999999/deactivate", {}).status_code == 403
    assert _active(company.rep_b)
    assert api_as("admin").post("/users/999999/deactivate", {}).status_code == 404


def test_a_retry_with_the_same_idempotency_key_replays_the_answer(api_as, company):
    admin = api_as("admin")
    headers = {"Idempotency-Key": "leaver-rep-1"}
    body = {"hand_over_to": company.teammate.pk}
    first = admin.post(f"/users/{company.rep.pk}/deactivate", body, headers=headers)
    again = admin.post(f"/users/{company.rep.pk}/deactivate", body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(object_type="user", action="update").count() == 1
    # Without the key, a second request is a second attempt, refused: they have gone already.
    response = admin.post(f"/users/{company.rep.pk}/deactivate", body)
    assert response.status_code == 422
    assert set(_fields(response)) == {"user_id"}
    assert "already inactive" in _fields(response)["user_id"]


def test_deactivating_oneself_is_refused_naming_the_user_not_the_successor(api_as, company):
    response = api_as("admin").post(
        f"/users/{company.admin.pk}/deactivate", {"hand_over_to": "pool"}
    )
    assert response.status_code == 422
    assert _fields(response) == {"user_id": "You cannot deactivate yourself."}
    assert _active(company.admin)


def test_the_leavers_token_stops_working(api_as, company):
    rep = api_as("rep")
    assert rep.get("/me").status_code == 200
    api_as("admin").post(f"/users/{company.rep.pk}/deactivate", {"hand_over_to": "pool"})
    assert rep.get("/me").status_code == 401


# ---------------------------------------------------------------------------------------------
# Reassignment to the pool, and the filter


def test_reassign_sends_customers_to_the_unowned_pool(api_as, company):
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.rep, reason="overdue"
    )
    response = api_as("manager").post(
        "/customers/reassign", {"from_owner_id": company.rep.pk, "to_owner_id": None}
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"moved": 1}
    assert Customer.objects.get(pk=company.rep_customer.pk).owner is None
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None


def test_reassign_needs_to_owner_id_spelt_out(api_as, company):
    # Leaving it out must not silently mean "the unowned pool".
    response = api_as("manager").post("/customers/reassign", {"from_owner_id": company.rep.pk})
    assert response.status_code == 422
    assert _fields(response) == {"to_owner_id": "This field is required."}
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep


def test_from_the_pool_to_the_pool_is_refused(api_as, company):
    response = api_as("admin").post(
        "/customers/reassign", {"from_owner_id": None, "to_owner_id": None}
    )
    assert response.status_code == 422
    assert set(_fields(response)) == {"to_owner_id"}


def test_the_list_finds_customers_whose_owner_is_no_longer_active(api_as, company):
    User.objects.filter(pk__in=[company.rep.pk, company.rep_west.pk]).update(is_active=False)
    items = api_as("admin").get("/customers", {"owner_inactive": "true"}).json()["items"]
    assert {c["id"] for c in items} == {company.rep_customer.pk, company.west_customer.pk}
    # Still only the customers the caller may see: the East manager sees East's.
    items = api_as("manager").get("/customers", {"owner_inactive": "true"}).json()["items"]
    assert {c["id"] for c in items} == {company.rep_customer.pk}
    everyone = api_as("manager").get("/customers", {"owner_inactive": "false"}).json()["items"]
    assert len(everyone) > 1
