"""The duplicate pages: hints while typing a new customer, the queue, one pair side by side,
merging and rejecting from there, undo from the kept customer's page."""

import pytest

from guanxi.core.testing.cursors import encode_cursor
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge, DuplicatePair
from guanxi.dedup.services import customers_merge, duplicate_pair_reject

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(company):
    first = customer_create(
        actor=company.rep, data={"name": "张伟", "phones": ["13812345678"], "industry": ""}
    )
    second = customer_create(
        actor=company.rep,
        data={"name": "張偉", "phones": ["+86 138 1234 5678"], "industry": "制造业"},
    )
    pair = DuplicatePair.objects.create(
        left_id=first.pk,
        right_id=second.pk,
        score=0.99,
        source="scan",
        details={"fields": [{"field": "phone", "level": "shared", "weight": 8.8}]},
    )
    return first, second, pair


def test_typing_a_known_phone_shows_the_customer_already_there(client, company, twins):
    first, _second, _pair = twins
    client.force_login(company.rep)
    form = client.get("/customers/new/").content.decode()
    assert 'id="duplicate-hints"' in form and "/duplicates/hints/" in form
    hint = client.post(
        "/duplicates/hints/",
        {
            "party_type": "person",
            "name": "Zhang Wei",
            "phone_number": "138-1234-5678",
            "phone_label": "mobile",
        },
    )
    html = hint.content.decode()
    assert hint.status_code == 200 and f"/customers/{first.pk}/" in html
    assert "same mobile phone" in html
    # Nothing to say about someone new, and nobody sees customers out of their sight.
    assert (
        "customers/"
        not in client.post(
            "/duplicates/hints/", {"party_type": "person", "name": "欧阳娜娜"}
        ).content.decode()
    )
    client.force_login(company.rep_west)
    west = client.post(
        "/duplicates/hints/",
        {"party_type": "person", "name": "张伟", "phone_number": "13812345678"},
    )
    assert f"/customers/{first.pk}/" not in west.content.decode()


def test_hints_while_an_organisation_name_is_half_typed(client, company, twins):
    # The box holds a name that is no organisation yet (or several): no hint error, no 500.
    first, _second, _pair = twins
    client.force_login(company.rep)
    for typed in ("没有这家公司", "华"):
        hint = client.post(
            "/duplicates/hints/",
            {
                "party_type": "person",
                "name": "Zhang Wei",
                "phone_number": "138-1234-5678",
                "phone_label": "mobile",
                "organization_label": typed,
            },
        )
        assert hint.status_code == 200
        assert f"/customers/{first.pk}/" in hint.content.decode()


def test_merge_from_the_pair_page_then_undo_from_the_kept_customer(client, company, twins):
    first, second, pair = twins
    client.force_login(company.rep)
    queue = client.get("/duplicates/").content.decode()
    assert f'href="/duplicates/{pair.pk}/"' in queue and "same mobile phone" in queue
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert "Keep this one" in page and "制造业" in page  # the other's industry, side by side
    response = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {"keep": str(first.pk), "version_left": "1", "version_right": "1"},
    )
    assert response.status_code == 302 and response["Location"] == f"/customers/{first.pk}/"
    first.refresh_from_db()
    assert first.industry == "制造业"
    assert Customer.objects.get(pk=second.pk).deleted_at is not None
    detail = client.get(f"/customers/{first.pk}/").content.decode()
    merge = CustomerMerge.objects.get()
    assert "Undo merge" in detail and f"/duplicates/merges/{merge.pk}/undo/" in detail
    # The old address of the merged customer leads to the kept one.
    followed = client.get(f"/customers/{second.pk}/")
    assert followed.status_code == 302 and followed["Location"] == f"/customers/{first.pk}/"

    undone = client.post(f"/duplicates/merges/{merge.pk}/undo/")
    assert undone.status_code == 302
    assert Customer.objects.get(pk=second.pk).deleted_at is None
    assert client.get(f"/customers/{second.pk}/").status_code == 200


