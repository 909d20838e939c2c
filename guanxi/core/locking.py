"""Row locks the ORM does not offer, and telling a lock met from a fault."""

import logging
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connections
from django.db.models import QuerySet
from django.utils.translation import gettext as _

# Every request answered "the database is busy", page or API, whoever met it (a view, a
# middleware): a warning, not an error, as the log of errors is for faults.
busy_log = logging.getLogger("guanxi.busy")


class ActorDeactivated(PermissionDenied):
    """A write refused because the acting user was deactivated while it waited for them (see
    :func:`key_share_active_users`): they signed in, or their request was authenticated, before
    the deactivation committed. Said as what it is, rather than as a right they lack on the
    record, which would send them asking for one."""

    def __init__(self):
        super().__init__(_("Your account has been deactivated: nothing was changed."))


# What PostgreSQL's errors say, by their SQLSTATE (the same in every language the server may
# speak), when another transaction's locks stopped this one: it was chosen to break a deadlock
# (40P01), a serializable one could not be (40001), or a lock was not had in time (55P03: a
# NOWAIT lock, or ``lock_timeout`` ran out). A statement cancelled for its own slowness
# (``statement_timeout``, 57014) is not among them: it would be as slow again, and a caller
# that set the limit itself catches it (``customers.selectors.listed_within``).
_LOCK_CONTENTION_STATES = frozenset({"40P01", "40001", "55P03"})

# What the databases say when no SQLSTATE comes with the error, as SQLite's do: its busy
# timeout ran out, or its shared cache's table lock was held. PostgreSQL's words are kept for
# an error raised without its driver's.
_LOCK_CONTENTION = (
    "database is locked",
    "database table is locked",
    "deadlock detected",
    "could not serialize access",
    "could not obtain lock",
)


def is_lock_contention(exc: BaseException) -> bool:
    """Whether ``exc`` is a database error that repeating the work may well not meet: the
    transaction met others' locks, and has rolled back. The API and the pages answer it 503 with
    Retry-After; every other database error is a fault."""
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _LOCK_CONTENTION_STATES
    text = str(exc).lower()
    return any(sign in text for sign in _LOCK_CONTENTION)


