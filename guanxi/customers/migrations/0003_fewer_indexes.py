"""Indexes no query uses, which every insert and update of these rows paid for.

* The account manager's own index: the ``(owner, id)`` index serves every lookup by owner.
* On PostgreSQL, the ``varchar_pattern_ops`` twins Django adds beside the index of a unique or
  indexed text column, for ``LIKE 'prefix%'``: external ids, ID number hashes, phone numbers and
  email addresses are only ever looked up whole (search goes through the token index).

An import of 20,000 rows into a million customers wrote about a gigabyte of write-ahead log,
most of it index pages; each index left out is one page fewer per row written.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PATTERN_INDEXED = (
    ("customers_customer", "external_id"),
    ("customers_customer", "id_number_hash"),
    ("customers_phone", "number"),
    ("customers_email", "address"),
)


def _pattern_index_name(schema_editor, table: str, column: str) -> str:
    return schema_editor._create_index_name(table, [column], suffix="_like")


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in PATTERN_INDEXED:
        name = _pattern_index_name(schema_editor, table, column)
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in PATTERN_INDEXED:
        name = _pattern_index_name(schema_editor, table, column)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON "
            f"{schema_editor.quote_name(table)} ({schema_editor.quote_name(column)}"
            " varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_search_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owned_customers",
                to=settings.AUTH_USER_MODEL,
                verbose_name="account manager",
            ),
        ),
        migrations.RunPython(drop_pattern_indexes, create_pattern_indexes),
    ]
