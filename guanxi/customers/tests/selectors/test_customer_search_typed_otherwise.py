"""Queries typed otherwise than the customer was saved, as people type them every day: without
the apostrophe of O'Brien, a piece of an email address, a hyphen for a space (or the other way
round), an id with other separators, Müller as mueller, pinyin with tone numbers. Run on the
real search index of the database under test, as the other selector tests."""

import pytest

from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create

CASES = {
    # apostrophes, straight or typographic, typed or left out
    "obrien": {"Sean O'Brien", "O’Brien Consulting", "Amy Obrien"},
    "o'brien": {"Sean O'Brien", "O’Brien Consulting", "Amy Obrien"},
    "o’brien": {"Sean O'Brien", "O’Brien Consulting", "Amy Obrien"},
    "sean obrien": {"Sean O'Brien"},
    "obrien consulting": {"O’Brien Consulting"},
    # a piece from the middle of an email's local part, the domain or a part of it
    "wei_88": {"李伟"},
    "wei_88@example.com": set(),  # an address is looked for from its start
    "li.wei_88": {"李伟"},
    "example": {"李伟"},
    "example.com": {"李伟"},
    "rim.com": {"Pacific Rim Trading"},
    "rim": {"Pacific Rim Trading", "Pacific-Rim Logistics", "Pacific Rim Foods"},
    "pacific-rim.com": {"Pacific Rim Trading"},
    "@pacific-rim.com": {"Pacific Rim Trading"},
    # a hyphen typed for a space, a space for a hyphen
    "Pacific-Rim": {"Pacific Rim Trading", "Pacific-Rim Logistics", "Pacific Rim Foods"},
    "Pacific Rim": {"Pacific Rim Trading", "Pacific-Rim Logistics", "Pacific Rim Foods"},
    "pacific-rim foods": {"Pacific Rim Foods"},
    "pacific-rim trading": {"Pacific Rim Trading"},
    "li-wei": {"李伟"},
    # external ids with other separators, or none
    "ERP 2024 0001": {"李伟"},
    "ERP20240001": {"李伟"},
    "ERP.2024.0001": {"李伟"},
    "erp 2024-0001": {"李伟"},
    "ERP-2024-0001": {"李伟"},
    "20240001": {"李伟"},
    "ERP 2024 0002": set(),
    "ERP 2025 0001": set(),
    # German and Nordic letters, typed as they are, spelled out, or plain
    "mueller": {"Jürgen Müller", "Anna Mueller"},
    "muller": {"Jürgen Müller"},
    "Müller": {"Jürgen Müller", "Anna Mueller"},
    "juergen mueller": {"Jürgen Müller"},
    "strasse": {"Straße GmbH"},
    "straße": {"Straße GmbH"},
    "soren": {"Søren Kierkegaard"},
    "soeren": {"Søren Kierkegaard"},
    "søren": {"Søren Kierkegaard"},
    "aasa": {"Åsa Larsson"},
    "asa": {"Åsa Larsson"},
    # pinyin with tone numbers
    "zhang1wei3": {"张伟明", "Rep Customer 张伟"},  # the latter of the company fixture
    "zhang1 wei3": {"张伟明", "Rep Customer 张伟"},
    "li3wei3": {"李伟"},
    "lv3fang1": {"吕芳"},
}


@pytest.fixture
def world(company):
    def create(**data):
        return customer_create(actor=company.admin, data=data)

    create(name="Sean O'Brien")
    create(name="O’Brien Consulting", party_type="organization")
    create(name="Amy Obrien")
    create(
        name="李伟", emails=["li.wei_88@example.com"], external_id="ERP-2024-0001", tags=["客户"]
    )
    create(name="Pacific Rim Trading", party_type="organization", emails=["sales@pacific-rim.com"])
    create(name="Pacific-Rim Logistics", party_type="organization")
    create(name="Pacific Rim Foods", party_type="organization")
    create(name="Jürgen Müller")
    create(name="Anna Mueller")
    create(name="Straße GmbH", party_type="organization")
    create(name="Søren Kierkegaard")
    create(name="Åsa Larsson")
    create(name="张伟明")
    create(name="吕芳")


@pytest.mark.parametrize(("query", "expected"), CASES.items())
def test_a_query_finds_its_customers_however_it_is_typed(company, world, query, expected):
    found = customer_list_for_user(company.admin, filters={"q": query})
    assert set(found.values_list("name", flat=True)) == expected
