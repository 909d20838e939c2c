"""The duplicate check while a customer is typed, for a person the user may see whose
organisation they may not: the person is compared as their page shows them, with their own
company text, so typing the organisation's name finds, scores and explains exactly what typing
any other company would. Otherwise a hint appearing (or scoring higher, "same employer") for
one company typed would confirm the hidden organisation's name."""

import pytest

from guanxi.customers.services import customer_create
from guanxi.dedup.drafts import draft_record
from guanxi.dedup.selectors import likely_duplicates

pytestmark = pytest.mark.django_db

SECRET = "Zephyrine Holdings"
OWN_WORDS = "Plainview Trading"


@pytest.fixture
def person(company):
    organisation = customer_create(
        actor=company.rep_west, data={"name": SECRET, "party_type": "organization"}
    )
    return customer_create(
        actor=company.admin,
        data={
            "name": "李雷",
            "organization_id": organisation.pk,
            "owner_id": company.rep.pk,
            "company": OWN_WORDS,
            "phones": ["13912345678"],
        },
    )


def _found(user, **draft):
    record = draft_record({"name": "李雷", **draft}, actor=user)
    return [
        (d.customer_id, round(d.score, 6), d.explanation)
        for d in likely_duplicates(record, visible_to=user, threshold=0.0)
    ]


def test_typing_the_hidden_organisations_name_finds_what_any_company_finds(company, person):
    rep = company.rep
    assert _found(rep, company=SECRET) == _found(rep, company="Unrelated Company")
    assert _found(rep, company=SECRET, phones=["13912345678"]) == _found(
        rep, company="Unrelated Company", phones=["13912345678"]
    )


def test_whoever_sees_the_organisation_is_matched_by_its_name(company, person):
    admin = company.admin
    [(found_id, _score, _why)] = _found(admin, company=SECRET)
    assert found_id == person.pk
    assert _found(admin, company="Unrelated Company") == []
