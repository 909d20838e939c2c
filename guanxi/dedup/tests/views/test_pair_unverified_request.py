"""A pair queued by an unverified request to the service desk links to the tickets such requests
opened, so the reviewer reads what the sender wrote without hunting for it: only for a viewer
who may see those tickets."""

import pytest

from guanxi.customers.models import Email
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.views import _unverified_requests
from guanxi.service.tests.desk import build_desk
from guanxi.service.tests.inbound_mail import filed
from guanxi.service.tests.test_inbound_sender_verification import FAIL, MX
from guanxi.service.tests.test_inbound_unknown_sender import raw_email

pytestmark = pytest.mark.django_db

ADDRESS = "wangfang@example.cn"


@pytest.fixture
def queued(company, settings):
    """王芳's address is on the rep's customer; two requests from it whose sender is not
    verified make a customer of their own, queued with hers."""
    settings.GUANXI_INBOUND_AUTHSERV_ID = [MX]
    build_desk(company)
    Email.objects.create(customer=company.rep_customer, address=ADDRESS)
    tickets = [
        filed(
            raw_email(
                sender=f"王芳 <{ADDRESS}>",
                subject=f"退款 {n}",
                body="请把退款转到这个账户。",
                message_id=f"<request-{n}@example.cn>",
                headers={"Authentication-Results": FAIL},
            )
        ).ticket
        for n in range(2)
    ]
    pair = DuplicatePair.objects.get()
    assert pair.source == DuplicatePair.Source.INTAKE
    return pair, tickets


def _page(client, user, pair, language="en"):
    client.force_login(user)
    client.cookies["django_language"] = language
    return client.get(f"/duplicates/{pair.pk}/")


@pytest.mark.parametrize("viewer", ["agent", "admin"])
def test_the_pair_page_links_to_the_unverified_requests(client, company, queued, viewer):
    pair, tickets = queued
    page = _page(client, getattr(company, viewer), pair).content.decode()
    assert "Service desk requests from the address whose sender was not verified:" in page
    for ticket in tickets:
        assert (
            f'<a href="/service/tickets/{ticket.pk}/">{ticket.number} {ticket.subject}</a>' in page
        )


def test_the_link_is_labelled_in_chinese(client, company, queued):
    pair, tickets = queued
    page = _page(client, company.agent, pair, "zh-hans").content.decode()
    assert "来自该地址、发件人未经验证的服务台请求：" in page
    assert f"/service/tickets/{tickets[0].pk}/" in page


@pytest.mark.parametrize("viewer", ["rep", "rep_west"])
def test_a_viewer_who_may_not_see_the_tickets_gets_no_link(client, company, queued, viewer):
    # The rep has the address's customer but not the new one in the unowned pool, the other
    # rep neither: their tickets are out of sight, and so is the pair.
    pair, tickets = queued
    response = _page(client, getattr(company, viewer), pair)
    assert response.status_code == 404
    page = response.content.decode()
    assert not any(f"/service/tickets/{ticket.pk}/" in page for ticket in tickets)
    assert "退款" not in page


def test_a_pair_of_the_duplicate_scan_links_to_no_request(client, company, queued):
    pair, tickets = queued
    DuplicatePair.objects.filter(pk=pair.pk).update(source=DuplicatePair.Source.SCAN)
    page = _page(client, company.agent, pair).content.decode()
    assert not any(f"/service/tickets/{ticket.pk}/" in page for ticket in tickets)


def test_the_requests_are_read_through_what_the_viewer_may_see(company, queued):
    # Asked of the pair alone, as the page asks it once the pair is found: the rep, who may not
    # see the new customer, is given none of its tickets.
    pair, tickets = queued
    assert _unverified_requests(company.agent, pair) == tickets
    assert _unverified_requests(company.rep, pair) == []
