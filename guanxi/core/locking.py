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


def key_share_user(user_id) -> None:
    """Lock the user ``user_id`` names, when it is a row id at all (a value a form or the API
    let through unchecked is left to the check that follows), with :func:`key_shared`: before
    the customer and before the check that they are active, as a deactivation or deletion
    locks the user and then the customers they own. One of those under way is waited for, and
    the check then refuses the user by the caller's field, instead of the save failing on a
    user gone as it commits (a server error) or naming someone who has left."""
    from django.contrib.auth import get_user_model

    if isinstance(user_id, int) and not isinstance(user_id, bool) and 0 < user_id < 2**63:
        key_shared(get_user_model().objects.filter(pk=user_id).values_list("pk"))
