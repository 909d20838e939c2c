"""An index on (ordered_on, id) for the order list, latest order date first.

The list used to be in id order. Asked for one month's orders, PostgreSQL walked the primary key
back from the newest order and filtered on the date: with ten million orders over three years,
January 2024 sat nine million rows back and the page took about three seconds. Ordered by
(ordered_on, id), any date filter is a range of this index, read from its newest end, and the
page stops after fifty rows at any depth.

Built ``CONCURRENTLY`` on PostgreSQL (so the migration is not atomic): an order table of ten
million rows keeps taking orders while it is built (about half a minute on the bench machine).
An index left invalid by a failed concurrent build is dropped first when the migration runs
again. SQLite builds it the ordinary way.
"""

from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    """``AddIndex`` that builds the index without locking writes out, where the database can."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{self.index.name}"')
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("orders", "0002_order_approval"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["ordered_on", "id"], name="order_date_id"),
        ),
    ]
