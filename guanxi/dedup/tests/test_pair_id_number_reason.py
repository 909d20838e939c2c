"""How two customers' ID numbers compare is told only to who may see ID numbers in full. Anyone
else sees them masked beside the birth date and an address: "same ID number" on a pair would
confirm a number they guessed and gave one of the two, and so would any other wording of it, so
the comparison is left out of the reasons on the queue, the pair's page and the API (and of the
score they are shown: see test_pair_score_without_id_number)."""

import pytest

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.customers.services import customer_create
from guanxi.dedup.matching.model import score_without
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
FIELDS = [
    {"field": "name", "level": "exact", "weight": 6.1},
    {"field": "id_number", "level": "same", "weight": 10.9},
]
# Likely enough without the ID numbers (98 %) for the rep to see the pair.
SCORE = 0.99999


@pytest.fixture
def pair(company):
    first = customer_create(actor=company.rep, data={"name": "刘洋", "id_number": ID_NUMBER})
    second = customer_create(actor=company.rep, data={"name": "刘洋", "id_number": ID_NUMBER})
    return DuplicatePair.objects.create(
        left_id=first.pk, right_id=second.pk, score=SCORE, source="scan", details={"fields": FIELDS}
    )


def _page(client, user, path: str) -> str:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("path", ["/duplicates/", "/duplicates/{pk}/"])
def test_the_pages_leave_the_id_number_out_for_who_may_not_see_it(client, company, pair, path):
    assert not company.rep.may_view_sensitive()
    html = _page(client, company.rep, path.format(pk=pair.pk))
    assert "same name" in html
    assert "ID number" not in html.split('class="reasons"', 1)[1].split("</ul>", 1)[0]
    assert "same ID number" not in html


@pytest.mark.parametrize("path", ["/duplicates/", "/duplicates/{pk}/"])
def test_the_pages_tell_who_may_see_id_numbers(client, company, pair, path):
    assert company.manager.may_view_sensitive()
    html = _page(client, company.manager, path.format(pk=pair.pk))
    assert "same name" in html and "same ID number" in html


def _api_pairs(api) -> list[dict]:
    response = api.get("/duplicates")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_the_api_leaves_the_id_number_out_for_who_may_not_see_it(
    api_as,  # noqa: F811
    pair,
):
    [listed] = _api_pairs(api_as("rep"))
    assert listed["score"] == pytest.approx(score_without(SCORE, FIELDS))
    assert [r["field"] for r in listed["reasons"]] == ["name"]
    rejected = api_as("rep").post(f"/duplicates/{pair.pk}/reject")
    assert rejected.status_code == 200, rejected.content
    assert [r["field"] for r in rejected.json()["reasons"]] == ["name"]


def test_the_api_tells_who_may_see_id_numbers(
    api_as,  # noqa: F811
    pair,
):
    [listed] = _api_pairs(api_as("manager"))
    assert listed["reasons"] == FIELDS
    assert listed["score"] == pytest.approx(SCORE)
