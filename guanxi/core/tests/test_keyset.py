import datetime as dt

import pytest
from django.utils import timezone

from guanxi.core.keyset import CursorError, keyset_page
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db


def _walk(ordering: str, limit: int) -> list[int]:
    seen, cursor = [], None
    while True:
        page = keyset_page(Customer.objects.all(), ordering=ordering, cursor=cursor, limit=limit)
        seen += [c.pk for c in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("ordering", ["-id", "id", "name", "-name", "updated_at", "-updated_at"])
def test_walking_every_page_visits_each_row_once_in_order(ordering):
    # Ties on the sort field (same name, same timestamp) are where naive seeking loses rows.
    moment = timezone.now()
    for i in range(23):
        CustomerFactory(name=f"Name {i % 4}", updated_at=moment - dt.timedelta(minutes=i % 3))
    field = ordering.lstrip("-")
    expected = sorted(
        Customer.objects.all(),
        key=lambda c: (getattr(c, field), c.pk),
        reverse=ordering.startswith("-"),
    )
    assert _walk(ordering, limit=5) == [c.pk for c in expected]


def test_last_page_has_no_cursor():
    CustomerFactory.create_batch(3)
    page = keyset_page(Customer.objects.all(), limit=3)
    assert len(page.items) == 3
    assert page.next_cursor is None


@pytest.mark.parametrize("cursor", ["not-base64!", "W10", "WyJuYW1lIiwxLDJd"])
def test_foreign_or_malformed_cursors_are_refused(cursor):
    CustomerFactory.create_batch(2)
    with pytest.raises(CursorError):
        keyset_page(Customer.objects.all(), ordering="-id", cursor=cursor)


def test_cursor_from_another_ordering_is_refused():
    CustomerFactory.create_batch(3)
    cursor = keyset_page(Customer.objects.all(), ordering="name", limit=1).next_cursor
    with pytest.raises(CursorError):
        keyset_page(Customer.objects.all(), ordering="-updated_at", cursor=cursor)
