"""A pair's score tells only who may see ID numbers in full whether two customers' ID numbers
agree. Anyone else is shown, and has their pairs sorted and filtered by, the score without the
ID numbers' evidence: otherwise a rep could type a guessed number on their own customer, wait
for the nightly scan, and read the answer off the score (100 % for two different names with one
number; lower for a number that disagrees). A pair likely only by its ID numbers is not theirs
to see at all."""

import importlib
import io
import math

import pytest
from django.apps import apps
from django.core.management import call_command

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.customers.services import customer_create
from guanxi.dedup.matching.engine import REVIEW_THRESHOLD
from guanxi.dedup.matching.model import score_without
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"


def _bits(score: float) -> float:
    return math.log2(score / (1 - score))


def _scan() -> None:
    call_command("dedup", "scan", stdout=io.StringIO())


def _html(client, user, path: str, status: int = 200) -> str:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == status
    return response.content.decode()


def _api_pairs(api, **params) -> list[dict]:
    response = api.get("/duplicates", params) if params else api.get("/duplicates")
    assert response.status_code == 200, response.content
    return response.json()["items"]


@pytest.fixture
def same_number(company):
    """The review's case: two customers of the rep, different names, one ID number."""
    first = customer_create(actor=company.rep, data={"name": "刘洋", "id_number": ID_NUMBER})
    second = customer_create(actor=company.rep, data={"name": "陈静", "id_number": ID_NUMBER})
    _scan()
    return DuplicatePair.objects.get(left_id=first.pk, right_id=second.pk)


def test_two_names_with_one_id_number_are_no_pair_to_a_rep(
    client,
    company,
    same_number,
    api_as,  # noqa: F811
):
    pair = same_number
    assert pair.score > 0.999  # 100 % to who may see ID numbers, though the names differ
    assert not company.rep.may_view_sensitive() and company.manager.may_view_sensitive()

    queue = _html(client, company.rep, "/duplicates/")
    assert f"/duplicates/{pair.pk}/" not in queue and "100%" not in queue
    _html(client, company.rep, f"/duplicates/{pair.pk}/", status=404)
    customer_page = _html(client, company.rep, f"/customers/{pair.left_id}/")
    assert f"/duplicates/{pair.pk}/" not in customer_page and "Compare (" not in customer_page
    assert _api_pairs(api_as("rep")) == []
    assert api_as("rep").post(f"/duplicates/{pair.pk}/reject").status_code == 404
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicatePair.Status.OPEN

    queue = _html(client, company.manager, "/duplicates/")
    assert f"/duplicates/{pair.pk}/" in queue and "100%" in queue
    assert "likelihood 100%" in _html(client, company.manager, f"/duplicates/{pair.pk}/")
    customer_page = _html(client, company.manager, f"/customers/{pair.left_id}/")
    assert "Compare (100%)" in customer_page
    [listed] = _api_pairs(api_as("manager"))
    assert listed["id"] == pair.pk and listed["score"] == pytest.approx(pair.score)


def test_a_disagreeing_id_number_does_not_lower_what_a_rep_sees(
    client,
    company,
    api_as,  # noqa: F811
):
    """Two pairs alike in everything but the ID numbers: one's disagree, the other has one
    number only. Who may see ID numbers sees the first less likely; a rep sees both alike."""

    def person(name, phone, id_number=""):
        data = {"name": name, "phones": [phone]}
        if id_number:
            data["id_number"] = id_number
        return customer_create(actor=company.rep, data=data)

    disagreeing = (
        person("赵磊", "13800000001", "110105198001010016"),
        person("赵磊", "13800000001", "110105198001010024"),
    )
    one_number = (
        person("孙丽", "13900000002", "110105198001010032"),
        person("孙丽", "13900000002"),
    )
    _scan()
    pairs = {
        kind: DuplicatePair.objects.get(left_id=a.pk, right_id=b.pk)
        for kind, (a, b) in {"disagreeing": disagreeing, "one number": one_number}.items()
    }
    assert pairs["disagreeing"].score < pairs["one number"].score

    # Compared as evidence (log-odds, in bits): on a database this small every pair found is
    # close to 100 %, and the difference shows in the last digits only.
    rep_scores = {item["id"]: item["score"] for item in _api_pairs(api_as("rep"))}
    assert _bits(rep_scores[pairs["disagreeing"].pk]) == pytest.approx(
        _bits(rep_scores[pairs["one number"].pk]), abs=0.01
    )
    assert rep_scores[pairs["disagreeing"].pk] >= REVIEW_THRESHOLD
    page = _html(client, company.rep, f"/duplicates/{pairs['disagreeing'].pk}/")
    assert "ID number" not in page.split('class="reasons"', 1)[1].split("</ul>", 1)[0]
    manager_scores = {item["id"]: item["score"] for item in _api_pairs(api_as("manager"))}
    assert (
        _bits(manager_scores[pairs["disagreeing"].pk])
        < _bits(manager_scores[pairs["one number"].pk]) - 1
    )


