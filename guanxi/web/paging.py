"""Paging a list page through its keyset cursor, the same way on every list."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.http import urlencode

from guanxi.core.keyset import CursorError, keyset_page


def keyset_page_context(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    ordering: str,
    limit: int = 50,
    orderings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The page the request's ``cursor`` points at, with what the list templates show around
    it. A cursor that no longer makes sense (edited by hand, or from another ordering) gives
    the first page and ``cursor_error`` rather than an error page. ``list_params`` are the
    request's other non-empty parameters (the filters), which every link keeps."""
    options = {"ordering": ordering, "limit": limit, "orderings": orderings}
    cursor_error = False
    try:
        page = keyset_page(queryset, cursor=request.GET.get("cursor"), **options)
    except CursorError:
        cursor_error = True
        page = keyset_page(queryset, **options)
    params = {k: v for k, v in request.GET.items() if k != "cursor" and v}
    return {
        "page": page,
        "list_params": params,
        "cursor_error": cursor_error,
        "first_page_url": "?" + urlencode(params),
        "next_page_url": (
            "?" + urlencode({**params, "cursor": page.next_cursor}) if page.next_cursor else None
        ),
        "on_later_page": bool(request.GET.get("cursor")) and not cursor_error,
    }
