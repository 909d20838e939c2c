"""What kind of page a request is for, where something other than its view must know."""

from django.urls import Resolver404, resolve


def customer_page(view):
    """Mark ``view`` as a page for customers (the service desk's form, a ticket's status page,
    its survey), not for staff: a busy database met on it offers the page again rather than the
    way to the staff's home page, which customers cannot open."""
    view.customer_page = True
    return view


def is_customer_page(request) -> bool:
    """Whether ``request`` is for a page :func:`customer_page` marks. Asked also when the
    request failed before reaching its view (a middleware met a busy database)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
    return getattr(match.func, "customer_page", False)
