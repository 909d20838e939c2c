"""Saving a customer's form, or deleting it, while that customer is being merged into another:
the save waits for the merge, and then finds the customer gone into the other one. The page
leads to the kept customer, which says what happened, rather than failing with a server
error. Real concurrency needs PostgreSQL."""

import threading

import pytest
from django.db import connection
from django.test import Client

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup import services as merging

from .test_customer_pages import _customer_form

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_a_form_sent_while_its_customer_is_merged_away_leads_to_the_kept_one(
    company, monkeypatch, action
):
    kept = customer_create(actor=company.manager, data={"name": "赵磊"})
    other = customer_create(actor=company.manager, data={"name": "赵磊", "industry": "零售"})
    paused, go = threading.Event(), threading.Event()
    settle = merging._settle_pairs

    def settle_when_told(*args, **kwargs):
        paused.set()  # the merge holds both customers by now
        go.wait(30)
        return settle(*args, **kwargs)

    monkeypatch.setattr(merging, "_settle_pairs", settle_when_told)
    results: dict = {}
    merge = in_thread(
        lambda: merging.customers_merge(
            actor=company.manager, survivor_id=kept.pk, merged_id=other.pk
        ),
        results,
        "merge",
    )
    assert paused.wait(30)
    browser = Client()
    browser.force_login(company.manager)
    if action == "edit":
        data = _customer_form(name="赵磊", industry="批发", version=str(other.version))
        send = lambda: browser.post(f"/customers/{other.pk}/edit/", data)  # noqa: E731
    else:
        send = lambda: browser.post(  # noqa: E731
            f"/customers/{other.pk}/delete/", {"version": str(other.version)}
        )
    saving = in_thread(send, results, action)
    assert wait_until(waiting_for_a_lock)
    go.set()
    merge.join(60)
    saving.join(60)
    assert results["merge"][0] == "ok", results["merge"][-1]
    assert results[action][0] == "ok", results[action][-1]
    response = results[action][1]
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{other.pk}/"
    # That address leads on to the kept customer, which says the other was merged into it.
    landing = browser.get(response["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == f"/customers/{kept.pk}/"
    assert "That customer was merged into this one." in landing.content.decode()
    assert Customer.objects.get(pk=other.pk).industry == "零售"  # nothing was saved over it