def test_a_stale_page_does_not_merge(client, company, twins):
    first, _second, pair = twins
    client.force_login(company.rep)
    response = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {"keep": str(first.pk), "version_left": "1", "version_right": "7"},
        follow=True,
    )
    assert "changed since you opened this page" in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_a_pair_decided_meanwhile_is_not_merged_from_a_stale_page(client, company, twins):
    first, second, pair = twins
    client.force_login(company.rep)
    assert client.get(f"/duplicates/{pair.pk}/").status_code == 200
    # Meanwhile the manager says they are two customers; that changes neither's version.
    duplicate_pair_reject(actor=company.manager, pair_id=pair.pk)
    response = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {"keep": str(first.pk), "version_left": "1", "version_right": "1"},
        follow=True,
    )
    assert "This pair has already been decided." in response.content.decode()
    assert not CustomerMerge.objects.exists()
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicatePair.Status.REJECTED
    assert Customer.objects.get(pk=second.pk).deleted_at is None


def test_the_merged_tab_lists_merged_pairs_leading_to_the_kept_customer(client, company, twins):
    first, second, _pair = twins
    customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    client.force_login(company.rep)
    html = client.get("/duplicates/?status=merged").content.decode()
    assert f'href="/customers/{first.pk}/"' in html
    assert f'href="/customers/{second.pk}/"' not in html  # in the recycle bin
    assert "merged away" in html
    # Who cannot see the kept customer does not see the pair either.
    client.force_login(company.rep_west)
    html = client.get("/duplicates/?status=merged").content.decode()
    assert f'href="/customers/{first.pk}/"' not in html


def test_reject_from_the_pair_page(client, company, twins):
    _first, _second, pair = twins
    client.force_login(company.rep)
    response = client.post(f"/duplicates/{pair.pk}/reject/")
    assert response.status_code == 302 and response["Location"] == "/duplicates/"
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.REJECTED
    assert f'href="/duplicates/{pair.pk}/"' not in client.get("/duplicates/").content.decode()
    assert (
        f'href="/duplicates/{pair.pk}/"'
        in client.get("/duplicates/?status=rejected").content.decode()
    )


def test_who_may_only_look_sees_no_merge_button(client, company, twins):
    _first, _second, pair = twins
    client.force_login(company.analyst)
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert "You may look at this pair but not merge it" in page
    assert (
        client.post(f"/duplicates/{pair.pk}/merge/", {"keep": str(pair.left_id)}).status_code == 403
    )


@pytest.mark.parametrize(
    "values",
    [
        ["-score", 0.5, 2**70],
        ["-score", 10**400, 1],
        ["-score", float("nan"), 1],
        ["-score", 0.5, -(2**70)],
    ],
)
def test_a_doctored_queue_cursor_shows_the_first_page(client, company, twins, values):
    cursor = encode_cursor(values)
    client.force_login(company.rep)
    client.raise_request_exception = False
    response = client.get("/duplicates/", {"cursor": cursor})
    assert response.status_code == 200
    assert response.context["cursor_error"]
    assert list(response.context["pairs"]) == [twins[2]]


def test_the_customer_page_lists_open_pairs_whose_other_customer_is_in_sight(client, company):
    """On either side of the pair: the customer page names the other customer only when the
    user may see them, and only while the pair is open."""
    seen_before = CustomerFactory(name="Seen before", owner=company.teammate)
    hidden_before = CustomerFactory(name="Hidden before", owner=company.rep_west)
    centre = CustomerFactory(name="Centre", owner=company.rep)
    seen_after = CustomerFactory(name="Seen after", owner=company.teammate)
    hidden_after = CustomerFactory(name="Hidden after", owner=company.rep_west)
    rejected_after = CustomerFactory(name="Rejected after", owner=company.teammate)

    def pair(other, status=DuplicatePair.Status.OPEN):
        left, right = sorted([centre.pk, other.pk])
        return DuplicatePair.objects.create(
            left_id=left, right_id=right, score=0.9, source="scan", details={}, status=status
        )

    shown = {pair(seen_before), pair(seen_after)}
    pair(hidden_before)
    pair(hidden_after)
    pair(rejected_after, DuplicatePair.Status.REJECTED)

    client.force_login(company.rep)
    response = client.get(f"/customers/{centre.pk}/")
    assert set(response.context["possible_duplicates"]) == shown
    html = response.content.decode()
    assert "Seen before" in html and "Seen after" in html
    assert "Hidden" not in html and "Rejected after" not in html

    client.force_login(company.admin)
    assert len(client.get(f"/customers/{centre.pk}/").context["possible_duplicates"]) == 4
