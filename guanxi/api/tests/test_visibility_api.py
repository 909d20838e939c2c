"""The API shows and changes exactly what the hand-written visibility table says, role by role.

Expectations come from ``guanxi/core/testing/visibility_matrix.py::EXPECTED``, never from the
code under test.
"""

import csv
import io

import pytest
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction

# Deleting is for administrators and managers (``accounts.roles.DELETING_ROLES``), written out.
DELETERS = {"admin", "manager", "manager_west"}


def _names(company, ids) -> set[str]:
    by_pk = {c.pk: name for name, c in company.customers.items()}
    return {by_pk[pk] for pk in ids}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_list_and_export_contain_exactly_the_visible_customers(api_as, company, username):
    client = api_as(username)
    listed = client.get("/customers", {"limit": 200}).json()["items"]
    assert _names(company, [c["id"] for c in listed]) == EXPECTED[username][0]
    export = client.get("/customers/export")
    rows = csv.DictReader(io.StringIO(export.getvalue().decode("utf-8-sig")))
    assert _names(company, [int(r["id"]) for r in rows]) == EXPECTED[username][0]


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_interaction_list_covers_exactly_the_visible_customers(api_as, company, username):
    for customer in company.customers.values():
        Interaction.objects.create(
            customer=customer, channel="phone", subject=f"Call {customer.name}", staff=company.admin
        )
    items = api_as(username).get("/interactions", {"limit": 200}).json()["items"]
    assert _names(company, [i["customer"]["id"] for i in items]) == EXPECTED[username][0]


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_reading_one_customer_follows_the_view_column(api_as, company, username):
    client = api_as(username)
    view = EXPECTED[username][0]
    for name, customer in company.customers.items():
        expected = 200 if name in view else 404
        for path in ("", "/history", "/interactions"):
            response = client.get(f"/customers/{customer.pk}{path}")
            assert response.status_code == expected, (name, path)


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_changing_follows_the_change_column(api_as, company, username):
    client = api_as(username)
    view, _interact, change = EXPECTED[username]
    for name, customer in company.customers.items():
        response = client.patch(f"/customers/{customer.pk}", {"version": 1, "notes": username})
        expected = 200 if name in change else 403 if name in view else 404
        assert response.status_code == expected, name
    changed = Customer.objects.filter(notes=username).values_list("pk", flat=True)
    assert _names(company, changed) == change


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_logging_interactions_follows_the_interact_column(api_as, company, username):
    client = api_as(username)
    view, interact, _change = EXPECTED[username]
    for name, customer in company.customers.items():
        response = client.post(
            f"/customers/{customer.pk}/interactions", {"channel": "visit", "subject": username}
        )
        expected = 201 if name in interact else 403 if name in view else 404
        assert response.status_code == expected, name
    logged = Interaction.objects.filter(subject=username).values_list("customer_id", flat=True)
    assert _names(company, logged) == interact


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_deleting_follows_the_change_column_for_deleting_roles(api_as, company, username):
    client = api_as(username)
    view, _interact, change = EXPECTED[username]
    for name, customer in company.customers.items():
        response = client.delete(f"/customers/{customer.pk}", {"version": 1})
        may_delete = username in DELETERS and name in change
        expected = 204 if may_delete else 403 if name in view else 404
        assert response.status_code == expected, name


def test_a_rep_gets_404_for_another_teams_customer_and_nothing_is_written(api_as, company):
    rep = api_as("rep")
    other = company.rep_b_customer  # East Sales, Team B, which does not share
    before = Customer.objects.filter(pk=other.pk).values().get()
    answers = [
        rep.get(f"/customers/{other.pk}"),
        rep.patch(f"/customers/{other.pk}", {"version": 1, "name": "Taken"}),
        rep.delete(f"/customers/{other.pk}", {"version": 1}),
        rep.get(f"/customers/{other.pk}/interactions"),
        rep.post(f"/customers/{other.pk}/interactions", {"channel": "phone", "subject": "Hi"}),
        rep.get(f"/customers/{other.pk}/history"),
        rep.post(f"/customers/{other.pk}/reveal"),
    ]
    for response in answers:
        assert response.status_code == 404, response.request
        assert response.json() == {"detail": "No such customer.", "errors": []}
    # Indistinguishable from a customer that does not exist at all.
    missing = rep.get("/customers/999999")
    assert missing.json() == answers[0].json()
    assert Customer.objects.filter(pk=other.pk).values().get() == before
    assert not Interaction.objects.exists()
    # Nothing on record but the token the test signs in with.
    assert not AuditEvent.objects.exclude(object_type="api_token").exists()


def test_deleted_customers_are_gone_for_everyone(api_as, company):
    Customer.objects.filter(pk=company.unowned_customer.pk).update(deleted_at=timezone.now())
    admin = api_as("admin")
    assert admin.get(f"/customers/{company.unowned_customer.pk}").status_code == 404
    ids = [c["id"] for c in admin.get("/customers").json()["items"]]
    assert company.unowned_customer.pk not in ids
