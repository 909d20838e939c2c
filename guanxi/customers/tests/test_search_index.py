"""The search index each database keeps (migration 0002) stays complete."""

import pytest
from django.core.management import call_command
from django.db import connection

from guanxi.customers.models import Customer
from guanxi.customers.search import POSTGRES_DOCUMENT
from guanxi.customers.selectors import search_matches


def _search_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            ["customers_customer_search%"],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's search table")
@pytest.mark.django_db(transaction=True)
def test_migrate_restores_the_triggers_a_table_rebuild_dropped():
    Customer.objects.create(name="Before", search_text="before")
    # What Django's SQLite backend does to alter most columns: copy into a new table, drop the
    # old one (and its triggers with it), rename.
    with connection.schema_editor() as editor:
        editor._remake_table(Customer)
    assert _search_triggers() == set()
    Customer.objects.create(name="Lost", search_text="lost")
    assert not Customer.objects.filter(search_matches("lost")).exists()

    call_command("migrate", verbosity=0)

    assert len(_search_triggers()) == 3
    assert Customer.objects.filter(search_matches("lost")).get().name == "Lost"
    assert Customer.objects.filter(search_matches("before")).get().name == "Before"
    Customer.objects.create(name="After", search_text="after")
    assert Customer.objects.filter(search_matches("after")).get().name == "After"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's search index")
@pytest.mark.django_db
def test_the_gin_index_holds_tokens_and_owner_with_a_larger_statistics_sample():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT am.amname, a.attnum, a.attstattarget FROM pg_class i"
            " JOIN pg_am am ON am.oid = i.relam JOIN pg_attribute a ON a.attrelid = i.oid"
            " WHERE i.relname = 'customer_search_tokens' ORDER BY a.attnum"
        )
        assert cursor.fetchall() == [("gin", 1, 300), ("gin", 2, -1)]
        cursor.execute("SELECT pg_get_indexdef('customer_search_tokens'::regclass)")
        definition = cursor.fetchone()[0]
    # The expression the queries use, so that they can use the index (see the selector tests).
    assert POSTGRES_DOCUMENT.format("search_text") in definition.replace("::text", "")
    assert definition.endswith(", owner_id)")


@pytest.mark.django_db
def test_a_stray_space_in_search_text_is_harmless():
    customer = Customer.objects.create(name="Spaced", search_text="  spaced  out ")
    assert list(Customer.objects.filter(search_matches("out"))) == [customer]
