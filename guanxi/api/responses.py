"""Answers rendered without ninja's response validation, for the few hot operations whose
selectors already build the response's exact shape.

Ninja validates every answer against the operation's schema before rendering it. For the
customer list that means wrapping and validating some 250 nested objects per page (customers,
their organisation, owner, phones and emails): about as long as all the page's queries together.
The dictionaries ``customers.selectors.customer_summaries`` builds are the schema's shape by
construction, and the tests check each such answer against the schema, so the pass is skipped
here; the renderer (and so dates, decimals and the content type) is the same as everywhere else.
"""

from django.http import HttpRequest, HttpResponse


def prevalidated_response(request: HttpRequest, body: dict, *, status: int = 200) -> HttpResponse:
    """``body`` rendered as the API renders every answer, without validating it again."""
    from .api import api  # (the API imports every router, this module among their imports)

    return api.create_response(request, body, status=status)
