"""GET /api/v1/customers?q= finds a person by their organisation's name only for whoever may see
the organisation, as the list does (``customers/tests/selectors/
test_customer_search_organisation_in_sight.py`` holds the cases)."""

import pytest

from guanxi.customers.tests.selectors.test_customer_search_organisation_in_sight import (
    ORGANISATION,
    westward,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("westward")
def test_the_api_search_follows_the_same_rule(api_as):
    def names(user: str) -> set[str]:
        answer = api_as(user).get("/customers", {"q": "Zephyrine"})
        assert answer.status_code == 200, answer.content
        return {item["name"] for item in answer.json()["items"]}

    assert names("rep") == set()
    assert names("admin") == {ORGANISATION, "李雷", "韩梅"}
