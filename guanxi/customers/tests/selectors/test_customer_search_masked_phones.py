"""Searching by phone digits as someone who sees phone numbers masked (+86 138 **** 5678): the
hidden digits find no one, the last four, the visible start and the whole number in any usual
spelling do; whoever may view sensitive data finds by any four digits, as before."""

import csv
import io

import phonenumbers
import pytest
from django.db import connection

from guanxi.core import masking
from guanxi.core.masking import mask_phone
from guanxi.customers.exports import customers_export_csv
from guanxi.customers.models import Customer, Phone
from guanxi.customers.selectors import (
    customer_list_for_user,
    organisations_named,
    organization_lookup_for_user,
)
from guanxi.customers.services import customer_create

MOBILE = "+86 138 0012 5678"
WHOLE_MOBILE = [
    "+86 138 0012 5678",
    "+8613800125678",
    "8613800125678",
    "008613800125678",
    "13800125678",
    "138-0012-5678",
    "138 0012 5678",
    "(138) 0012-5678",
]
HIDDEN_MOBILE = [
    "0012",
    "8001",
    "0125",
    "138 0012",
    "0012 5678",
    "00125678",
    "3800125678",
    "0012-5678",
    "138.0012",
    "138-0012-567",
]
LANDLINE = "0755-2468-1357"  # +86 755 **** 1357
WHOLE_LANDLINE = [
    "0755-2468-1357",
    "(0755) 2468 1357",
    "+86 755 2468 1357",
    "075524681357",
    "755 2468 1357",
]
HIDDEN_LANDLINE = ["2468", "0755-2468", "(0755) 2468", "7552468"]


def _found(user, query: str) -> set[str]:
    return set(customer_list_for_user(user, filters={"q": query}).values_list("name", flat=True))


@pytest.fixture
def phones(company):
    def create(name: str, number: str, **data) -> Customer:
        return customer_create(
            actor=company.admin,
            data={"name": name, "phones": [number], "owner_id": company.rep.pk, **data},
        )

    create("Mobile Person", MOBILE)
    create("Landline Ltd", LANDLINE, party_type="organization")
    return create


def test_the_premise_who_sees_phones_masked(company):
    assert not company.rep.may_view_sensitive()
    assert company.manager.may_view_sensitive() and not company.manager.is_admin_role


@pytest.mark.parametrize("query", HIDDEN_MOBILE)
def test_a_rep_finds_no_one_by_a_mobiles_hidden_digits(company, phones, query):
    assert _found(company.rep, query) == set()
    assert _found(company.manager, query) == {"Mobile Person"}


@pytest.mark.parametrize("query", ["5678", "86138", "138", *WHOLE_MOBILE])
def test_a_rep_finds_a_mobile_by_its_last_four_its_start_and_the_whole_number(
    company, phones, query
):
    assert _found(company.rep, query) == {"Mobile Person"}
    assert _found(company.manager, query) == {"Mobile Person"}


@pytest.mark.parametrize("query", HIDDEN_LANDLINE)
def test_a_rep_finds_no_one_by_a_landlines_hidden_digits(company, phones, query):
    assert _found(company.rep, query) == set()
    assert _found(company.manager, query) == {"Landline Ltd"}


@pytest.mark.parametrize("query", ["1357", "0755", "755", *WHOLE_LANDLINE])
def test_a_rep_finds_a_landline_by_its_area_code_last_four_and_whole_number(company, phones, query):
    assert _found(company.rep, query) == {"Landline Ltd"}


def test_the_shown_start_of_a_national_number_finds_no_number_holding_it_further_on(
    company, phones
):
    # As the mask shows them: +86 150 **** 0000 starts with 150, not with 138, however many
    # times its hidden digits hold 138.
    phones("Hidden Digits", "+86 150 1380 0000")
    assert "Hidden Digits" not in _found(company.rep, "138")
    assert "Hidden Digits" in _found(company.manager, "138")
    assert _found(company.rep, "150") == {"Hidden Digits"}
    assert _found(company.rep, "15") == {"Hidden Digits"}
    assert _found(company.rep, "13") == {"Mobile Person"}


def test_the_last_four_of_a_short_number_are_hidden_and_so_not_searched(company, phones):
    phones("Hong Kong Person", "+852 9123 4567")
    assert mask_phone("+852 9123 4567") == "+852 91** **67"
    assert _found(company.rep, "4567") == set()
    assert _found(company.rep, "85291") == {"Hong Kong Person"}
    assert _found(company.rep, "+852 9123 4567") == {"Hong Kong Person"}
    assert _found(company.manager, "4567") == {"Hong Kong Person"}


