"""A pair of the review queue can leave it while a merge or a rejection sent from its page is on
its way: a merge of one of its customers into the other, made elsewhere, deletes it. Gone
after the page's request found it and before the service read it, the pair is not found
(404), as it would be a moment later, rather than the request ending in a server error."""

import pytest

from guanxi.customers.services import customer_create
from guanxi.dedup import views
from guanxi.dedup.models import CustomerMerge, DuplicatePair

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair_gone_once_found(company, monkeypatch):
    first = customer_create(actor=company.rep, data={"name": "陈静"})
    second = customer_create(actor=company.rep, data={"name": "陈静"})
    pair = DuplicatePair.objects.create(left_id=first.pk, right_id=second.pk, score=0.9)
    found = views._pair_or_404

    def found_then_gone(user, pair_id):
        seen = found(user, pair_id)
        DuplicatePair.objects.filter(pk=seen.pk).delete()
        return seen

    monkeypatch.setattr(views, "_pair_or_404", found_then_gone)
    return pair, first, second


def test_a_merge_of_a_pair_gone_meanwhile_is_not_found(client, company, pair_gone_once_found):
    pair, first, _second = pair_gone_once_found
    client.force_login(company.rep)
    response = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {"keep": str(first.pk), "version_left": "1", "version_right": "1"},
    )
    assert response.status_code == 404
    assert not CustomerMerge.objects.exists()


def test_a_rejection_of_a_pair_gone_meanwhile_is_not_found(client, company, pair_gone_once_found):
    pair, _first, _second = pair_gone_once_found
    client.force_login(company.rep)
    response = client.post(f"/duplicates/{pair.pk}/reject/")
    assert response.status_code == 404
