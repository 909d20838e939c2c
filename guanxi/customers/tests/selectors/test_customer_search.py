"""Searching customers through ``customer_list_for_user``, on the real search index of the
database under test (FTS5 on SQLite, the GIN index on PostgreSQL)."""

import pytest
from django.db import connection, transaction
from django.db.models import Func, Value

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers import selectors
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list_for_user, organization_lookup_for_user
from guanxi.customers.services import customer_create, customer_delete, customer_update
from guanxi.customers.tests.search_world import CASES, NONSENSE, SEEN_MASKED, make_customers


def _found(user, query: str) -> set[str]:
    return set(customer_list_for_user(user, filters={"q": query}).values_list("name", flat=True))


@pytest.fixture
def world(company):
    return make_customers(company)


def test_every_case_finds_exactly_its_customers(company, world):
    wrong = {}
    for query, expected in CASES.items():
        found = _found(company.admin, query)
        if found != expected:
            wrong[query] = (found, expected)
    assert not wrong


def test_a_rep_finds_only_customers_they_may_see(company, world):
    visible = set(Customer.objects.visible_to(company.rep).values_list("name", flat=True))
    assert "王芳" not in visible and "张伟明" in visible  # the premise of this test
    assert not company.rep.may_view_sensitive()
    for query, expected in SEEN_MASKED.items():
        assert _found(company.rep, query) == expected & visible, query
    assert _found(company.rep, "王芳") == set()
    assert _found(company.rep, "5678") == {"张伟明"}
    assert _found(company.rep_b, "5678") == {"王芳"}


@pytest.mark.parametrize("query", NONSENSE)
def test_odd_input_is_never_an_error(company, world, query):
    found = _found(company.admin, query)
    assert found <= {*world, *(c.name for c in company.customers.values())}


def test_input_with_nothing_to_search_for_finds_no_one(company, world):
    for query in ("'", '"', "'\"*:&|!()", "*", "((", "--", "\U0001f600"):
        assert _found(company.admin, query) == set(), query


def test_search_combines_with_the_other_filters(company, world):
    filters = {"q": "zhangwei", "party_type": "person", "owner_id": company.teammate.pk}
    found = customer_list_for_user(company.admin, filters=filters)
    assert [c.name for c in found] == ["Zhang Wei"]
    assert [c.name for c in organization_lookup_for_user(company.admin, "pacific")] == [
        "Pacific Rim Trading Ltd."
    ]


def test_changes_are_searchable_at_once_and_old_text_is_forgotten(company, world):
    customer = Customer.objects.get(pk=world["陳美玲"])
    customer_update(
        actor=company.admin,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"name": "赵敏", "phones": ["13711112222"]},
    )
    assert _found(company.admin, "赵敏") == {"赵敏"}
    assert _found(company.admin, "zhaomin 2222") == {"赵敏"}
    assert _found(company.admin, "美玲") == set()
    customer_delete(actor=company.admin, customer_id=customer.pk)
    assert _found(company.admin, "赵敏") == set()


def test_rows_removed_from_the_table_leave_the_index(company, world):
    Customer.objects.filter(pk=world["Zhang Wei"]).delete()
    assert _found(company.admin, "vip") == set()
    made = Customer.objects.create(name="Zhang Wei", search_text="zhang wei zhangwei vip")
    assert _found(company.admin, "vip") == {"Zhang Wei"}
    assert _found(company.admin, "zhangwei") == {
        "张伟明",
        "Rep Customer 张伟",
        "Zhang Wei",
    }
    assert made.pk != world["Zhang Wei"]


def test_the_query_is_answered_from_the_search_index(company, world):
    queryset = customer_list_for_user(company.admin, filters={"q": "张伟 5678"}).order_by("-id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Too few rows here for the planner to want an index; forbid the alternatives to
            # see that it can use it, i.e. that the query's expression is the indexed one.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.explain()
    if connection.vendor == "postgresql":
        assert "Bitmap Index Scan on customer_search_tokens" in plan, plan
    else:
        assert "customers_customer_search VIRTUAL TABLE INDEX" in plan, plan


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("0755-2345-6789", "0755-2345"),
        ("0755-2345-6789", "(0755) 2345"),
        ("0755-2345-6789", "0755"),
        ("021-6234-5678", "021-6234"),
        ("021-6234-5678", "021 6234 5678"),
    ],
)
def test_a_landline_fragment_typed_with_its_area_code_finds_it(company, number, fragment):
    customer_create(actor=company.admin, data={"name": "Landline Ltd", "phones": [number]})
    customer_create(actor=company.admin, data={"name": "Mobile 755", "phones": ["13975523456"]})
    assert _found(company.admin, fragment) == {"Landline Ltd"}


