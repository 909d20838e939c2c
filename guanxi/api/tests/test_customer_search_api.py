"""GET /api/v1/customers?q=: the search box of the API, over the same cases as the selector."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.customers.tests.search_world import CASES, NONSENSE, SEEN_MASKED, make_customers


@pytest.fixture
def world(company):
    return make_customers(company)


def _names(client, query: str) -> set[str]:
    names: set[str] = set()
    params = {"q": query, "limit": 100}
    while True:
        response = client.get("/customers", params)
        assert response.status_code == 200, (query, response.content)
        page = response.json()
        names |= {item["name"] for item in page["items"]}
        if page["next_cursor"] is None:
            return names
        params["cursor"] = page["next_cursor"]


def test_every_case_as_the_administrator(api_as, world):
    admin = api_as("admin")
    wrong = {}
    for query, expected in CASES.items():
        found = _names(admin, query)
        if found != expected:
            wrong[query] = (found, expected)
    assert not wrong


def test_every_case_as_a_rep_stays_within_what_they_see(api_as, company, world):
    rep = api_as("rep")
    visible = set(Customer.objects.visible_to(company.rep).values_list("name", flat=True))
    for query, expected in SEEN_MASKED.items():
        assert _names(rep, query) == expected & visible, query
    assert _names(rep, "王芳") == set()
    assert _names(api_as("admin"), "王芳") == {"王芳"}


def test_odd_input_is_never_a_server_error(api_as, world):
    rep = api_as("rep")
    for query in NONSENSE:
        response = rep.get("/customers", {"q": query})
        assert response.status_code == 200, (query, response.content)


def test_search_pages_by_cursor(api_as, company, world):
    admin = api_as("admin")
    first = admin.get("/customers", {"q": "customer", "limit": 4}).json()
    second = admin.get(
        "/customers", {"q": "customer", "limit": 4, "cursor": first["next_cursor"]}
    ).json()
    names = [c["name"] for c in first["items"] + second["items"]]
    assert len(names) == 6 == len(set(names))
    assert second["next_cursor"] is None


def test_queries_typed_otherwise_than_saved_find_the_customer(api_as, company):
    # The API's search is the selector's, so one customer stands for the cases of
    # customers/tests/selectors/test_customer_search_typed_otherwise.py.
    data = {
        "name": "Jürgen O'Brien-Müller",
        "emails": ["j.obrien_88@mail.pacific-rim.com"],
        "external_id": "ERP-2024-0001",
    }
    customer_create(actor=company.admin, data=data)
    admin = api_as("admin")
    for query in ("obrien", "mueller", "obrien_88", "rim.com", "ERP 2024 0001", "O'Brien Müller"):
        assert _names(admin, query) == {"Jürgen O'Brien-Müller"}, query
