"""The recycle bin page: deleted customers newest deletion first with who deleted them, a
search, pages, and a Restore button that says plainly why a customer cannot come back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers import views
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete, customer_restore, customer_update
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db

BIN = "/customers/recycle-bin/"


def _delete(actor, customer) -> Customer:
    customer_delete(actor=actor, customer_id=customer.pk)
    return Customer.objects.get(pk=customer.pk)


def _rows(html: str, names) -> list[str]:
    """The given names in the order the page shows them."""
    return sorted((n for n in names if n in html), key=html.index)


def test_the_bin_lists_deleted_customers_newest_first_with_who_deleted_them(client, company):
    first = _delete(company.manager, company.rep_customer)
    second = _delete(company.admin, company.west_customer)
    client.force_login(company.admin)

    html = client.get(BIN).content.decode()

    assert _rows(html, [first.name, second.name]) == [second.name, first.name]
    assert company.manager.label in html and company.admin.label in html
    assert company.rep.label in html  # the account manager
    assert first.get_kind_display() in html
    assert company.teammate_customer.name not in html  # not deleted
    assert f'name="version" value="{first.version}"' in html
    assert "data-confirm=" in html


def test_the_bin_is_searched_as_the_customer_list_is(client, company):
    _delete(company.admin, company.rep_customer)  # Rep Customer 张伟
    _delete(company.admin, company.west_customer)
    client.force_login(company.admin)

    html = client.get(BIN, {"q": "zhangwei"}).content.decode()
    assert company.rep_customer.name in html and company.west_customer.name not in html

    html = client.get(BIN, {"q": "nobody-like-this"}).content.decode()
    assert "No deleted customers match" in html

    response = client.get(BIN, {"q": "x" * 201})
    assert response.status_code == 200
    assert "these filters are not valid" in response.content.decode()
    assert company.rep_customer.name not in response.content.decode()


def test_the_bin_pages_through_many_deleted_customers(client, company, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    names = [f"Gone {n}" for n in range(5)]
    for name in names:
        _delete(company.admin, CustomerFactory(name=name, owner=company.rep))
    client.force_login(company.admin)

    seen, url = [], BIN
    while url:
        response = client.get(url if url.startswith("/") else BIN + url)
        html = response.content.decode()
        seen += _rows(html, names)
        next_link = [part for part in html.split('href="') if 'rel="next"' in part.split(">")[0]]
        url = next_link[0].split('"')[0].replace("&amp;", "&") if next_link else None
    assert seen == list(reversed(names))


def test_the_bin_asks_the_same_queries_however_many_customers_it_shows(client, company):
    client.force_login(company.admin)
    _delete(company.admin, CustomerFactory(name="Gone first", owner=company.rep))
    with CaptureQueriesContext(connection) as one:
        assert client.get(BIN).status_code == 200
    for n in range(12):
        _delete(company.manager, CustomerFactory(name=f"Gone {n}", owner=company.rep_b))
    with CaptureQueriesContext(connection) as many:
        assert client.get(BIN).status_code == 200
    assert len(many) == len(one)


def test_restore_brings_the_customer_back_into_the_list_and_search(client, company):
    customer = _delete(company.manager, company.rep_customer)
    client.force_login(company.admin)

    response = client.post(
        f"/customers/{customer.pk}/restore/", {"version": customer.version}, follow=True
    )

    assert response.redirect_chain[-1][0] == f"/customers/{customer.pk}/"
    assert "is restored" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).deleted_at is None
    client.force_login(company.rep)
    assert customer.name in client.get("/customers/", {"q": "zhangwei"}).content.decode()
    history = client.get(f"/customers/{customer.pk}/history/").content.decode()
    assert "moved this customer to the recycle bin" in history
    assert "Restored from the recycle bin" in history


def test_restoring_a_customer_merged_away_names_the_kept_customer(client, company):
    kept, other = company.rep_customer, company.teammate_customer
    merge = customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    merged = Customer.objects.get(pk=other.pk)
    client.force_login(company.admin)

    html = client.get(BIN).content.decode()
    assert f"/customers/{kept.pk}/" in html  # "Merged into …", with no Restore button
    assert f"/customers/{merged.pk}/restore/" not in html

    response = client.post(
        f"/customers/{merged.pk}/restore/", {"version": merged.version}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == BIN
    assert kept.name in html and "Undo that merge" in html
    assert Customer.objects.get(pk=merged.pk).deleted_at is not None

    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    assert Customer.objects.get(pk=merged.pk).deleted_at is None


def test_a_customer_merged_into_one_in_the_bin_too_says_to_restore_that_one_first(client, company):
    kept, other = company.rep_customer, company.teammate_customer
    customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    _delete(company.admin, kept)
    client.force_login(company.admin)

    html = client.get(BIN).content.decode()

    # No link to the kept customer's page, which is not there to open.
    assert f'href="/customers/{kept.pk}/"' not in html
    assert "The kept customer is in the recycle bin too: restore it first." in html
    assert f"/customers/{kept.pk}/restore/" in html


def test_a_customer_restored_by_someone_else_meanwhile_is_said_to_be(client, company):
    customer = _delete(company.admin, company.rep_customer)
    customer_restore(actor=company.admin, customer_id=customer.pk)
    client.force_login(company.admin)

    response = client.post(
        f"/customers/{customer.pk}/restore/", {"version": customer.version}, follow=True
    )

    assert response.redirect_chain[-1][0] == BIN
    assert "restored it meanwhile" in response.content.decode()


def test_a_restore_on_an_old_look_at_the_bin_restores_nothing(client, company):
    seen = _delete(company.admin, company.rep_customer)
    restored = customer_restore(actor=company.admin, customer_id=seen.pk)
    customer_update(
        actor=company.admin,
        customer_id=seen.pk,
        expected_version=restored.version,
        data={"industry": "零售"},
    )
    customer_delete(actor=company.admin, customer_id=seen.pk)
    client.force_login(company.admin)

    for data, words in (
        ({"version": seen.version}, "changed since the recycle bin was shown"),
        ({}, "did not say which version"),
    ):
        response = client.post(f"/customers/{seen.pk}/restore/", data, follow=True)
        assert words in response.content.decode()
        assert Customer.objects.get(pk=seen.pk).deleted_at is not None


@pytest.mark.parametrize(
    "username", ["manager", "manager_west", "rep", "teammate", "rep_b", "agent", "analyst"]
)
def test_nobody_but_an_administrator_reaches_the_bin(client, company, username):
    customer = _delete(company.admin, company.customers["rep_customer"])
    client.force_login(company.users[username])

    assert "/customers/recycle-bin/" not in client.get("/customers/").content.decode()
    assert client.get(BIN).status_code == 403
    response = client.post(f"/customers/{customer.pk}/restore/", {"version": customer.version})
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None


def test_the_bin_speaks_chinese(client, company):
    customer = _delete(company.admin, company.rep_customer)
    customer_restore(actor=company.admin, customer_id=customer.pk)
    client.force_login(company.admin)
    client.cookies["django_language"] = "zh-hans"

    assert "回收站" in client.get("/customers/").content.decode()
    html = client.get(BIN).content.decode()
    assert "回收站是空的" in html
    response = client.post(
        f"/customers/{customer.pk}/restore/", {"version": customer.version}, follow=True
    )
    assert "已有人在此期间将其恢复" in response.content.decode()
