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

    ``keyset_page`` refuses every cursor value it knows a database would fail on (dates that
    do not exist or fall outside years 1 to 9999 in UTC, ids beyond 64 bits, NUL characters
    and lone surrogates); this is the net for anything it does not foresee.
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
