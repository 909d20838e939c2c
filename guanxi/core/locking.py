"""Row locks the ORM does not offer."""

from collections.abc import Iterable

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


def key_share_user(*user_ids) -> None:
    """Lock the users ``user_ids`` name, those that are row ids at all (a value a form or the
    API let through unchecked is left to the check that follows), with :func:`key_shared`: before
    the customer and before the check that they are active, as a deactivation or deletion
    locks the user and then the customers they own. One of those under way is waited for, and
    the check then refuses the user by the caller's field, instead of the save failing on a
    user gone as it commits (a server error) or naming someone who has left.

    Several users (the owner named and the acting user, say) are locked in one statement in
    ascending id order, the order a deactivation locks a leaver and their successor in: locked
    one after the other in the caller's order, a writer holding the successor would wait for
    the leaver while the deactivation, holding the leaver, waited for the successor."""
    from django.contrib.auth import get_user_model

    ids = {
        user_id
        for user_id in user_ids
        if isinstance(user_id, int) and not isinstance(user_id, bool) and 0 < user_id < 2**63
    }
    if ids:
        key_shared(get_user_model().objects.filter(pk__in=ids).order_by("pk").values_list("pk"))


def key_share_active_user(user) -> bool:
    """Lock ``user`` (a user row) with :func:`key_shared` and tell whether they are still active
    as the database has them: a deactivation or deletion of them under way is waited for and
    then seen, though ``user`` was read before it."""
    from django.contrib.auth import get_user_model

    rows = key_shared(get_user_model().objects.filter(pk=user.pk).values_list("is_active"))
    return rows == [(True,)]


def key_share_active_users(user_ids: Iterable[int]) -> set[int]:
    """Lock those of the users ``user_ids`` who are active with :func:`key_shared`, in one
    statement in ascending id order (the order a deactivation locks a leaver and their
    successor in), and return their ids: for a caller about to name them on a record (a
    ticket's assignee, owner or author). A deactivation or deletion of one under way is waited
    for, and they are then left out, as anyone inactive is, instead of the record's commit
    failing on a user gone (a server error) or naming someone who has left."""
    from django.contrib.auth import get_user_model

    ids = sorted(set(user_ids))
    if not ids:
        return set()
    users = get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk")
    return {pk for (pk,) in key_shared(users.values_list("pk"))}
