"""Where a change in a customer's history names another customer (the other customer of a merge,
of its undo or of a rejected duplicate, a person's organisation), the customer page and its
"older changes" page name it with its number and a link to its page for a reader who may see
it, and say "another customer, which you cannot open" to one who may not, never its bare id.
Who may see it is decided as the history API decides whether to give its id."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.core.testing.factories import change_customer
from guanxi.customers.history import EXTRA_LABELS
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.dedup.services import customer_merge_undo, customers_merge, duplicate_pair_reject

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "zh-hans"]
UNSEEN = {"en": "another customer, which you cannot open", "zh-hans": "另一位您无法打开的客户"}

# The customer page itself, and the "older changes" page whole and as htmx's fragment.
PAGES = [
    ("/customers/%d/", False),
    ("/customers/%d/history/", False),
    ("/customers/%d/history/", True),
]

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)


def _label(key: str, language: str) -> str:
    """The history's label of the change ``key`` in ``language``."""
    with translation.override(language):
        if key in EXTRA_LABELS:
            return str(EXTRA_LABELS[key])
        return str(Customer._meta.get_field(key.removesuffix("_id")).verbose_name)


def _changes(client, customer, key, *, language, page) -> list[tuple[str, str]]:
    """(before, after) of each change of ``key`` in the history of ``customer`` on ``page``,
    newest first, links as the page writes them."""
    path, htmx = page
    client.cookies["django_language"] = language
    response = client.get(path % customer.pk, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 200, response.status_code
    label = _label(key, language)
    rows = list(ROW.finditer(response.content.decode()))
    return [(row["before"], row["after"]) for row in rows if row["label"] == label]


def _named(customer) -> str:
    return f'<a href="/customers/{customer.pk}/">{customer.name} (#{customer.pk})</a>'


def _person(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, **data})


def _organisation(actor, name, **data):
    return customer_create(actor=actor, data={"name": name, "party_type": "organization", **data})


def _reject(actor, first, second) -> None:
    low, high = sorted((first.pk, second.pk))
    pair = DuplicatePair.objects.create(left_id=low, right_id=high, score=0.9, source="scan")
    duplicate_pair_reject(actor=actor, pair_id=pair.pk)


