"""The customer page's history, its "older changes" page and the htmx fragment show the
history of the customers merged into the customer, each entry saying which customer it
happened on, in the reader's language, without naming customers the reader may not see."""

import re

import pytest

from guanxi.core.testing.factories import change_customer
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.interactions.services import interaction_log

pytestmark = pytest.mark.django_db

ENGLISH = "On “%s” (#%d), merged into this customer: "
CHINESE = "在已并入本客户的“%s”（#%d）上："


def _person(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, **data})


def _get(client, path, *, language="en", htmx=False):
    client.cookies["django_language"] = language
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _older_link(html) -> str:
    match = re.search(r'href="(/customers/\d+/history/\?cursor=[^"]+)"', html)
    assert match, "no 'Show older changes' link"
    return match.group(1).replace("&amp;", "&")


@pytest.fixture
def merged_pair(company):
    rep = company.rep
    survivor = _person(rep, "张伟")
    merged = _person(rep, "張偉")
    interaction_log(actor=rep, customer_id=merged.pk, data={"channel": "phone", "subject": "来电"})
    customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    return survivor, merged


@pytest.mark.parametrize(("language", "marker"), [("en", ENGLISH), ("zh-hans", CHINESE)])
def test_the_customer_page_marks_what_happened_on_the_merged_customer(
    client, company, merged_pair, language, marker
):
    survivor, merged = merged_pair
    client.force_login(company.rep)
    html = _get(client, f"/customers/{survivor.pk}/", language=language)
    headlines = re.findall(r"<strong>(.*?)</strong>", html)
    marked = [h for h in headlines if h.startswith(marker % (merged.name, merged.pk))]
    assert len(marked) == 2, headlines  # its creation and the contact logged on it
    assert any(company.rep.label in h for h in marked)
    # The survivor's own entries carry no mark.
    assert not [h for h in headlines if h.startswith(marker % (survivor.name, survivor.pk))]


@pytest.mark.parametrize(("language", "marker"), [("en", ENGLISH), ("zh-hans", CHINESE)])
@pytest.mark.parametrize("htmx", [False, True])
def test_older_changes_reach_into_the_merged_customers_past(
    client, company, language, marker, htmx
):
    rep = company.rep
    survivor, merged = _person(rep, "刘洋"), _person(rep, "刘洋 ")
    for i in range(15):
        change_customer(rep, merged, industry=f"M{i}")
    for i in range(15):
        change_customer(rep, survivor, industry=f"S{i}")
    customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    client.force_login(rep)
    mark = marker % (merged.name, merged.pk)

    # Newest first: the merge and the survivor's 15 changes, the merged customer's 15 changes
    # and its creation, the survivor's creation. 20 on the page, 13 older.
    first = _get(client, f"/customers/{survivor.pk}/", language=language)
    assert first.count(mark) == 4
    older = _get(client, _older_link(first), language=language, htmx=htmx)
    assert ("<html" in older) is not htmx
    assert older.count(mark) == 12
    assert older.count('class="history-item"') == 13
    assert "Show older changes" not in older and "显示更早的变更" not in older


def test_after_an_undo_the_page_shows_only_the_customers_own_history(client, company):
    rep = company.rep
    survivor, merged = _person(rep, "陈静"), _person(rep, "陈静 ")
    merge = customers_merge(actor=rep, survivor_id=survivor.pk, merged_id=merged.pk)
    customer_merge_undo(actor=rep, merge_id=merge.pk)
    client.force_login(rep)
    for customer in (survivor, merged):
        html = _get(client, f"/customers/{customer.pk}/history/")
        assert "merged into this customer:" not in html


def test_chained_merges_name_each_customer_an_entry_happened_on(client, company):
    rep = company.rep
    first, second, third = (_person(rep, name) for name in ("黄磊", "黄磊 ", "黄 磊"))
    customers_merge(actor=rep, survivor_id=second.pk, merged_id=first.pk)
    customers_merge(actor=rep, survivor_id=third.pk, merged_id=second.pk)
    client.force_login(rep)
    html = _get(client, f"/customers/{third.pk}/")
    for customer in (first, second):
        assert ENGLISH % (customer.name, customer.pk) in html


def test_the_page_does_not_name_customers_the_reader_may_not_see(client, company):
    """The merged customer was once merged into a customer of another department and the merge
    undone: its history names that customer, whom the survivor's rep may not see."""
    stranger = _person(company.admin, "西部客户甲", owner_id=company.rep_west.pk)
    merged = _person(company.rep, "马超")
    survivor = _person(company.rep, "马超 ")
    earlier = customers_merge(actor=company.admin, survivor_id=stranger.pk, merged_id=merged.pk)
    customer_merge_undo(actor=company.admin, merge_id=earlier.pk)
    customers_merge(actor=company.rep, survivor_id=survivor.pk, merged_id=merged.pk)

    client.force_login(company.rep)
    for language in ("en", "zh-hans"):
        html = _get(client, f"/customers/{survivor.pk}/", language=language)
        assert stranger.name not in html
        assert merged.name in html  # the merge entry and the marks name the merged customer
    client.force_login(company.admin)  # who sees everyone reads the whole story
    assert stranger.name in _get(client, f"/customers/{survivor.pk}/")
