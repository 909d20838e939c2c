"""A stored audit row whose changes are no mapping of fields to their values before and after
(a list, a text, a number, or a field holding a value alone), which no service writes but a row
written by hand or before the services did may hold, is shown on the customer page and its
older-changes page as it is stored, instead of failing the page. The history API's test is
``guanxi/api/tests/test_customer_history_odd_changes_api.py``."""

import re

import pytest

from guanxi.api.tests.test_customer_history_odd_changes_api import _row

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)

ODD_CHANGES = [
    (["name", "phone"], [("changes", "", "name, phone")]),
    ("renamed by hand", [("changes", "", "renamed by hand")]),
    (7, [("changes", "", "7")]),
    ({"name": "Wang", "owner_id": None}, [("name", "", "Wang"), ("account manager", "", "—")]),
]


@pytest.mark.parametrize(("changes", "lines"), ODD_CHANGES)
@pytest.mark.parametrize("path", ["/customers/%d/", "/customers/%d/history/"])
def test_a_row_whose_changes_are_no_mapping_of_fields_is_shown_as_stored(
    client, company, changes, lines, path
):
    customer = company.rep_customer
    _row(company, changes)
    client.force_login(company.rep)
    response = client.get(path % customer.pk)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fixed by hand" in page
    assert [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)] == lines