@pytest.mark.parametrize(
    ("number", "shown", "hidden"),
    [("+852 9123 4567", "85291", "852912"), ("+49 30 1234567", "4930", "49301")],
)
def test_the_start_of_a_short_number_finds_it_only_as_far_as_the_mask_shows(
    company, phones, number, shown, hidden
):
    # A national number of fewer than ten digits shows its first two (+852 91** **67), not
    # three as a long one does.
    phones("Short", number)
    assert _found(company.rep, shown) == {"Short"}
    assert _found(company.rep, hidden) == set()
    assert _found(company.manager, hidden) == {"Short"}


@pytest.mark.parametrize(
    "number",
    [
        "+86 138 0012 5678",
        "+86 21 6234 9876",
        "+86 755 2468 1357",
        "+1 202-555-0123",
        "+44 20 7946 0018",
        "+852 9123 4567",
        "+7 912 345-67-89",
        "+49 30 1234567",
    ],
)
def test_no_four_digits_the_mask_hides_find_the_number(company, phones, number):
    customer = phones("Abroad", number)
    phone = Phone.objects.get(customer=customer)
    # The mask aligned with the stored number's digits: a digit or an asterisk each.
    shown = "".join(c for c in mask_phone(phone.display) if c.isdigit() or c == "*")
    digits = phone.number[1:]
    assert len(shown) == len(digits), (shown, digits)
    for start in range(len(digits) - 3):
        fragment = digits[start : start + 4]
        found = "Abroad" in _found(company.rep, fragment)
        if "*" in shown[start : start + 4]:
            assert not found, (fragment, shown)
        assert "Abroad" in _found(company.manager, fragment), fragment
    assert ("Abroad" in _found(company.rep, digits[-4:])) == ("*" not in shown[-4:])
    assert "Abroad" in _found(company.rep, phone.display)


def test_digits_that_are_not_in_a_phone_still_find_an_external_id_or_tag(company, phones):
    phones("Ordered", "+86 139 1111 2222", external_id="ERP-2024-0012", tags=["2023"])
    assert _found(company.rep, "0012") == {"Ordered"}  # the id's; Mobile Person's is hidden
    assert _found(company.rep, "20240012") == {"Ordered"}
    assert _found(company.rep, "2023") == {"Ordered"}
    assert _found(company.rep, "1111") == set()


def test_words_and_digits_together_keep_to_the_same_rule(company, phones):
    assert _found(company.rep, "Mobile 5678") == {"Mobile Person"}
    assert _found(company.rep, "Mobile 0012") == set()
    assert _found(company.manager, "Mobile 0012") == {"Mobile Person"}


def test_the_organisation_look_ups_keep_to_the_same_rule(company, phones):
    def looked_up(user, query):
        return [c.name for c in organization_lookup_for_user(user, query)]

    assert looked_up(company.rep, "2468") == []
    assert looked_up(company.rep, "1357") == ["Landline Ltd"]
    assert looked_up(company.rep, "0755-2468-1357") == ["Landline Ltd"]
    assert looked_up(company.manager, "2468") == ["Landline Ltd"]
    # An organisation named by digits is still found by its name.
    phones("2468", "+86 21 6234 9876", party_type="organization")
    assert [c.name for c in organisations_named(company.rep, "2468")] == ["2468"]
    assert looked_up(company.rep, "2468") == ["2468"]


def test_a_number_with_an_extension_shows_and_so_finds_by_the_extension_last(company, phones):
    customer = phones("Extension", "021-6234-9999 ext 12")
    assert Phone.objects.get(customer=customer).masked == "+86 21 6*** **99 ext. 12"
    assert _found(company.rep, "9999") == set()
    assert _found(company.manager, "9999") == {"Extension"}
    assert _found(company.rep, "021 6234 9999") == {"Extension"}


def test_an_export_searched_by_digits_keeps_to_the_same_rule(company, phones):
    def exported(user, query):
        content = customers_export_csv(actor=user, filters={"q": query})
        return [row["name"] for row in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))]

    assert exported(company.rep, "0012") == []
    assert exported(company.rep, "5678") == ["Mobile Person"]
    assert exported(company.manager, "0012") == ["Mobile Person"]


def test_a_reps_search_by_digits_is_still_answered_from_the_search_index(company, phones):
    # A team with many customers, and statistics that say so: with the handful of the fixture,
    # PostgreSQL may as well read the team's customers by owner and check each, and does
    # whenever the table was last analysed with few rows in it, which made this test's plan
    # depend on when autovacuum last ran.
    Customer.objects.bulk_create(
        Customer(name=f"Other {n}", owner=company.rep, search_text=f"other {n}") for n in range(500)
    )
    queryset = customer_list_for_user(company.rep, filters={"q": "5678"}).order_by("-id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE customers_customer")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.explain()
    if connection.vendor == "postgresql":
        assert "Bitmap Index Scan on customer_search_tokens" in plan, plan
    else:
        assert "customers_customer_search VIRTUAL TABLE INDEX" in plan, plan


