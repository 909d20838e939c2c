"""An agent opening a ticket says what kind it is: the form does not make it a complaint by
itself. Complaints run on the round-the-clock policy and are counted in the complaint reports,
so one taken down without a look at the type (an inquiry, a suggestion) skewed both."""

import re

import pytest

from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_type_starts_empty_and_must_be_chosen(client, company, desk, clock):
    client.force_login(company.agent)
    url = f"/service/customers/{company.rep_customer.pk}/new/"
    form = client.get(url).content.decode()
    select = re.search(r'<select name="type"[^>]*>(.*?)</select>', form, re.S).group(1)
    assert re.search(r'<option value="" selected>', select), select
    assert "selected" not in select.replace('<option value="" selected>', "")

    refused = client.post(
        url, {"subject": "什么时候发货", "priority": "normal", "channel": "phone"}
    )
    assert refused.status_code == 422
    assert not Ticket.objects.exists()
    assert re.search(r'id="id_type"', refused.content.decode())

    client.post(
        url,
        {"type": "inquiry", "subject": "什么时候发货", "priority": "normal", "channel": "phone"},
    )
    assert Ticket.objects.get().type == "inquiry"
