"""Posts larger than any form of the page could be are refused before their body is read.

A page's CSRF check reads a post's body before the view runs, and Django writes the files of a
multipart body to temporary files whatever their size: without a limit, anyone (the sign-in page
takes posts from everyone) could make a worker read and store gigabytes. The requests here are
WSGI requests as a server hands them over, with an input stream that counts what is read:
Django's test client builds the whole body in memory and so could not show that nothing was.
"""

import io
import json

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from guanxi.core.uploads import request_body_limit_bytes

pytestmark = pytest.mark.django_db

BOUNDARY = "guanxi-boundary"


class CountingStream(io.RawIOBase):
    """A body of ``size`` bytes that counts how many of them the server was asked for."""

    def __init__(self, head: bytes, size: int):
        self._head = head
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), self.size - self.read_bytes)
        if wanted <= 0:
            return 0
        chunk = self._head[self.read_bytes : self.read_bytes + wanted]
        chunk += b"x" * (wanted - len(chunk))
        buffer[:wanted] = chunk
        self.read_bytes += wanted
        return wanted


def multipart_head(field: str = "attachment", filename: str = "big.bin") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def status_of(
    path: str, stream: CountingStream, *, content_type: str, cookie: str = "", **headers: str
):
    """What the project's WSGI application answers: status, body and headers."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(stream.size),
        "HTTP_ACCEPT_LANGUAGE": "en",
        "wsgi.input": io.BufferedReader(stream),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    environ.update(headers)
    started = {}

    def start_response(status, headers):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(headers)

    # As the test client does: the end of a request would otherwise close the database
    # connection the test's transaction runs on.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, start_response)
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], body, started["headers"]


# Anyone gets a CSRF cookie by opening the sign-in page; with one, the CSRF check reads the
# body for the form's token (without one it refuses first, reading nothing).
CSRF_COOKIE = f"{settings.CSRF_COOKIE_NAME}={'a' * 32}"


def signed_in_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}; {CSRF_COOKIE}"


def too_large(limit_extra: int = 1) -> int:
    return request_body_limit_bytes() + limit_extra


def test_a_large_post_to_the_sign_in_page_is_refused_before_it_is_read():
    stream = CountingStream(multipart_head(), 50 * 1024 * 1024)
    status, body, _ = status_of(
        reverse("accounts:login"),
        stream,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        cookie=CSRF_COOKIE,
    )
    assert status == 413
    assert stream.read_bytes == 0
    assert b"too large" in body


def test_a_signed_in_users_large_post_to_a_customer_page_is_refused_unread(company):
    stream = CountingStream(multipart_head(), too_large())
    status, _, _ = status_of(
        reverse("customers:edit", args=[company.rep_customer.pk]),
        stream,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        cookie=signed_in_cookie(company.rep),
    )
    assert status == 413
    assert stream.read_bytes == 0


def test_the_refusal_is_in_the_readers_language(company):
    company.rep.language = "zh-hans"
    company.rep.save(update_fields=["language"])
    stream = CountingStream(multipart_head(), too_large())
    status, body, _ = status_of(
        reverse("customers:edit", args=[company.rep_customer.pk]),
        stream,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        cookie=signed_in_cookie(company.rep),
    )
    assert status == 413
    assert "太大".encode() in body


def test_the_api_refuses_a_large_body_in_its_error_shape(company):
    stream = CountingStream(b'{"name": "', too_large())
    status, body, headers = status_of(
        "/api/v1/customers",
        stream,
        content_type="application/json",
        cookie=signed_in_cookie(company.rep),
    )
    assert status == 413
    assert stream.read_bytes == 0
    assert headers["Content-Type"].startswith("application/json")
    answer = json.loads(body)
    assert set(answer) == {"detail", "errors"}
    assert "too large" in answer["detail"]


def test_a_post_within_the_limit_reaches_the_page():
    stream = CountingStream(multipart_head(), request_body_limit_bytes() - 1024)
    status, _, _ = status_of(
        reverse("accounts:login"),
        stream,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        cookie=CSRF_COOKIE,
    )
    # Read and turned away by the page's own checks (no CSRF token), not by the size.
    assert status == 403
    assert stream.read_bytes == stream.size


def test_the_import_page_holds_files_to_its_own_limit(company):
    """The import page takes files far larger than the general limit, and stops reading one
    only past its own (100 MB by default)."""
    stream = CountingStream(multipart_head("file", "customers.csv"), too_large(1024 * 1024))
    status_of(
        reverse("imports:new"),
        stream,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        cookie=signed_in_cookie(company.admin),
    )
    assert stream.read_bytes == stream.size


def test_the_inbound_mail_webhook_reads_emails_up_to_its_own_limit(settings):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = "s3cret"
    stream = CountingStream(b"From: a@example.com\r\n\r\n", too_large(1024 * 1024))
    status_of(
        reverse("service:inbound_email"),
        stream,
        content_type="message/rfc822",
        HTTP_X_GUANXI_WEBHOOK_SECRET="s3cret",
    )
    assert stream.read_bytes == stream.size
