"""The done tickets' search tokens in a GIN index, on PostgreSQL.

The similar cases suggested while a ticket is written (``knowledge.selectors.similar_cases``) are
ranked by how many probe tokens a resolved or closed ticket holds. Counting them on every done
ticket the user can see is a scan that grows with the desk's history (100,000 done tickets:
200-400 ms a suggestion, on every keystroke). With this index the database first finds the done
tickets holding any probe token (``document @@ 'a' | 'b' | …``) and counts only those.

* The expression is the customers' one (``customers.search.POSTGRES_DOCUMENT``, migration
  customers 0002): tickets' ``search_text`` is space-separated tokens too.
* Partial, on the done statuses, which the suggestion query always states
  (``status IN ('resolved', 'closed')``), so the planner uses it: open tickets, the ones changing
  all day, are not in it, and a token common on the desk finds only done tickets, not every open
  one to be thrown away after reading it.
* Built ``CONCURRENTLY`` (so the migration is not atomic): a desk with a million done tickets
  keeps taking tickets while it is built. A million demo tickets of about twenty tokens each took
  8 s; real descriptions have many more tokens, so expect minutes. An index left invalid by a
  failed build is dropped when the migration runs again.
* ``ANALYZE`` afterwards gives the planner the statistics of the indexed expression.

SQLite (the demo database, a few thousand tickets at most) needs nothing: it scans them.
"""

from django.db import migrations

POSTGRES_CREATE = [
    "DROP INDEX CONCURRENTLY IF EXISTS ticket_search_tokens",
    "CREATE INDEX CONCURRENTLY ticket_search_tokens ON service_ticket USING gin"
    " ((array_to_tsvector(array_remove(string_to_array(search_text, ' '), ''))))"
    " WHERE status IN ('resolved', 'closed')",
    "ANALYZE service_ticket",
]
POSTGRES_DROP = ["DROP INDEX CONCURRENTLY IF EXISTS ticket_search_tokens"]


def _run(schema_editor, statements):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def create_index(apps, schema_editor):
    _run(schema_editor, POSTGRES_CREATE)


def drop_index(apps, schema_editor):
    _run(schema_editor, POSTGRES_DROP)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("service", "0004_labels"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