@pytest.fixture
def undone_merge(company):
    """The administrator merged a West customer into one of the rep's, and took it back out:
    the rep may not see the West customer, nor West's manager the rep's."""
    survivor = _person(company.rep, "赵云")
    stranger = _person(company.admin, "西部客户乙", owner_id=company.rep_west.pk)
    merge = customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=stranger.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    return survivor, stranger


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_undone_merge_names_the_other_customer_to_who_may_see_it(
    client, company, undone_merge, page, language
):
    survivor, stranger = undone_merge
    client.force_login(company.admin)
    # Newest first: the undo took the other customer away, the merge brought it.
    assert _changes(client, survivor, "merged_from", language=language, page=page) == [
        (_named(stranger), "—"),
        ("—", _named(stranger)),
    ]
    assert _changes(client, stranger, "merged_into", language=language, page=page) == [
        (_named(survivor), "—"),
        ("—", _named(survivor)),
    ]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_undone_merge_does_not_give_the_other_customer_to_who_may_not_see_it(
    client, company, undone_merge, page, language
):
    survivor, stranger = undone_merge
    unseen = UNSEEN[language]
    client.force_login(company.rep)
    assert _changes(client, survivor, "merged_from", language=language, page=page) == [
        (unseen, "—"),
        ("—", unseen),
    ]
    client.force_login(company.manager_west)
    assert _changes(client, stranger, "merged_into", language=language, page=page) == [
        (unseen, "—"),
        ("—", unseen),
    ]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_merge_names_the_customer_merged_into_this_one_without_a_link(
    client, company, page, language
):
    # Merged by the administrator into the rep's customer: a West customer the rep could never
    # open, deleted now, but part of this customer's history, whose rows name it (as the API
    # gives its id); its page is no longer there to link to.
    survivor = _person(company.rep, "张伟")
    merged = _person(company.admin, "張偉", owner_id=company.rep_west.pk)
    customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk)
    client.force_login(company.rep)
    assert _changes(client, survivor, "merged_from", language=language, page=page) == [
        ("—", f"{merged.name} (#{merged.pk})")
    ]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_persons_organisation_is_named_or_withheld_as_the_reader_may_see_it(
    client, company, page, language
):
    # The administrator moves a person of the rep's from the rep's organisation to West's.
    ours = _organisation(company.rep, "华瑞科技")
    theirs = _organisation(company.admin, "上海华瑞科技有限公司", owner_id=company.rep_west.pk)
    person = _person(company.rep, "李娜", organization_id=ours.pk)
    change_customer(company.admin, person, organization_id=theirs.pk)

    client.force_login(company.admin)
    assert _changes(client, person, "organization_id", language=language, page=page) == [
        (_named(ours), _named(theirs)),  # the move
        ("—", _named(ours)),  # the creation
    ]
    client.force_login(company.rep)
    assert _changes(client, person, "organization_id", language=language, page=page) == [
        (_named(ours), UNSEEN[language]),
        ("—", _named(ours)),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_organisation_merged_away_is_withheld_from_everyone(client, company, language):
    # The rep's organisation is merged into West's: the person's row says it moved from one
    # nobody may open any longer (deleted) to one only the administrator may.
    ours = _organisation(company.rep, "华瑞科技")
    theirs = _organisation(company.admin, "上海华瑞科技有限公司", owner_id=company.rep_west.pk)
    person = _person(company.rep, "李娜", organization_id=ours.pk)
    customers_merge(actor=company.admin, survivor_id=theirs.pk, merged_id=ours.pk)
    unseen = UNSEEN[language]
    for user, moved in ((company.admin, (unseen, _named(theirs))), (company.rep, (unseen, unseen))):
        client.force_login(user)
        for page in PAGES:
            assert _changes(client, person, "organization_id", language=language, page=page) == [
                moved,
                ("—", unseen),
            ]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rejected_duplicate_is_named_or_withheld_as_the_reader_may_see_it(
    client, company, page, language
):
    first, west = company.rep_customer, company.west_customer
    _reject(company.admin, first, west)
    client.force_login(company.admin)
    assert _changes(client, first, "not_duplicate_of", language=language, page=page) == [
        ("—", _named(west))
    ]
    client.force_login(company.rep)
    assert _changes(client, first, "not_duplicate_of", language=language, page=page) == [
        ("—", UNSEEN[language])
    ]


@pytest.mark.parametrize("page", PAGES)
def test_no_cell_gives_away_a_customer_the_reader_may_not_see(client, company, page):
    # Every key at once, on one customer: whatever the line, neither the name, the number nor
    # the page of a customer out of the reader's sight.
    ours = _organisation(company.rep, "华瑞科技")
    theirs = _organisation(company.admin, "上海华瑞科技有限公司", owner_id=company.rep_west.pk)
    person = _person(company.rep, "李娜", organization_id=ours.pk)
    stranger = _person(company.admin, "西部客户乙", owner_id=company.rep_west.pk)
    merge = customers_merge(actor=company.admin, survivor_id=person.pk, merged_id=stranger.pk)
    customer_merge_undo(actor=company.admin, merge_id=merge.pk)
    change_customer(company.admin, person, organization_id=theirs.pk)
    _reject(company.admin, person, company.west_customer)

    client.force_login(company.rep)
    path, htmx = page
    response = client.get(path % person.pk, headers={"HX-Request": "true"} if htmx else {})
    cells = [cell for row in ROW.finditer(response.content.decode()) for cell in row.groups()]
    assert cells.count(UNSEEN["en"]) == 4  # merged from twice, organisation, not a duplicate
    for customer in (theirs, stranger, company.west_customer):
        for cell in cells:
            assert customer.name not in cell, cells
            assert f"/customers/{customer.pk}/" not in cell, cells
            assert str(customer.pk) not in re.findall(r"\d+", cell), cells


def test_the_other_customers_of_a_page_are_read_in_one_query(client, company):
    # However many customers the rows of a page name, the page reads them together: a page
    # naming seven as many as one naming two, of the same keys.
    def customer_queries(customer) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/customers/{customer.pk}/history/").status_code == 200
        return sum('FROM "customers_customer"' in q["sql"] for q in queries.captured_queries)

    client.force_login(company.admin)
    one, many = _person(company.rep, "一"), _person(company.rep, "多")
    _reject(company.admin, one, company.west_customer)
    change_customer(company.admin, one, organization_id=_organisation(company.rep, "组织").pk)
    for other in (company.west_customer, company.teammate_customer, company.rep_b_customer):
        _reject(company.admin, many, other)
    for i in range(4):
        change_customer(
            company.admin, many, organization_id=_organisation(company.rep, f"组织{i}").pk
        )
    assert customer_queries(many) == customer_queries(one)
