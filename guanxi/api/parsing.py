"""Reading request bodies and query strings more strictly than ninja's default parser.

JSON allows text that no database column can store: ``"\\u0000"`` (PostgreSQL refuses NUL in
text and jsonb) and unpaired surrogates such as ``"\\ud800"`` (not encodable as UTF-8). Letting
them through would turn a client's typo into a server error half-way through a write, so they
are refused here, before any schema or service sees them, with the path of the offending value.
``NaN`` and ``Infinity`` are not JSON at all, though Python's parser accepts them.
"""

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from guanxi.core.text import UNSTORABLE_TEXT

from .errors import BadText, field_path


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def find_unstorable_text(value: Any) -> str | None:
    """The field path of the first string (or object key) in ``value`` that cannot be stored,
    or None. Walks iteratively, so deeply nested input cannot exhaust the stack."""
    stack: list[tuple[tuple, Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE_TEXT.search(item):
                return field_path(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                if UNSTORABLE_TEXT.search(key):
                    return field_path(path)  # the key itself is not worth echoing back
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in enumerate(item))
    return None


class StrictJSONParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_constant=_refuse_constant)
        bad = find_unstorable_text(data)
        if bad is not None:
            raise BadText(bad)
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            if UNSTORABLE_TEXT.search(key):
                raise BadText("")
            if find_unstorable_text(value) is not None:
                raise BadText(key)
        return result
