"""Row locks the ORM does not offer."""

from django.db import connections
from django.db.models import QuerySet


def key_shared(queryset: QuerySet) -> list[tuple]:
    """The rows of ``queryset`` (a ``values_list``), as tuples, locked FOR KEY SHARE on
    PostgreSQL until the transaction ends: the lock the database's own check of a foreign key
    to a row takes as a transaction commits, taken when the caller reads the row instead.
    Nobody may delete the rows or take the FOR UPDATE lock that every service deleting or
    deactivating one takes first, meanwhile; changes to their other columns go ahead. A row
    such a service holds is waited for, and then read as it committed it (not at all, if
    deleted, or if it no longer matches the query). Elsewhere the rows as they are: SQLite has
    one writer at a time."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return [row if isinstance(row, tuple) else (row,) for row in queryset]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE", params)
        return cursor.fetchall()
