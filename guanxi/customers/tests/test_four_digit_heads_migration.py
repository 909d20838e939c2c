"""The migration that gives customers stored before the first four digits of their longer
tokens that start with four digits."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create

migration = importlib.import_module("guanxi.customers.migrations.0012_four_digit_heads")

pytestmark = pytest.mark.django_db


def _models_of_the_migration():
    """The models as they were when the migration ran, not as the application has them now."""
    loader = MigrationExecutor(connection).loader
    return loader.project_state(("customers", "0012_four_digit_heads")).apps


class _Editor:
    """What the operation reads of its schema editor: the connection. (SQLite's real editor
    cannot open inside the test's transaction.)"""

    connection = connection


def _found(user, query):
    return set(customer_list_for_user(user, filters={"q": query}).values_list("name", flat=True))


def test_customers_stored_before_get_the_heads_and_no_one_else_is_touched(company):
    qq = customer_create(actor=company.rep, data={"name": "QQ", "emails": ["61501234@qq.com"]})
    erp = customer_create(actor=company.rep, data={"name": "ERP", "external_id": "1234567"})
    phone = customer_create(actor=company.rep, data={"name": "Phone", "phones": ["13812345678"]})
    customers = (qq, erp, phone)
    # As this migration's rule makes it: without the marks a later one (0013) adds.
    expected = {
        c.pk: " ".join(
            t
            for t in Customer.objects.get(pk=c.pk).search_text.split()
            if not t.startswith(("#", "~"))
        )
        for c in customers
    }
    # As stored before: without the heads.
    for customer, head in ((qq, "6150"), (erp, "1234")):
        assert head in expected[customer.pk].split()
        kept = [t for t in expected[customer.pk].split() if t != head]
        Customer.objects.filter(pk=customer.pk).update(search_text=" ".join(kept))
    Customer.objects.filter(pk=phone.pk).update(search_text=expected[phone.pk])
    assert _found(company.admin, "6150") == set()

    migration.add_heads(_models_of_the_migration(), _Editor())
    after = {c.pk: Customer.objects.get(pk=c.pk).search_text for c in customers}
    assert after == expected  # the very text the application makes, in its order
    assert _found(company.admin, "6150") == {"QQ"}
    assert _found(company.admin, "1234") == {"ERP", "Phone"}
    # Running it again changes nothing.
    migration.add_heads(_models_of_the_migration(), _Editor())
    assert {c.pk: Customer.objects.get(pk=c.pk).search_text for c in customers} == after


def test_the_copied_rule_is_the_applications():
    text = "61501234@qq.com 61501234 qq.com 6150x.cn 2024 20240001 123 86138 8613"
    tokens = text.split()
    from guanxi.customers.search import SearchTokens

    made = SearchTokens()
    made.update(tokens)
    made.add_number_heads()
    assert migration.with_heads(text) == made.text()
    assert migration.with_heads(made.text()) is None
