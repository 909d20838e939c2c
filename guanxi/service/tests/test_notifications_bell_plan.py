"""The bell counts the user's unread notices on every page, each asked whether its ticket's
customer is still in sight: PostgreSQL must ask that notice by notice, not build the set of every
ticket the user may see (a hashed subplan), which costs as much as the desk has tickets however
few notices the user has."""

import pytest
from django.db import connection

from guanxi.service.models import Notification, Ticket
from guanxi.service.selectors import unread_notifications

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan"),
]


def test_the_bell_asks_about_each_notice_instead_of_reading_every_visible_ticket(company):
    tickets = Ticket.objects.bulk_create(
        Ticket(type=Ticket.Type.INQUIRY, subject=f"T{n}", customer=company.agent_customer)
        for n in range(200)
    )
    Notification.objects.bulk_create(
        Notification(user=company.admin, ticket=tickets[n % 200], text=f"notice {n}")
        for n in range(5000)
    )
    sql, params = (
        unread_notifications(company.admin).values("pk").order_by().query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE service_ticket")
        cursor.execute("ANALYZE service_notification")
        cursor.execute("ANALYZE customers_customer")
        # The selector's own SQL, its values passed as parameters.
        cursor.execute(f"EXPLAIN SELECT count(*) FROM ({sql}) AS unread", params)  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "hashed SubPlan" not in plan, plan
    assert unread_notifications(company.admin).count() == 5000
