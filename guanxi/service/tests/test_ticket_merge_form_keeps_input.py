"""A refused merge on the ticket page keeps the number of the ticket to keep that was typed."""

import pytest

from guanxi.service.services import ticket_create

pytestmark = pytest.mark.django_db


def _ticket(company, subject):
    return ticket_create(
        actor=company.admin,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": subject},
    )


@pytest.mark.parametrize("version", ["", "99"])
def test_a_merge_refused_as_stale_keeps_the_number_typed(client, company, version):
    ticket, into = _ticket(company, "Merged away"), _ticket(company, "Kept")
    client.force_login(company.admin)
    response = client.post(
        f"/service/tickets/{ticket.pk}/",
        {"action": "merge", "version": version, "into": into.number},
    )
    assert response.status_code == 200
    assert f'name="into" value="{into.number}"' in response.content.decode()


def test_a_merge_into_no_such_ticket_keeps_the_number_typed(client, company):
    ticket = _ticket(company, "Merged away")
    client.force_login(company.admin)
    response = client.post(
        f"/service/tickets/{ticket.pk}/",
        {"action": "merge", "version": ticket.version, "into": "T-999999"},
    )
    page = response.content.decode()
    assert "No such ticket." in page
    assert 'name="into" value="T-999999"' in page
