"""A customer in the recycle bin, read before restoring it: its profile, contact details with the
numbers masked, who deleted it and its history, with the Restore button and nothing that works
on it; for administrators, as the bin is, and only while the customer is in the bin."""

import pytest
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers import views
from guanxi.customers.models import Customer
from guanxi.customers.services import (
    customer_create,
    customer_delete,
    customer_restore,
    customer_update,
)
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db

BIN = "/customers/recycle-bin/"
MOBILE = "13890417762"
ID_NUMBER = "11010519491231002X"


def _page(customer) -> str:
    return f"{BIN}{customer.pk}/"


@pytest.fixture
def deleted(company) -> Customer:
    """A customer with a profile, contact details and a past: created and changed by the rep,
    moved to the recycle bin by the manager."""
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "欧阳娜娜",
            "industry": "零售",
            "notes": "Prefers calls after lunch.",
            "phones": [MOBILE],
            "emails": ["nana@example.com"],
            "addresses": [{"city": "上海", "street": "南京西路 1 号"}],
            "tags": ["VIP"],
            "consents": [{"channel": "email", "granted": True, "method": "web_form"}],
            "id_number": ID_NUMBER,
        },
    )
    customer = customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"region": "华东"},
    )
    customer_delete(actor=company.manager, customer_id=customer.pk)
    return Customer.objects.get(pk=customer.pk)


def test_the_bin_links_each_customer_to_its_page(client, company, deleted):
    client.force_login(company.admin)

    html = client.get(BIN).content.decode()

    assert f'href="{_page(deleted)}"' in html


def test_the_page_shows_the_profile_contacts_deletion_and_history(client, company, deleted):
    client.force_login(company.admin)

    response = client.get(_page(deleted))

    assert response.status_code == 200
    html = response.content.decode()
    for shown in (
        "欧阳娜娜",
        "零售",
        "华东",
        "Prefers calls after lunch.",
        "nana@example.com",
        "南京西路 1 号",
        "VIP",
        "+86 138 **** 7762",
        "1****************X",
        company.rep.label,  # the account manager
        company.manager.label,  # who deleted it
        # when, on the day of the server's time zone, as pages give times
        timezone.localtime(deleted.deleted_at).strftime("%Y-%m-%d"),
    ):
        assert shown in html, shown
    # The history, as the customer page tells it.
    assert "moved this customer to the recycle bin" in html
    assert "changed this customer" in html
    assert "created this customer" in html
    # Restoring it, as the bin does: with the version seen and a question first.
    assert f'action="/customers/{deleted.pk}/restore/"' in html
    assert f'name="version" value="{deleted.version}"' in html
    assert "data-confirm=" in html


def test_the_page_offers_nothing_that_works_on_the_customer(client, company, deleted):
    client.force_login(company.admin)
    before = AuditEvent.objects.count()

    response = client.get(_page(deleted))
    assert response.status_code == 200
    html = response.content.decode()

    # Administrators may see numbers in full, but only by the audited reveal of a customer in
    # use: here they stay masked, and the page neither reveals nor offers to.
    assert MOBILE not in html and "138 9041 7762" not in html and ID_NUMBER not in html
    for action in ("reveal", "edit", "delete", "timeline"):
        assert f"/customers/{deleted.pk}/{action}/" not in html, action
    assert "/interactions/log/" not in html and "/orders/new/" not in html
    assert "/service/customers/" not in html
    assert AuditEvent.objects.count() == before  # reading it records nothing, changes nothing


