"""Logging contacts from the customer page, and the recent-contacts list."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db

CALL = {
    "channel": "phone",
    "direction": "inbound",
    "subject": "询问报价",
    "notes": "想要 50 台",
    "occurred_at": "2026-01-05T10:30",
}


def test_log_a_contact_with_htmx_refreshes_the_timeline(client, company):
    client.force_login(company.rep)
    response = client.post(
        f"/interactions/log/{company.rep_customer.pk}/", CALL, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-swap-oob="true"' in html and "询问报价" in html
    interaction = Interaction.objects.get(customer=company.rep_customer)
    assert (interaction.channel, interaction.direction, interaction.staff) == (
        "phone",
        "inbound",
        company.rep,
    )
    assert AuditEvent.objects.filter(object_type="interaction", object_id=interaction.pk)


def test_log_without_htmx_redirects_back_to_the_customer(client, company):
    client.force_login(company.agent)  # agents log contacts on anyone's customers
    response = client.post(f"/interactions/log/{company.west_customer.pk}/", CALL)
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{company.west_customer.pk}/"
    assert Interaction.objects.filter(customer=company.west_customer, staff=company.agent)


def test_bad_input_is_shown_in_the_form_and_nothing_is_logged(client, company):
    client.force_login(company.rep)
    response = client.post(
        f"/interactions/log/{company.rep_customer.pk}/",
        {**CALL, "subject": "", "occurred_at": "2999-01-01T10:00", "channel": "pigeon"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "This field is required." in html
    assert "Select a valid choice." in html
    assert not Interaction.objects.exists()


def test_future_contacts_are_refused(client, company):
    client.force_login(company.rep)
    response = client.post(
        f"/interactions/log/{company.rep_customer.pk}/",
        {**CALL, "occurred_at": "2999-01-01T10:00"},
        HTTP_HX_REQUEST="true",
    )
    assert "cannot be in the future" in response.content.decode()
    assert not Interaction.objects.exists()


def test_without_javascript_the_message_names_the_fields_as_the_form_does(client, company):
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    response = client.post(
        f"/interactions/log/{company.rep_customer.pk}/", {**CALL, "subject": ""}, follow=True
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert "主题" in message and "subject" not in message
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "1899-12-31T23:59"])
def test_contacts_before_1900_are_refused_beside_the_field(client, company, when):
    # The year 1 in Beijing is partly the year 0 in UTC, which could not even be stored.
    client.force_login(company.rep)
    response = client.post(
        f"/interactions/log/{company.rep_customer.pk}/",
        {**CALL, "occurred_at": when},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Give a date between the years 1900 and" in response.content.decode()
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_logging_follows_the_visibility_rule(client, company, username):
    client.force_login(company.users[username])
    visible, may_interact, _change = EXPECTED[username]
    for name, customer in company.customers.items():
        response = client.post(f"/interactions/log/{customer.pk}/", CALL)
        expected = 302 if name in may_interact else (403 if name in visible else 404)
        assert response.status_code == expected, (username, name)
        assert Interaction.objects.filter(customer=customer).exists() == (name in may_interact)


def test_recent_contacts_list_only_visible_customers(client, company):
    for customer in company.customers.values():
        interaction_log(
            actor=company.admin, customer_id=customer.pk, data={**CALL, "subject": customer.name}
        )
    client.force_login(company.rep)
    html = client.get("/interactions/").content.decode()
    for name, customer in company.customers.items():
        assert (customer.name in html) == (name in EXPECTED["rep"][0]), name
    html = client.get("/interactions/", {"mine": "on"}).content.decode()
    assert "No contacts logged" in html
