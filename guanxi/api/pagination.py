"""Keyset pages for the API's list endpoints (see ``guanxi.core.keyset``)."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from guanxi.core.keyset import CursorError, KeysetPage, keyset_page


def keyset_answer(
    queryset: QuerySet,
    *,
    ordering: str,
    cursor: str | None,
    limit: int,
    orderings: dict[str, str] | None = None,
) -> KeysetPage:
    """One page, with every way a doctored cursor can fail reported as a bad cursor.

    ``keyset_page`` checks the cursor's shape, but some values only fail when the database is
    asked (a date that does not parse, an id too large for SQLite to bind).
    """
    try:
        return keyset_page(
            queryset, ordering=ordering, cursor=cursor, limit=limit, orderings=orderings
        )
    except CursorError:
        raise
    except (ValidationError, ValueError, TypeError, OverflowError) as exc:
        if cursor:
            raise CursorError("This cursor is not valid.") from exc
        raise
