"""What every page's layout is given: the unread count behind the bell is only counted where the
bell is shown, once per page, and never for the htmx fragments that have no bell."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.service.models import Notification

pytestmark = pytest.mark.django_db

NOTIFICATIONS = Notification._meta.db_table


def _notification_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if NOTIFICATIONS in q["sql"]]


def test_a_full_page_counts_the_unread_notices_once(client, company):
    Notification.objects.create(user=company.agent, text="First response due soon")
    Notification.objects.create(user=company.agent, text="Escalated")
    client.force_login(company.agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/knowledge/")
    assert response.status_code == 200
    assert '<span class="notice-count">2</span>' in response.content.decode()
    assert len(_notification_queries(queries)) == 1


def test_a_fragment_does_not_count_the_unread_notices(client, company):
    Notification.objects.create(user=company.agent, text="First response due soon")
    client.force_login(company.agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/knowledge/suggest/", {"text": "refund late"})
    assert response.status_code == 200
    assert _notification_queries(queries) == []
