"""Saving a customer's form, or deleting it, while that customer is being merged into another:
the save waits for the merge, and then finds the customer gone into the other one. The page
leads to the kept customer, which says what happened, rather than failing with a server
error. Real concurrency needs PostgreSQL."""

import pytest
from django.test import Client

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer

from .test_customer_pages import _customer_form

pytestmark = CONCURRENT


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_a_form_sent_while_its_customer_is_merged_away_leads_to_the_kept_one(
    company, monkeypatch, action
):
    kept, other = customers_to_merge(
        company.manager, {"name": "赵磊"}, {"name": "赵磊", "industry": "零售"}
    )
    browser = Client()
    browser.force_login(company.manager)
    if action == "edit":
        data = _customer_form(name="赵磊", industry="批发", version=str(other.version))
        send = lambda: browser.post(f"/customers/{other.pk}/edit/", data)  # noqa: E731
    else:
        send = lambda: browser.post(  # noqa: E731
            f"/customers/{other.pk}/delete/", {"version": str(other.version)}
        )
    results = write_while_merging(
        monkeypatch, send, actor=company.manager, kept=kept, other=other, key=action
    )
    assert results[action][0] == "ok", results[action][-1]
    response = results[action][1]
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{other.pk}/"
    # That address leads on to the kept customer, which says the other was merged into it.
    landing = browser.get(response["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == f"/customers/{kept.pk}/"
    assert "That customer was merged into this one." in landing.content.decode()
    assert Customer.objects.get(pk=other.pk).industry == "零售"  # nothing was saved over it
