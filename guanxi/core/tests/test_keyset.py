import datetime as dt

import pytest
from django.utils import timezone

from guanxi.core.keyset import CursorError, keyset_page
from guanxi.core.testing.cursors import encode_cursor
from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Customer
from guanxi.dedup.models import DuplicatePair

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


@pytest.mark.parametrize(
    ("ordering", "values"),
    [
        # Dates that do not exist, and offsets beyond ±24 hours: parse_datetime raises.
        ("-updated_at", ["-updated_at", "2024-02-30T00:00:00+00:00", 1]),
        ("-updated_at", ["-updated_at", "2024-01-01T25:00:00+00:00", 1]),
        ("-updated_at", ["-updated_at", "2024-01-01T00:00:00+25:00", 1]),
        # Valid as written, but in the year 0 or 10000 in UTC.
        ("-updated_at", ["-updated_at", "0001-01-01T00:00:00+14:00", 1]),
        ("-updated_at", ["-updated_at", "9999-12-31T23:59:59-12:00", 1]),
        # Cursors are written from aware timestamps.
        ("-updated_at", ["-updated_at", "2024-01-01T00:00:00", 1]),
        # Text no column can hold.
        ("name", ["name", "a\x00b", 1]),
        ("name", ["name", "\ud800", 1]),
        # Ids outside 1 … 2**63 - 1.
        ("name", ["name", "A", 2**70]),
        ("name", ["name", "A", -(2**70)]),
        ("-id", ["-id", None, 0]),
    ],
)
def test_cursor_values_the_database_would_fail_on_are_refused(ordering, values):
    with pytest.raises(CursorError):
        keyset_page(Customer.objects.all(), ordering=ordering, cursor=encode_cursor(values))


@pytest.mark.parametrize("score", [10**400, float("nan"), float("inf"), True, "0.5"])
def test_numeric_cursor_values_must_be_finite_numbers(score):
    with pytest.raises(CursorError):
        keyset_page(
            DuplicatePair.objects.all(),
            ordering="-score",
            cursor=encode_cursor(["-score", score, 1]),
            orderings={"-score": "score"},
        )
