"""The migration that gives people stored before the surname readings their tokens."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from guanxi.core.text import SURNAME_READINGS
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

migration = importlib.import_module("guanxi.customers.migrations.0004_surname_reading_tokens")

pytestmark = pytest.mark.django_db


def _models_of_the_migration():
    """The models as they were when the migration ran, not as the application has them now."""
    loader = MigrationExecutor(connection).loader
    return loader.project_state(("customers", "0004_surname_reading_tokens")).apps


class _Editor:
    """What the operation reads of its schema editor: the connection. (SQLite's real editor
    cannot open inside the test's transaction.)"""

    connection = connection


def test_the_copied_table_is_the_applications():
    # The migration keeps its own copy, as migrations must; it was made from this one.
    assert migration.SURNAME_READINGS == SURNAME_READINGS


def test_people_stored_before_get_the_tokens_and_no_one_else_is_touched(company):
    zeng = customer_create(actor=company.rep, data={"name": "曾伟"})
    shan = customer_create(actor=company.rep, data={"name": "單田芳"})  # traditional 单
    firm = customer_create(
        actor=company.rep, data={"name": "曾氏贸易", "party_type": "organization"}
    )
    plain = customer_create(actor=company.rep, data={"name": "张伟"})
    expected = {c.pk: Customer.objects.get(pk=c.pk).search_text for c in (zeng, shan, firm, plain)}
    assert {"zengwei", "zw"} <= set(expected[zeng.pk].split())
    assert {"shantianfang", "stf"} <= set(expected[shan.pk].split())
    # As stored before: without the surname tokens.
    for person, tokens in ((zeng, {"zengwei", "zw"}), (shan, {"shantianfang", "stf"})):
        kept = [t for t in expected[person.pk].split() if t not in tokens]
        Customer.objects.filter(pk=person.pk).update(search_text=" ".join(kept))

    migration.add_surname_tokens(_models_of_the_migration(), _Editor())
    after = {c.pk: Customer.objects.get(pk=c.pk).search_text for c in (zeng, shan, firm, plain)}
    for pk, text in expected.items():
        assert set(after[pk].split()) == set(text.split())
    assert after[firm.pk] == expected[firm.pk] and after[plain.pk] == expected[plain.pk]
    # Running it again changes nothing.
    migration.add_surname_tokens(_models_of_the_migration(), _Editor())
    assert {c.pk: Customer.objects.get(pk=c.pk).search_text for c in (zeng, shan)} == {
        zeng.pk: after[zeng.pk],
        shan.pk: after[shan.pk],
    }
