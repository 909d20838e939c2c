"""The customer page's value card: the current run's figures and the blacklist controls."""

import re

import pytest

from guanxi.analytics.models import Blacklist
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.services import blacklist_add, blacklist_remove
from guanxi.analytics.tests.conftest import AS_OF
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer


def test_the_card_shows_the_current_figures(client, book_of_orders):
    company = book_of_orders
    client.force_login(company.rep)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert "No analytics refresh has run yet." in page
    analytics_refresh(as_of=AS_OF)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    # The rep's customer loses money (lead), is overdue and rated C (see test_refresh).
    assert "tier-badge-lead" in page and "Cannot lose them" in page
    assert "Next purchase overdue" in page and "C (frequent or long delays)" in page
    assert "As of the analytics refresh of 2026-03-01." in page
    # The stage the refresh computes from purchases, contacts and tickets is told apart from the
    # one set on the profile.
    assert "Lifecycle stage by activity" in page


def test_putting_on_and_taking_off_the_blacklist_from_the_page(client, book_of_orders):
    company = book_of_orders
    customer = company.rep_customer
    client.force_login(company.rep)
    response = client.post(f"/analytics/blacklist/{customer.pk}/add/", {"reason": "欠款不还"})
    assert response.status_code == 302 and response["Location"].endswith("#value")
    assert Blacklist.objects.get(customer=customer).added_by == company.rep
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "欠款不还" in page and "Take off the blacklist" in page

    # A second try says why it did nothing.
    followed = client.post(
        f"/analytics/blacklist/{customer.pk}/add/", {"reason": "again"}, follow=True
    )
    assert "on the blacklist already" in followed.content.decode()
    client.post(f"/analytics/blacklist/{customer.pk}/remove/", {"version": _shown_version(page)})
    assert not Blacklist.objects.exists()
    assert AuditEvent.objects.filter(object_type="blacklist").count() == 2


def _shown_version(page: str) -> str:
    """The customer version the page's "Take off the blacklist" form sends."""
    form = page[page.index("/remove/") :]
    return re.search(r'name="version" value="(\d+)"', form[: form.index("</form>")]).group(1)


@pytest.mark.parametrize("sent", ["stale", "missing"])
def test_a_removal_from_a_page_read_before_another_change_removes_nothing(
    client, book_of_orders, sent
):
    company = book_of_orders
    customer = company.rep_customer
    client.force_login(company.rep)
    client.post(f"/analytics/blacklist/{customer.pk}/add/", {"reason": "late payer"})
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    # Someone else takes the entry off and puts it back for another reason.
    version = Customer.objects.get(pk=customer.pk).version
    blacklist_remove(actor=company.manager, customer_id=customer.pk, expected_version=version)
    blacklist_add(actor=company.manager, customer_id=customer.pk, reason="fraud")
    data = {"version": _shown_version(page)} if sent == "stale" else {}
    followed = client.post(f"/analytics/blacklist/{customer.pk}/remove/", data, follow=True)
    text = followed.content.decode()
    assert "Nothing was taken off the blacklist." in text
    assert ("changed since you opened it" in text) == (sent == "stale")
    assert Blacklist.objects.get(customer=customer).reason == "fraud"


def test_a_blank_reason_writes_nothing(client, book_of_orders):
    company = book_of_orders
    client.force_login(company.rep)
    followed = client.post(
        f"/analytics/blacklist/{company.rep_customer.pk}/add/", {"reason": "  "}, follow=True
    )
    assert "Say why the customer goes on the blacklist." in followed.content.decode()
    assert not Blacklist.objects.exists()


def test_the_analyst_sees_the_card_without_the_controls(client, book_of_orders):
    company = book_of_orders
    analytics_refresh(as_of=AS_OF)
    client.force_login(company.analyst)
    page = client.get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert "Customer value" in page
    assert "Put on the blacklist" not in page
