"""A page that PostgreSQL picks to break a real deadlock is answered 503 with Retry-After, and
nothing of its work is saved: the database's own error, as its driver raises it, is told apart
from a fault. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction

pytestmark = CONCURRENT

CALL = {
    "channel": "phone",
    "direction": "inbound",
    "subject": "询问报价",
    "notes": "想要 50 台",
    "occurred_at": "2026-01-05T10:30",
}


def test_a_page_chosen_to_break_a_deadlock_is_a_503_and_saves_nothing(company):
    customer = company.rep_customer
    client = Client()
    client.force_login(company.rep)
    results: dict = {}
    # Logging a contact locks its users (the acting one, FOR KEY SHARE) and then its customer.
    # A writer here takes them the other way round, waiting long before it looks for a
    # deadlock: the page, waiting first and looking first, is the one PostgreSQL fails.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL deadlock_timeout = '20s'")
        Customer.objects.select_for_update().get(pk=customer.pk)
        page = in_thread(
            lambda: client.post(f"/interactions/log/{customer.pk}/", CALL), results, "page"
        )
        assert wait_until(waiting_for_a_lock)
        get_user_model().objects.select_for_update().get(pk=company.rep.pk)
    page.join(30)

    assert results["page"][0] == "ok", results["page"][-1]
    response = results["page"][1]
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "The database is busy. Try again in a moment." in response.content.decode()
    assert not Interaction.objects.exists()
    assert not AuditEvent.objects.filter(object_type="interaction").exists()
