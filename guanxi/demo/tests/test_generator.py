"""The demo data generator on its own: no database, just the rows it produces."""

import datetime as dt
import itertools

import pytest
from django.core.validators import validate_email

from guanxi.core.phones import parse_phone
from guanxi.customers.models import Address, Customer, Email, MarketingConsent, Phone
from guanxi.customers.search import build_search_text, han_syllables
from guanxi.customers.validation import check_id_number
from guanxi.demo.generator import (
    BUSINESSES,
    CHINESE_BRANDS,
    CHINESE_COMPANY_FORMS,
    CHINESE_GIVEN_NAMES,
    CHINESE_SURNAMES,
    CITIES,
    COLUMNS,
    MOBILE_PREFIXES,
    TAGS,
    CustomerGenerator,
    IdNumberStorage,
    StaffIds,
    syllables_of,
)
from guanxi.interactions.models import Interaction

NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
STAFF = StaffIds(admin=1, reps=[2, 3, 4, 5], agents=[6, 7], managers=[8])
TAG_IDS = {name: i + 100 for i, name in enumerate(TAGS)}


def _generator(seed: int = 3) -> CustomerGenerator:
    return CustomerGenerator(
        total=3000,
        seed=seed,
        now=NOW,
        staff=STAFF,
        tag_ids=TAG_IDS,
        first_ids=dict.fromkeys(COLUMNS, 1),
        # Plaintext in all three slots, so the tests can read the generated number back.
        protect_id_number=lambda value: IdNumberStorage(value, value, value),
    )


