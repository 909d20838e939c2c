"""Posting a form with files as a browser does, CSRF token and all, through a body stream that
counts what the server read of it: whether an upload was refused before all of it arrived."""

import io

from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

CSRF_TOKEN = "k" * 32


class CountedBody(io.BytesIO):
    """A request body that counts the bytes read of it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.size = len(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.read_bytes += len(line)
        return line


def browser_client(user) -> Client:
    """A client logged in as ``user`` whose posts are CSRF-checked, as a browser's are: the
    middleware's check reads the body, which the test client skips otherwise."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


def post_multipart(client: Client, url: str, data: dict, *, chunked: bool = False):
    """Post ``data`` (fields and files) with the CSRF token first, as a page's form puts it.
    ``chunked``: sent as a server hands on a body sent in chunks, with no Content-Length.
    Returns the response and the body, which says how much of it was read."""
    body = CountedBody(encode_multipart(BOUNDARY, {"csrfmiddlewaretoken": CSRF_TOKEN, **data}))
    environ = {"wsgi.input": body, "CONTENT_TYPE": MULTIPART_CONTENT}
    if chunked:
        environ.update(CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    return client.generic("POST", url, b"", **environ), body