def test_digits_shown_outside_the_phones_find_the_customer_whatever_its_hidden_digits(
    company, phones
):
    # A rep knows the tags, ids and email addresses they see, and may give their customer any.
    # Were the customer left out when a phone holds the digits too, searching for a tag 0012
    # would list it exactly when the hidden digits do not hold 0012.
    phones("Tag, hiding it", "+86 138 0012 9999", tags=["0012"])
    phones("Tag, not hiding it", "+86 139 1111 2222", tags=["0012"])
    phones("Email, hiding it", "+86 137 0012 8888", emails=["wang.0012@example.com"])
    phones("Id, hiding it", "+86 136 0012 7777", external_id="ERP0012")
    phones("展会0012", "+86 135 0012 6666")
    # A domain's words are tokens of their own from each on (0012.com of b-0012.com).
    phones("Domain, hiding it", "+86 134 0012 5555", emails=["wang@b-0012.com"])
    expected = {
        "Tag, hiding it",
        "Tag, not hiding it",
        "Email, hiding it",
        "Id, hiding it",
        "Domain, hiding it",
    }
    assert _found(company.rep, "0012") == expected | {"展会0012"}
    assert _found(company.rep, "0012 9999") == set()  # one number: 00129999, hidden


@pytest.mark.parametrize(
    ("shown", "query"),
    [
        ({"tags": ["x0012"]}, "0012"),  # a token x0012, not 0012
        ({"tags": ["a@b.0012"]}, "0012"),  # an address: b.0012, not 0012
        ({"emails": ["wang0012@example.com"]}, "0012"),
        ({"company": "Acme0012"}, "0012"),
        ({"external_id": "a1b2c3d4e5f6g7h8i0012"}, "0012"),  # past the id's tails
        ({"external_id": "a-b-c-d-e-f-g-h-i-0012-9999"}, "00129999"),  # the same
    ],
)
def test_digits_inside_a_word_outside_the_phones_do_not_tell_the_hidden_ones(
    company, phones, shown, query
):
    # The search index found the customer by the digits only through the hidden ones; that
    # they are also in the middle of a word the rep sees must not let it be listed.
    phones("Hiding", "+86 138 0012 9999", **shown)
    assert _found(company.rep, query) == set()
    assert "Hiding" in _found(company.manager, query)


@pytest.mark.parametrize(
    ("shown", "number", "query"),
    [
        ({"tags": ["0012x"]}, "+86 138 0012 9999", "000012"),  # 0012 once 00 is off
        ({"external_id": "86157-A"}, "+86 138 8615 7999", "0157"),  # 86157 as +86 157
        ({"emails": ["86157@example.com"]}, "+86 138 8615 7999", "0157"),
    ],
)
def test_digits_typed_with_a_dialling_prefix_are_not_told_by_another_field(
    company, phones, shown, number, query
):
    # Without the prefix they are looked for only as a phone holds them (by their runs), not
    # as the start of another field's token, so a field starting with them does not say why
    # the index found the customer: the hidden digits did. Listed for that field, the
    # customer would be listed exactly when the hidden digits hold them.
    phones("Hiding", number, **shown)
    assert _found(company.rep, query) == set()
    assert "Hiding" in _found(company.manager, query)


def test_a_long_national_number_is_told_by_the_country_code_it_starts_with():
    # The mask shows the first three and last four digits of a national number of ten digits
    # or more, the first two and last two of a shorter one, and the marks a masked search
    # finds a phone by must say the same, as the country code tells where the national number
    # starts: for every country code, a national number one digit short of that and one of
    # just that many; a start that is no country code shows none to search by.
    long_enough = masking.LONG_NATIONAL_NUMBER
    short, long = "5" * (long_enough - 1), "5" * long_enough
    for code in sorted(masking.COUNTRY_CODES):
        # each a country code as libphonenumber reads it off a number
        assert str(phonenumbers.parse(f"+{code}{long}").country_code) == code
        assert mask_phone(f"+{code} {long}") == f"+{code} 555***5555"
        assert masking.shown_digits(f"+{code}{long}", f"+{code} {long}") == masking.ShownDigits(
            last="5555", starts=(code, f"{code}5", f"{code}55", f"{code}555"), whole=code + long
        )
        assert mask_phone(f"+{code} {short}") == f"+{code} 55*****55"
        assert masking.shown_digits(f"+{code}{short}", f"+{code} {short}") == (
            masking.ShownDigits(last="", starts=(code, f"{code}5", f"{code}55"), whole=code + short)
        )
    unknown = masking.shown_digits(f"+999{long}", f"+999 {long}")
    assert unknown == masking.ShownDigits(last="5555", starts=(), whole="999" + long)