def _as_dicts(rows: list[tuple], table: str) -> list[dict]:
    return [dict(zip(COLUMNS[table], row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def generated() -> dict[str, list[dict]]:
    chunk = _generator().chunk(3000)
    return {table: _as_dicts(rows, table) for table, rows in chunk.rows.items()}


def _by_customer(rows: list[dict]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row["customer_id"], []).append(row)
    return result


def test_search_text_is_what_build_search_text_makes(generated):
    customers = {c["id"]: c for c in generated["customer"]}
    phones = _by_customer(generated["phone"])
    emails = _by_customer(generated["email"])
    tags = _by_customer(generated["customer_tag"])
    tag_names = {v: k for k, v in TAG_IDS.items()}
    linked = 0
    for customer in customers.values():
        organisation = customers.get(customer["organization_id"])
        linked += organisation is not None
        expected = build_search_text(
            name=customer["name"],
            company=customer["company"],
            organisation=organisation["name"] if organisation else "",
            phones=[(p["number"], p["display"]) for p in phones.get(customer["id"], [])],
            emails=[e["address"] for e in emails.get(customer["id"], [])],
            tags=sorted(tag_names[t["tag_id"]] for t in tags.get(customer["id"], [])),
            external_id=customer["external_id"],
            person=customer["party_type"] == "person",
        )
        assert customer["search_text"] == expected, customer["name"]
    assert linked > 100  # people linked to organisations were covered


def test_composed_pinyin_matches_pinyin_of_whole_names():
    # Every surname with every given name, and every pair of adjacent organisation-name parts:
    # a reading that changed at a boundary would show up here.
    for surname, given in itertools.product(CHINESE_SURNAMES, CHINESE_GIVEN_NAMES):
        composed = syllables_of(surname) + syllables_of(given)
        assert han_syllables(surname + given) == composed, surname + given
        assert all(composed), surname + given  # every character has a reading
    businesses = [b[0] for b in BUSINESSES]
    pairs = itertools.chain(
        itertools.product([c.name for c in CITIES], CHINESE_BRANDS),
        itertools.product(CHINESE_BRANDS, businesses),
        itertools.product(businesses, CHINESE_COMPANY_FORMS),
    )
    for left, right in pairs:
        assert han_syllables(left + right) == syllables_of(left) + syllables_of(right), left + right


def test_phones_are_valid_and_stored_as_parse_phone_stores_them(generated):
    for phone in generated["phone"]:
        parsed = parse_phone(phone["display"])
        assert (parsed.e164, parsed.display) == (phone["number"], phone["display"])
        assert phone["label"] in Phone.Label.values
    # Every prefix and area code the generator can draw, not only the ones drawn above.
    generator = _generator()
    for prefix in MOBILE_PREFIXES:
        for suffix in ("00000000", "99999999", "12345678"):
            number = f"+86{prefix}{suffix}"
            assert parse_phone(number).display == (f"+86 {prefix} {suffix[:4]} {suffix[4:]}"), (
                number
            )
    for city in CITIES:
        for _ in range(20):
            e164, display, _label = generator._landline(city, "work")
            assert parse_phone(e164).display == display, display


def test_each_customer_has_one_primary_phone_and_email(generated):
    for rows in (generated["phone"], generated["email"]):
        for items in _by_customer(rows).values():
            assert [i["is_primary"] for i in items] == [True] + [False] * (len(items) - 1)
            assert len({i.get("number") or i.get("address") for i in items}) == len(items)


def test_values_are_valid_choices_and_addresses(generated):
    for customer in generated["customer"]:
        assert customer["kind"] in Customer.Kind.values
        assert customer["lifecycle_stage"] in Customer.LifecycleStage.values
        assert customer["relationship_level"] in Customer.RelationshipLevel.values
        assert customer["source_channel"] in [*Customer.SourceChannel.values, ""]
        assert customer["party_type"] in Customer.PartyType.values
        assert customer["owner_id"] in [None, *STAFF.reps, *STAFF.agents, *STAFF.managers]
    for email in generated["email"]:
        validate_email(email["address"])
        assert email["address"] == email["address"].lower()
        assert email["label"] in Email.Label.values
    provinces = {c.name: c.province for c in CITIES}
    for address in generated["address"]:
        assert provinces[address["city"]] == address["region"]
        assert address["label"] in Address.Label.values
    for consent in generated["consent"]:
        assert consent["channel"] in MarketingConsent.Channel.values
        assert consent["method"] in MarketingConsent.Method.values
    for interaction in generated["interaction"]:
        assert interaction["channel"] in Interaction.Channel.values
        assert interaction["direction"] in Interaction.Direction.values


def test_mix_of_people_organisations_owners_and_languages(generated):
    customers = generated["customer"]
    organisations = [c for c in customers if c["party_type"] == "organization"]
    people = [c for c in customers if c["party_type"] == "person"]
    assert 0.2 < len(organisations) / len(customers) < 0.4
    assert any("有限公司" in c["name"] for c in organisations)
    assert any("Ltd." in c["name"] for c in organisations)
    assert any(c["name"].isascii() for c in people)
    assert any(not c["name"].isascii() for c in people)
    unowned = sum(c["owner_id"] is None for c in customers)
    assert 0.03 < unowned / len(customers) < 0.15
    assert {c["owner_id"] for c in customers} >= set(STAFF.reps)
    assert len({c["region"] for c in customers}) >= 6
    assert len({c["industry"] for c in customers}) >= 10


def test_people_belong_only_to_organisations_made_before_them(generated):
    made = {}
    creation_times = [c["created_at"] for c in generated["customer"]]
    assert creation_times == sorted(creation_times)  # ids grow with time, as in real life
    for customer in generated["customer"]:
        if customer["organization_id"] is not None:
            organisation = made[customer["organization_id"]]
            assert organisation["party_type"] == "organization"
            assert customer["party_type"] == "person"
            assert customer["created_at"] >= organisation["created_at"]
        made[customer["id"]] = customer


def test_id_numbers_have_valid_check_digits_and_match_birth_dates(generated):
    with_id = [c for c in generated["customer"] if c["id_number_encrypted"]]
    assert with_id
    for customer in with_id:
        number = customer["id_number_encrypted"]  # plaintext here, see _generator
        assert len(number) == 18
        assert check_id_number(number) is None
        assert number[6:14] == customer["birth_date"].strftime("%Y%m%d")


def test_times_lie_in_the_past_three_years_and_last_contact_is_the_latest(generated):
    interactions = _by_customer(generated["interaction"])
    audit = {a["customer_id"]: a for a in generated["audit_event"]}
    average = len(generated["interaction"]) / len(generated["customer"])
    assert 2 <= average <= 4
    for customer in generated["customer"]:
        created = customer["created_at"]
        assert NOW - dt.timedelta(days=3 * 366) <= created <= NOW
        touches = interactions.get(customer["id"], [])
        for touch in touches:
            assert created <= touch["occurred_at"] <= touch["created_at"] <= NOW
            assert touch["staff_id"] in [customer["owner_id"], *STAFF.agents]
        expected_last = max((t["occurred_at"] for t in touches), default=None)
        assert customer["last_contacted_at"] == expected_last
        event = audit[customer["id"]]
        assert (event["action"], event["object_id"], event["via"]) == (
            "create",
            customer["id"],
            "cli",
        )
        assert event["actor_id"] == customer["created_by_id"]
        assert event["summary"] == customer["name"]


def test_same_seed_same_rows_other_seed_other_rows():
    first, second, other = _generator(5), _generator(5), _generator(6)
    for _ in range(3):  # chunk after chunk, not only the first
        rows = first.chunk(400).rows
        assert rows == second.chunk(400).rows
        assert rows["customer"] != other.chunk(400).rows["customer"]


def test_ids_are_consecutive_from_the_given_starts():
    generator = CustomerGenerator(
        total=200,
        seed=1,
        now=NOW,
        staff=STAFF,
        tag_ids=TAG_IDS,
        first_ids={table: 1000 * (i + 1) for i, table in enumerate(COLUMNS)},
        protect_id_number=lambda value: IdNumberStorage(value, value, value),
    )
    rows = generator.chunk(200).rows
    for i, table in enumerate(COLUMNS):
        ids = [row[0] for row in rows[table]]
        assert ids == list(range(1000 * (i + 1), 1000 * (i + 1) + len(ids)))
        assert generator.next_id[table] == 1000 * (i + 1) + len(ids)
