"""The search index each database keeps (migration 0002) stays complete."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q

from guanxi.customers.models import Customer, Email, Phone
from guanxi.customers.search import POSTGRES_DOCUMENT, build_search_text
from guanxi.customers.selectors import search_matches

EVERYONE = Q()  # a search as someone who may see every customer


def _search_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            ["customers_customer_search%"],
        )
        return {row[0] for row in cursor.fetchall()}


def _tokens(**fields) -> set[str]:
    return set(build_search_text(**fields).split())


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
    assert not Customer.objects.filter(
        search_matches("lost", phones_masked=False, organisations_in_sight=EVERYONE)
    ).exists()

    call_command("migrate", verbosity=0)

    assert len(_search_triggers()) == 3
    assert (
        Customer.objects.filter(
            search_matches("lost", phones_masked=False, organisations_in_sight=EVERYONE)
        )
        .get()
        .name
        == "Lost"
    )
    assert (
        Customer.objects.filter(
            search_matches("before", phones_masked=False, organisations_in_sight=EVERYONE)
        )
        .get()
        .name
        == "Before"
    )
    Customer.objects.create(name="After", search_text="after")
    assert (
        Customer.objects.filter(
            search_matches("after", phones_masked=False, organisations_in_sight=EVERYONE)
        )
        .get()
        .name
        == "After"
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's search index")
@pytest.mark.django_db
def test_the_gin_index_holds_tokens_and_owner_with_a_larger_statistics_sample():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT am.amname, a.attnum, a.attstattarget FROM pg_class i"
            " JOIN pg_am am ON am.oid = i.relam JOIN pg_attribute a ON a.attrelid = i.oid"
            " WHERE i.relname = 'customer_search_tokens' ORDER BY a.attnum"
        )
        assert cursor.fetchall() == [("gin", 1, 1000), ("gin", 2, -1)]
        cursor.execute("SELECT pg_get_indexdef('customer_search_tokens'::regclass)")
        definition = cursor.fetchone()[0]
    # The expression the queries use, so that they can use the index (see the selector tests).
    assert POSTGRES_DOCUMENT.format("search_text") in definition.replace("::text", "")
    assert definition.endswith(", owner_id)")


@pytest.mark.django_db
def test_a_stray_space_in_search_text_is_harmless():
    customer = Customer.objects.create(name="Spaced", search_text="  spaced  out ")
    assert list(
        Customer.objects.filter(
            search_matches("out", phones_masked=False, organisations_in_sight=EVERYONE)
        )
    ) == [customer]


def _at_0001(model: str, **values):
    """A row made as the table was at migration 0001 (later migrations add columns, such as a
    tag's version and a person's organisation owner)."""
    from django.db.migrations.loader import MigrationLoader

    state = MigrationLoader(connection).project_state(("customers", "0001_initial"))
    return state.apps.get_model("customers", model).objects.create(**values)


@pytest.mark.django_db(transaction=True)
def test_the_migration_rebuilds_the_search_text_of_existing_customers():
    call_command("migrate", "customers", "0001", verbosity=0)
    try:
        # As the services wrote it before: words and pinyin, no index behind them.
        person = _at_0001("Customer", name="張偉明", search_text="張偉明 zhangweiming zwm")
        Phone.objects.create(customer_id=person.pk, number="+8613812345678", display="+86 ...")
        Email.objects.create(customer_id=person.pk, address="zhang.wei@163.com")
        person.tags.add(_at_0001("Tag", name="重点客户").pk)
        organisation = _at_0001(
            "Customer",
            name="Pacific Rim Ltd.",
            party_type="organization",
            search_text="pacific rim ltd.",
        )
        employee = _at_0001(
            "Customer",
            name="Li Lei",
            organization_id=organisation.pk,
            external_id="ERP-7",
            search_text="li lei",
        )
    finally:
        # Every app, not just customers: going back to 0001 also unapplied the migrations of
        # the apps that build on customers (duplicates, imports), and later tests need them.
        call_command("migrate", verbosity=0)

    # The same tokens as the application's (later migrations add theirs at the end).
    person = Customer.objects.get(pk=person.pk)
    assert set(person.search_text.split()) == _tokens(
        name="張偉明",
        company="",
        phones=[("+8613812345678", "+86 ...")],
        emails=["zhang.wei@163.com"],
        tags=["重点客户"],
        person=True,
    )
    employee = Customer.objects.get(pk=employee.pk)
    assert set(employee.search_text.split()) == _tokens(
        name="Li Lei",
        company="",
        organisation="Pacific Rim Ltd.",  # as marks since migration 0016
        phones=[],
        emails=[],
        tags=[],
        external_id="ERP-7",
        person=True,
    )

    def found(query: str) -> set[str]:
        return set(
            Customer.objects.filter(
                search_matches(query, phones_masked=False, organisations_in_sight=EVERYONE)
            ).values_list("name", flat=True)
        )

    assert found("伟明") == {"張偉明"}
    assert found("138-1234-5678") == {"張偉明"}
    assert found("客户") == {"張偉明"}
    assert found("pacific") == {"Pacific Rim Ltd.", "Li Lei"}
    assert found("erp-7") == {"Li Lei"}

    def found_masked(query: str) -> set[str]:
        return set(
            Customer.objects.filter(
                search_matches(query, phones_masked=True, organisations_in_sight=EVERYONE)
            ).values_list("name", flat=True)
        )

    # The marks (migration 0013) let whoever sees the number masked find it by what they see.
    assert found_masked("5678") == {"張偉明"}
    assert found_masked("138") == {"張偉明"}
    assert found_masked("1234") == set()
    assert found_masked("erp-7") == {"Li Lei"}