@pytest.fixture
def three_pairs(company):
    """By score: a, b, c; by score without the ID numbers: c, b, a."""
    customers = [customer_create(actor=company.rep, data={"name": f"客户{i}"}) for i in range(6)]
    evidence = {
        "a": (0.9999, [("name", "exact", 5.0), ("id_number", "same", 4.0)]),
        "b": (0.999, [("name", "exact", 5.0), ("phone", "shared", 5.0)]),
        "c": (0.99, [("name", "exact", 5.0), ("id_number", "different", -5.0)]),
    }
    pairs = {}
    for i, (key, (score, fields)) in enumerate(evidence.items()):
        pairs[key] = DuplicatePair.objects.create(
            left_id=customers[2 * i].pk,
            right_id=customers[2 * i + 1].pk,
            score=score,
            source=DuplicatePair.Source.SCAN,
            details={"fields": [{"field": f, "level": lv, "weight": w} for f, lv, w in fields]},
        )
    return pairs


def test_the_queue_is_in_the_order_of_the_score_each_is_shown(
    client,
    company,
    three_pairs,
    api_as,  # noqa: F811
):
    a, b, c = three_pairs["a"], three_pairs["b"], three_pairs["c"]
    assert b.score_without_id_number == b.score
    assert c.score_without_id_number > b.score > a.score_without_id_number >= REVIEW_THRESHOLD

    def order(html: str, pairs) -> list[str]:
        return sorted(pairs, key=lambda key: html.index(f"/duplicates/{pairs[key].pk}/"))

    assert order(_html(client, company.manager, "/duplicates/"), three_pairs) == ["a", "b", "c"]
    assert order(_html(client, company.rep, "/duplicates/"), three_pairs) == ["c", "b", "a"]

    by_id = {pair.pk: key for key, pair in three_pairs.items()}
    manager = [(by_id[i["id"]], i["score"]) for i in _api_pairs(api_as("manager"))]
    assert manager == [("a", 0.9999), ("b", 0.999), ("c", 0.99)]
    # A page at a time, the cursor carrying the score the rep is shown.
    rep, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        response = api_as("rep").get("/duplicates", params)
        assert response.status_code == 200, response.content
        rep += [(by_id[i["id"]], i["score"]) for i in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
    assert [key for key, _score in rep] == ["c", "b", "a"]
    assert [score for _key, score in rep] == pytest.approx(
        [c.score_without_id_number, 0.999, a.score_without_id_number]
    )
    assert "100%" in _html(client, company.rep, "/duplicates/")  # c: 0.9997
    assert f"likelihood {round(a.score_without_id_number * 100)}%" in _html(
        client, company.rep, f"/duplicates/{a.pk}/"
    )


def test_the_migration_computes_the_score_without_id_numbers_from_the_details(company):
    migration = importlib.import_module(
        "guanxi.dedup.migrations.0006_duplicatepair_score_without_id_number"
    )
    customers = [customer_create(actor=company.rep, data={"name": f"客户{i}"}) for i in range(8)]
    stored = {
        "same number": (0.99, [("name", "exact", 6.1), ("id_number", "same", 10.9)]),
        "only the number": (0.9999, [("name", "different", -3.1), ("id_number", "same", 10.9)]),
        "no number": (0.95, [("name", "exact", 6.1)]),
        "merged by hand": (1.0, None),
    }
    pks = {}
    for i, (key, (score, fields)) in enumerate(stored.items()):
        details = {"manual": True} if fields is None else {"fields": []}
        for field, level, weight in fields or ():
            details["fields"].append({"field": field, "level": level, "weight": weight})
        pks[key] = DuplicatePair.objects.create(
            left_id=customers[2 * i].pk,
            right_id=customers[2 * i + 1].pk,
            score=score,
            score_without_id_number=-1.0,  # as if the column were new
            source=DuplicatePair.Source.SCAN,
            details=details,
        ).pk

    migration.compute(apps, None)

    computed = dict(
        DuplicatePair.objects.values_list("pk", "score_without_id_number").filter(
            pk__in=pks.values()
        )
    )
    # 0.99 is log2(99) = 6.63 bits; without the 10.9 of the number, -4.27 bits: 5 %.
    assert computed[pks["same number"]] == pytest.approx(1 / (1 + 2 ** (10.9 - 6.6294)), 1e-4)
    assert computed[pks["same number"]] == pytest.approx(
        score_without(
            0.99, [{"field": "name", "weight": 6.1}, {"field": "id_number", "weight": 10.9}]
        )
    )
    assert computed[pks["only the number"]] == 0.0
    assert computed[pks["no number"]] == 0.95
    assert computed[pks["merged by hand"]] == 1.0
