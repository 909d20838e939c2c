"""A person the caller may see, in an organisation the caller may not: the API names neither the
organisation nor its number (``organization`` is null; ``company`` is the person's own text),
in the customer's answer, the list and search, the answer to a change, and the duplicate
check, queue and pair; whoever may see the organisation still gets it."""

import csv
import io

import pytest

from guanxi.customers.exports import customers_export_csv
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db

SECRET = "Zephyrine Holdings"
OWN_WORDS = "Plainview Trading"


@pytest.fixture
def hidden(company):
    organisation = customer_create(
        actor=company.rep_west, data={"name": SECRET, "party_type": "organization"}
    )
    people = [
        customer_create(
            actor=company.admin,
            data={
                "name": "李雷",
                "organization_id": organisation.pk,
                "owner_id": company.rep.pk,
                "company": OWN_WORDS,
                "phones": ["13912345678"],
            },
        )
        for _ in range(2)
    ]
    return organisation, people[0], people[1]


def test_the_customer_and_a_change_to_it_do_not_name_it(api_as, hidden):
    organisation, person, _other = hidden
    rep = api_as("rep")
    body = rep.get(f"/customers/{person.pk}").json()
    assert body["organization"] is None and body["company"] == OWN_WORDS
    assert SECRET not in str(body)
    changed = rep.patch(
        f"/customers/{person.pk}", {"job_title": "采购经理"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["organization"] is None and SECRET not in changed.content.decode()
    admin = api_as("admin")
    body = admin.get(f"/customers/{person.pk}").json()
    assert body["organization"] == {"id": organisation.pk, "name": SECRET}
    changed = admin.patch(
        f"/customers/{person.pk}", {"job_title": "经理"}, headers={"If-Match": '"2"'}
    )
    assert changed.json()["organization"] == {"id": organisation.pk, "name": SECRET}


def test_the_list_and_the_search_do_not_name_it(api_as, hidden):
    organisation, person, _other = hidden
    for params in ({}, {"q": "李雷"}):
        items = {c["id"]: c for c in api_as("rep").get("/customers", params).json()["items"]}
        assert items[person.pk]["organization"] is None
        assert items[person.pk]["company"] == OWN_WORDS
        items = {c["id"]: c for c in api_as("admin").get("/customers", params).json()["items"]}
        assert items[person.pk]["organization"] == {"id": organisation.pk, "name": SECRET}


def test_duplicates_give_the_persons_own_company(api_as, hidden):
    _organisation, person, other = hidden
    rep = api_as("rep")
    found = rep.post("/customers/duplicates", {"name": "李雷", "phones": ["13912345678"]})
    assert found.status_code == 200, found.content
    assert {c["customer"]["id"] for c in found.json()} == {person.pk, other.pk}
    assert {c["customer"]["company"] for c in found.json()} == {OWN_WORDS}
    DuplicatePair.objects.create(
        left_id=person.pk, right_id=other.pk, score=0.9, source="scan", status="open"
    )
    page = rep.get("/duplicates").json()["items"]
    assert [(p["left"]["company"], p["right"]["company"]) for p in page] == [(OWN_WORDS,) * 2]
    page = api_as("admin").get("/duplicates").json()["items"]
    assert [(p["left"]["company"], p["right"]["company"]) for p in page] == [(SECRET,) * 2]


def test_the_list_filtered_by_the_organisation_gives_none_of_its_people(api_as, company, hidden):
    # Its people listed would tell the caller which of those they see are in it, and its number.
    organisation, person, other = hidden
    url = f"/customers?organization_id={organisation.pk}"
    assert api_as("rep").get(url).json() == {"items": [], "next_cursor": None}
    exported = customers_export_csv(actor=company.rep, filters={"organization_id": organisation.pk})
    assert list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig")))) == []
    items = api_as("admin").get(url).json()["items"]
    assert {c["id"] for c in items} == {person.pk, other.pk}


def test_naming_it_in_a_change_is_refused_as_any_organisation_out_of_sight(api_as, company, hidden):
    # Accepted for the person's own organisation alone, the change would tell its number.
    organisation, person, _other = hidden
    elsewhere = customer_create(
        actor=company.rep_west, data={"name": "Quillfeather Ltd", "party_type": "organization"}
    )
    rep = api_as("rep")
    answers = [
        rep.patch(f"/customers/{person.pk}", {"organization_id": pk}, headers={"If-Match": '"1"'})
        for pk in (organisation.pk, elsewhere.pk)
    ]
    assert [a.status_code for a in answers] == [422, 422], answers[0].content
    assert answers[0].json() == answers[1].json()
    person.refresh_from_db()
    assert (person.organization_id, person.version) == (organisation.pk, 1)
    # Left out, it stays; whoever may see it may name it.
    kept = rep.patch(f"/customers/{person.pk}", {"job_title": "采购"}, headers={"If-Match": '"1"'})
    assert kept.status_code == 200, kept.content
    named = api_as("admin").patch(
        f"/customers/{person.pk}", {"organization_id": organisation.pk}, headers={"If-Match": '"2"'}
    )
    assert named.status_code == 200, named.content
    person.refresh_from_db()
    assert person.organization_id == organisation.pk


def test_a_person_made_an_organisation_with_a_null_organisation_leaves_it(api_as, hidden):
    # Left out, the organisation would stay, which no organisation may have: refused. Sent as
    # null, the person leaves it as they change, in one change.
    organisation, person, _other = hidden
    rep = api_as("rep")
    refused = rep.patch(
        f"/customers/{person.pk}", {"party_type": "organization"}, headers={"If-Match": '"1"'}
    )
    assert refused.status_code == 422 and "party_type" in refused.content.decode()
    person.refresh_from_db()
    assert (person.party_type, person.organization_id) == ("person", organisation.pk)
    changed = rep.patch(
        f"/customers/{person.pk}",
        {"party_type": "organization", "organization_id": None},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["organization"] is None
    person.refresh_from_db()
    assert (person.party_type, person.organization_id) == ("organization", None)
