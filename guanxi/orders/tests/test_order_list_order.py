"""The order list (page and API) runs latest order date first, page after page, and on
PostgreSQL a date filter is answered from the (ordered_on, id) index instead of walking every
newer order."""

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection

from guanxi.orders.models import Order
from guanxi.orders.selectors import orders_for_user

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")

# Recorded out of date order, as imports of old orders are: ids do not follow the dates.
DAYS = ["2026-03-05", "2025-11-20", "2026-03-05", "2026-01-10", "2024-06-01"]


@pytest.fixture
def orders(company):
    return [
        Order.objects.create(
            customer=company.rep_customer,
            ordered_on=dt.date.fromisoformat(day),
            amount=Decimal("10.00"),
            status="completed",
        )
        for day in DAYS
    ]


def _expected(orders) -> list[int]:
    return [o.pk for o in sorted(orders, key=lambda o: (o.ordered_on, o.pk), reverse=True)]


def test_the_api_lists_orders_latest_order_date_first_across_pages(api_as, orders):
    rep = api_as("rep")
    seen = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = rep.get("/orders", params).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == _expected(orders)


def test_the_order_page_lists_latest_order_date_first_across_pages(client, company, orders):
    client.force_login(company.rep)
    first = client.get("/orders/")
    assert [o.pk for o in first.context["page"].items] == _expected(orders)
    # A date filter keeps the order.
    window = {"ordered_from": "2025-01-01", "ordered_to": "2026-03-05"}
    response = client.get("/orders/", window)
    assert [o.pk for o in response.context["page"].items] == _expected(orders)[:4]


def test_a_cursor_with_a_day_that_does_not_exist_is_refused_naming_it(api_as, orders):
    cursor = base64.urlsafe_b64encode(json.dumps(["-ordered_on", "2024-02-30", 1]).encode())
    response = api_as("rep").get("/orders", {"cursor": cursor.decode().rstrip("=")})
    assert response.status_code in (400, 422)
    assert "cursor" in [e["field"] for e in response.json()["errors"]]


@postgresql_only
def test_on_postgresql_a_month_of_orders_is_read_from_the_date_index(company):
    # Three years of orders in date order, as a shop records them, so one month's orders sit
    # far behind the newest ids.
    start = dt.date(2024, 1, 1)
    Order.objects.bulk_create(
        Order(
            customer=company.rep_customer,
            ordered_on=start + dt.timedelta(days=number // 20),
            amount=Decimal("1.00"),
            status="completed",
        )
        for number in range(20 * 1000)
    )
    with connection.cursor() as cursor:
        # Both tables the query joins: with the customer table's statistics left by earlier
        # tests on the same database, the planner expected one live customer and three orders
        # and walked that customer's own order index instead.
        cursor.execute("ANALYZE orders_order")
        cursor.execute("ANALYZE customers_customer")
    queryset = orders_for_user(
        company.admin, ordered_from=dt.date(2024, 2, 1), ordered_to=dt.date(2024, 2, 29)
    ).order_by("-ordered_on", "-id")[:51]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_date_id" in plan, plan
