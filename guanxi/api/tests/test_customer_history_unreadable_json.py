"""An audit row whose stored JSON Python cannot read — an integer of more digits than Python
converts, nesting deeper than its recursion limit — which PostgreSQL and SQLite both keep and a
row written by hand may hold, is shown with its summary as written on the customer page, its
history page, the history API and the admin site's audit list, in either language, instead of
failing every page that lists it."""

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import signed_in_administrators

pytestmark = pytest.mark.django_db

HUGE_NUMBER = "9" * 5000
# Deeper than Python's recursion limit, within SQLite's limit of 2,000.
DEEP = "[" * 1500 + "]" * 1500


def _row_written_by_hand(customer, *, summary_params: str, changes: str = "{}") -> None:
    # Raw SQL: the ORM would not write what Python's json module cannot.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (occurred_at, action, object_type, object_id, "
            "customer_id, "
            "summary, summary_message, summary_params, changes, via) "
            "VALUES (%s, 'update', 'customer', %s, %s, 'Fixed by hand', %s, %s, %s, '')",
            [
                timezone.now(),
                customer.pk,
                customer.pk,
                "%(a)s",
                summary_params,
                changes,
            ],
        )


@pytest.mark.parametrize(
    ("summary_params", "changes"),
    [
        ('{"a": ' + HUGE_NUMBER + "}", "{}"),
        ('{"a": ' + DEEP + "}", "{}"),
        ("{}", '{"name": {"before": ' + HUGE_NUMBER + ', "after": "Wang"}}'),
    ],
    ids=["huge number", "deep nesting", "huge number in the changes"],
)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_row_python_cannot_read_is_shown_as_written(
    client, api_as, company, summary_params, changes, language
):
    customer = company.rep_customer
    _row_written_by_hand(customer, summary_params=summary_params, changes=changes)
    client.force_login(company.rep)
    client.cookies["django_language"] = language
    for url in (f"/customers/{customer.pk}/", f"/customers/{customer.pk}/history/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Fixed by hand" in response.content.decode()
    response = api_as("rep").get(
        f"/customers/{customer.pk}/history", headers={"Accept-Language": language}
    )
    assert response.status_code == 200
    assert "Fixed by hand" in [item["summary"] for item in response.json()["items"]]
    (admin,) = signed_in_administrators("ann")
    admin.cookies["django_language"] = language
    response = admin.get("/admin/audit/auditevent/")
    assert response.status_code == 200
    assert "Fixed by hand" in response.content.decode()
    event = AuditEvent.objects.get(summary="Fixed by hand")
    assert admin.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
