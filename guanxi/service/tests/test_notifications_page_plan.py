"""The notifications page lists the user's newest 200 notices that are still in sight: PostgreSQL
must read the user's notices newest first through ``notice_newest`` and stop once it has 200,
not ask every notice the user ever had whether it is in sight and then sort them all (30,000
notices: 60 ms on every visit instead of 1 ms)."""

import pytest
from django.db import connection

from guanxi.service.models import Notification, Ticket
from guanxi.service.selectors import notifications_for_user

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan"),
]


def test_the_page_reads_the_newest_notices_first_and_stops_at_200(company):
    tickets = Ticket.objects.bulk_create(
        Ticket(type=Ticket.Type.INQUIRY, subject=f"T{n}", customer=customer)
        for n, customer in enumerate([company.agent_customer, company.rep_customer] * 100)
    )
    # One in ten about no ticket, as some are: PostgreSQL then expects more than 200 of them in
    # sight, as it does of a user's 30,000, and so to stop early.
    Notification.objects.bulk_create(
        Notification(
            user=company.agent, ticket=tickets[n % 200] if n % 10 else None, text=f"notice {n}"
        )
        for n in range(5000)
    )
    sql, params = notifications_for_user(company.agent)[:200].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE service_ticket")
        cursor.execute("ANALYZE service_notification")
        cursor.execute("ANALYZE customers_customer")
        # The page's own SQL, its values passed as parameters.
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "notice_newest" in plan, plan
    assert "Sort" not in plan, plan
    assert len(notifications_for_user(company.agent)[:200]) == 200
