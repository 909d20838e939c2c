from guanxi.core.client_address import client_address

from .context import Origin, reset_origin, set_origin


class AuditContextMiddleware:
    """Records whether a request came through the web UI or the API, and from which address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = "api" if request.path.startswith("/api/") else "web"
        token = set_origin(Origin(via=via, remote_addr=client_address(request)))
        try:
            return self.get_response(request)
        finally:
            reset_origin(token)