@pytest.mark.parametrize(
    ("name", "pinyin"),
    [("曾伟", "zengwei"), ("曾伟", "cengwei"), ("单田芳", "shantianfang"), ("仇伟", "qiuwei")],
)
def test_pinyin_of_a_surname_finds_the_person(company, name, pinyin):
    customer_create(actor=company.admin, data={"name": name})
    customer_create(actor=company.admin, data={"name": name + "茶庄", "party_type": "organization"})
    # The organisation is found by the character's everyday reading only.
    expected = {name, name + "茶庄"} if pinyin == "cengwei" else {name}
    assert _found(company.admin, pinyin) == expected


@pytest.mark.parametrize("walk", ["in time", "too slow"])
def test_the_organisation_look_up_lists_the_first_by_name_either_way(
    company, world, monkeypatch, walk
):
    # A walk in name order that takes too long gives way to sorting what the search index
    # finds; with fewer matches than it reads, the answer is the same.
    if walk == "too slow":
        monkeypatch.setattr(selectors, "listed_within", lambda queryset, milliseconds: None)
    for name in ("Pacific Rim Shipping", "Pacific Rim Bank", "Pacific Rim Airways"):
        CustomerFactory(name=name, party_type=Customer.PartyType.ORGANIZATION, owner=company.rep)
    names = [c.name for c in organization_lookup_for_user(company.admin, "pacific rim", limit=3)]
    assert names == ["Pacific Rim Airways", "Pacific Rim Bank", "Pacific Rim Shipping"]
    west = {c.name for c in organization_lookup_for_user(company.rep_west, "pacific rim")}
    assert not west & {"Pacific Rim Airways", "Pacific Rim Bank", "Pacific Rim Shipping"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL time limit")
def test_a_read_that_takes_too_long_gives_up_and_the_time_limit_is_restored(db):
    CustomerFactory()
    slow = Customer.objects.annotate(pause=Func(Value(0.5), function="pg_sleep")).values(
        "pk", "pause"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '5s'")
        assert selectors.listed_within(slow, 50) is None
        assert selectors.listed_within(Customer.objects.values("pk")[:1], 1000) is not None
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            assert cursor.fetchone()[0] == "5s"


def test_a_long_company_name_is_found_whatever_legal_form_is_typed(company):
    # The legal form goes before the query's Han run is cut to the index's window: cut first,
    # 有限责任公司 of a long name became 有限责任 and stayed in the query.
    CustomerFactory(
        name="北京市海淀区某某科技发展有限公司", party_type=Customer.PartyType.ORGANIZATION
    )
    for query in ("北京市海淀区某某科技发展有限责任公司", "北京市海淀区某某科技发展股份有限公司"):
        assert _found(company.admin, query) == {"北京市海淀区某某科技发展有限公司"}, query


def test_the_organisation_named_as_typed_comes_first_when_the_index_is_read(company, monkeypatch):
    # The index gives some of the matches, in no order of ours: the one named exactly as typed
    # must not depend on being among them.
    monkeypatch.setattr(selectors, "listed_within", lambda queryset, milliseconds: None)
    monkeypatch.setattr(selectors, "LOOKUP_CANDIDATES", 1)
    for name in ("华瑞贸易", "华瑞科技", "华瑞物流", "华瑞"):
        CustomerFactory(name=name, party_type=Customer.PartyType.ORGANIZATION)
    found = [c.name for c in organization_lookup_for_user(company.admin, "华瑞", limit=3)]
    assert found[0] == "华瑞" and len(found) == 2


@pytest.mark.parametrize(
    ("data", "query"),
    [
        ({"emails": ["61501234@qq.com"]}, "6150"),  # a QQ address: its number's first four
        ({"emails": ["wei@6150.cn"]}, "6150"),  # a domain
        ({"external_id": "1234567"}, "1234"),
        ({"tags": ["2024年会"]}, "2024"),
        ({"company": "3511号店"}, "3511"),
    ],
)
def test_four_digits_find_every_token_they_start_not_only_phones(company, data, query):
    # Four digits are looked up as a whole token (customers.search.is_whole_token), which
    # each customer holds wherever a longer token of theirs starts with them.
    customer_create(actor=company.admin, data={"name": "Starts With Them", **data})
    customer_create(actor=company.admin, data={"name": "Only Inside", "emails": ["x61501234@a.cn"]})
    assert _found(company.admin, query) == {"Starts With Them"}
    assert _found(company.admin, query[:3]) >= {"Starts With Them"}