def test_the_history_pages_on_from_the_bin_page(client, company, deleted, monkeypatch):
    monkeypatch.setattr(views, "HISTORY_PAGE", 1)
    client.force_login(company.admin)

    html = client.get(_page(deleted)).content.decode()
    assert "moved this customer to the recycle bin" in html
    assert "changed this customer" not in html
    assert f'href="/customers/{deleted.pk}/history/' not in html  # not there for it (404)
    more = html.split('rel="next"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert more.startswith(f"{_page(deleted)}?cursor=")

    fragment = client.get(more, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "changed this customer" in fragment.content.decode()
    assert "<h1>" not in fragment.content.decode()
    whole = client.get(more)
    assert "changed this customer" in whole.content.decode()
    assert "<h1>" in whole.content.decode()
    assert client.get(_page(deleted), {"cursor": "walk"}).status_code == 400


def test_only_customers_in_the_bin_have_a_page_there(client, company, deleted):
    client.force_login(company.admin)

    # The customer page stays for customers in use: a deleted one is not found there.
    assert client.get(f"/customers/{deleted.pk}/").status_code == 404
    assert client.get(f"/customers/{deleted.pk}/history/").status_code == 404
    assert client.get(f"{BIN}{company.rep_customer.pk}/").status_code == 404  # in use
    assert client.get(f"{BIN}{2**40}/").status_code == 404  # never was
    assert client.get(_page(deleted)).status_code == 200
    customer_restore(actor=company.admin, customer_id=deleted.pk)
    assert client.get(_page(deleted)).status_code == 404
    assert client.get(f"/customers/{deleted.pk}/").status_code == 200


@pytest.mark.parametrize(
    "username", ["manager", "manager_west", "rep", "teammate", "rep_b", "agent", "analyst"]
)
def test_nobody_but_an_administrator_reads_it(client, company, deleted, username):
    """Refused as the bin refuses them (403), whoever owns the customer and whether or not it is
    in the bin: the answer tells them nothing about it."""
    client.force_login(company.users[username])
    before = AuditEvent.objects.count()

    for url in (_page(deleted), f"{_page(deleted)}?cursor=walk", f"{BIN}{2**40}/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert deleted.name not in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_a_customer_merged_away_says_where_it_went_and_has_no_restore(client, company):
    kept, other = company.rep_customer, company.teammate_customer
    customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    client.force_login(company.admin)

    html = client.get(f"{BIN}{other.pk}/").content.decode()

    assert f"/customers/{other.pk}/restore/" not in html
    assert f'href="/customers/{kept.pk}/"' in html
    assert "undo the merge on its page" in html
    assert "merged duplicate customers" in html  # the merge, in its history


def test_a_person_whose_organisation_is_in_the_bin_too_says_to_restore_it_first(client, company):
    organisation = customer_create(
        actor=company.admin, data={"name": "星辰贸易", "party_type": "organization"}
    )
    person = customer_create(
        actor=company.admin, data={"name": "李雷", "organization_id": organisation.pk}
    )
    customer_delete(actor=company.admin, customer_id=person.pk)
    customer_delete(actor=company.admin, customer_id=organisation.pk)
    client.force_login(company.admin)

    html = client.get(f"{BIN}{person.pk}/").content.decode()

    assert f'href="{BIN}{organisation.pk}/"' in html
    assert "is in the recycle bin too: restore the organisation first" in html


def test_the_page_speaks_chinese(client, company, deleted):
    client.force_login(company.admin)
    client.cookies["django_language"] = "zh-hans"

    html = client.get(_page(deleted)).content.decode()

    assert "回收站" in html
    assert "只读" in html
    assert "恢复" in html


def test_its_history_names_the_organisation_in_the_bin_with_it(client, company):
    """The page names the organisation in the bin too, so its history does as well, linking to
    the organisation's page in the bin, instead of calling it a customer the reader cannot
    open."""
    organisation = customer_create(
        actor=company.admin, data={"name": "星辰贸易", "party_type": "organization"}
    )
    person = customer_create(
        actor=company.admin, data={"name": "李雷", "organization_id": organisation.pk}
    )
    customer_delete(actor=company.admin, customer_id=person.pk)
    customer_delete(actor=company.admin, customer_id=organisation.pk)
    client.force_login(company.admin)

    html = client.get(f"{BIN}{person.pk}/").content.decode()
    history = html.split('id="history"')[1]

    assert f"星辰贸易 (#{organisation.pk})" in history
    assert f'href="{BIN}{organisation.pk}/"' in history
    assert "which you cannot open" not in history


def test_its_history_names_the_kept_customer_in_the_bin_too(client, company):
    kept, other = company.rep_customer, company.teammate_customer
    customers_merge(actor=company.admin, survivor_id=kept.pk, merged_id=other.pk)
    customer_delete(actor=company.admin, customer_id=kept.pk)
    client.force_login(company.admin)

    history = client.get(f"{BIN}{other.pk}/").content.decode().split('id="history"')[1]

    assert f"{kept.name} (#{kept.pk})" in history
    assert f'href="{BIN}{kept.pk}/"' in history
    assert "which you cannot open" not in history