def lock_contention_in(exc: BaseException | None) -> OperationalError | None:
    """The lock contention ``exc`` is, or was raised while handling (Django turns a session
    save that met one into "the session was interrupted"), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if is_lock_contention(exc):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def logged_as_busy(request, exc: BaseException, response):
    """``response``, the answer to ``request`` that met the lock contention ``exc``: a 503 asks
    the client to try again in a second (Retry-After), and every such answer is logged once as
    a warning on ``guanxi.busy``: operators see how often the database is too busy, by method
    and path and in the database's words, without a trace (nothing is broken) and without an
    error, which would page someone for a request the client is told to repeat. Marked as
    logged, so Django does not log the 503 again as an error."""
    if response.status_code == 503:
        response["Retry-After"] = "1"
    busy_log.warning(
        "Database busy: %s %s: %s",
        request.method,
        request.path,
        # One line, PostgreSQL's DETAIL included: the log is read a line at a time.
        " ".join(str(exc).split()),
        extra={"status_code": response.status_code, "request": request},
    )
    response._has_been_logged = True
    return response


def key_shared(queryset: QuerySet) -> list[tuple]:
    """The rows of ``queryset`` (a ``values_list``), as tuples, locked FOR KEY SHARE on
    PostgreSQL until the transaction ends: the lock the database's own check of a foreign key
    to a row takes as a transaction commits, taken when the caller reads the row instead.
    Nobody may delete the rows or take the FOR UPDATE lock that every service deleting or
    deactivating one takes first, meanwhile; changes to their other columns go ahead. A row
    such a service holds is waited for, and then read as it committed it (not at all, if
    deleted, or if it no longer matches the query). Elsewhere the rows as they are: SQLite has
    one writer at a time."""
    return _locked_rows(queryset, "FOR KEY SHARE")


def key_shared_unless_held(queryset: QuerySet) -> list[tuple]:
    """:func:`key_shared`, leaving out the rows someone holds FOR UPDATE (``SKIP LOCKED``)
    rather than waiting for them: for a writer that holds rows a deactivation or deletion of
    those rows' users locks after them (the sweep, holding tickets), and would deadlock
    waiting for it. The caller leaves whatever names a row left out for later. Elsewhere the
    rows as they are: SQLite has one writer at a time."""
    return _locked_rows(queryset, "FOR KEY SHARE", skip_locked=True)


def shared(queryset: QuerySet) -> list[tuple]:
    """The rows of ``queryset`` (a ``values_list``), as tuples, locked FOR SHARE on PostgreSQL
    until the transaction ends: no other transaction may change them (any column) or delete
    them meanwhile, while others taking the same lock, or :func:`key_shared`'s, go ahead. A
    change of them under way is waited for, and the rows then read as it committed them. For a
    writer that asks something of a row it does not change (may the user still see this
    customer?) and needs the answer to hold until it commits. Elsewhere the rows as they are:
    SQLite has one writer at a time."""
    return _locked_rows(queryset, "FOR SHARE")


def _locked_rows(queryset: QuerySet, lock: str, *, skip_locked: bool = False) -> list[tuple]:
    """The rows of ``queryset``, those of its own table alone locked (``OF``): a table its
    query joins, for a filter or the model's default ordering (a team's, by its department's
    name), is read, not locked, as ``select_for_update(of=("self",))`` does. Locked too, the
    joined rows came out of the one order every writer takes its locks in (a team's department
    after the team), and two writers each held what the other waited for."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return [row if isinstance(row, tuple) else (row,) for row in queryset]
    sql, params = queryset.query.sql_with_params()
    own_table = connection.ops.quote_name(queryset.model._meta.db_table)
    skip = " SKIP LOCKED" if skip_locked else ""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} {lock} OF {own_table}{skip}", params)
        return cursor.fetchall()


def key_share_active_users(user_ids: Iterable) -> set[int]:
    """Lock the users ``user_ids`` name with :func:`key_shared`, in one statement in ascending
    id order, and return the ids of those still active: the one way a writer locks users, before
    any customer or ticket and before checking that they are active, as a deactivation or
    deletion locks the user (a leaver and their successor, in ascending id order) and then what
    they own. One of those under way is waited for and then seen, though the caller read the
    user before it: the caller refuses whoever is left out, by its own field, instead of its
    commit failing on a user gone (a server error) or naming someone who has left.

    Every user a write names (the acting user, an owner, a staff member, an assignee) goes in
    the one call: locked one after the other in the caller's order, a writer holding the
    successor waited for the leaver while the deactivation, holding the leaver, waited for the
    successor. Values that are no row id at all (``None``, or one a form or the API let through
    unchecked) are skipped, and left to the caller's check."""
    from django.contrib.auth import get_user_model

    ids = _row_ids(user_ids)
    if not ids:
        return set()
    users = get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk")
    return {pk for (pk,) in key_shared(users.values_list("pk"))}


def _row_ids(values: Iterable) -> set[int]:
    """The values that can be a row's id; the rest (``None``, text, a boolean, a number out of
    range) are skipped, for the caller's own check to refuse."""
    return {
        value
        for value in values
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
    }


def key_share_users(user_ids: Iterable) -> dict[int, bool]:
    """:func:`key_share_active_users` for a writer that also names users who may have left
    (who recorded a consent, put back as it was): each user of ``user_ids`` that still exists,
    active or not, locked in the one statement, mapped to whether they are active. A deletion
    under way is waited for, and the user deleted is then left out."""
    from django.contrib.auth import get_user_model

    ids = _row_ids(user_ids)
    if not ids:
        return {}
    users = get_user_model().objects.filter(pk__in=ids).order_by("pk")
    return dict(key_shared(users.values_list("pk", "is_active")))
