"""A pair of the review queue names other customers once one of its customers is merged into
a third customer (the pair moves to that survivor). A merge sent from the pair's page as it
was before must not merge the third customer, which nobody compared, even when its version
happens to be the one the page had for the customer it replaced."""

import re

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError, customer_create, customer_update
from guanxi.dedup.models import CustomerMerge, DuplicatePair
from guanxi.dedup.services import customers_merge, duplicate_pair_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved_pair(company):
    """(the pair, its page's merge form, the customers): the pair of ``first`` and ``second``
    as the page showed it, then ``first`` merged into ``third``, moving the pair to it."""
    third = customer_create(actor=company.rep, data={"name": "陈静"})
    first = customer_create(actor=company.rep, data={"name": "陈静"})
    second = customer_create(actor=company.rep, data={"name": "陈静"})
    # Edited once: at version 2, the version the third one reaches by being merged into.
    customer_update(
        actor=company.rep, customer_id=first.pk, expected_version=1, data={"industry": "教育"}
    )
    pair = DuplicatePair.objects.create(left_id=first.pk, right_id=second.pk, score=0.9)
    return pair, (first, second, third)


def _merge_form(client, pair) -> dict[str, str]:
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    form = page[
        page.index('id="merge-form"') : page.index("</form>", page.index('id="merge-form"'))
    ]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="(\d+)"', form))


def test_the_pair_page_does_not_merge_a_customer_it_did_not_show(client, company, moved_pair):
    pair, (first, second, third) = moved_pair
    client.force_login(company.rep)
    form = _merge_form(client, pair)
    assert form["version_left"] == "2"
    customers_merge(actor=company.manager, survivor_id=third.pk, merged_id=first.pk)
    pair.refresh_from_db()
    assert (pair.left_id, pair.right_id) == (third.pk, second.pk)
    assert Customer.objects.get(pk=third.pk).version == 2

    response = client.post(
        f"/duplicates/{pair.pk}/merge/", {**form, "keep": str(second.pk)}, follow=True
    )
    assert "changed since you opened this page" in response.content.decode()
    assert Customer.objects.get(pk=third.pk).deleted_at is None
    assert not CustomerMerge.objects.filter(survivor=second).exists()


def test_the_service_refuses_a_pair_that_names_another_customer_now(company, moved_pair):
    pair, (first, second, third) = moved_pair
    customers_merge(actor=company.manager, survivor_id=third.pk, merged_id=first.pk)
    with pytest.raises(StaleVersionError) as stale:
        duplicate_pair_merge(
            actor=company.rep,
            pair_id=pair.pk,
            survivor_id=second.pk,
            survivor_version=1,
            merged_version=2,
            merged_id=first.pk,
        )
    assert stale.value.field == "merged_version"
    assert Customer.objects.get(pk=third.pk).deleted_at is None


def test_the_pair_page_does_not_reject_a_customer_it_did_not_show(client, company, moved_pair):
    pair, (first, second, third) = moved_pair
    client.force_login(company.rep)
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    start = page.index('id="reject-form"')
    form = dict(
        re.findall(r'name="(\w+_id)" value="(\d+)"', page[start : page.index("</form>", start)])
    )
    assert form == {"left_id": str(first.pk), "right_id": str(second.pk)}
    customers_merge(actor=company.manager, survivor_id=third.pk, merged_id=first.pk)

    response = client.post(f"/duplicates/{pair.pk}/reject/", form, follow=True)
    assert "This pair has already been decided." in response.content.decode()
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.OPEN  # the third customer and the second
