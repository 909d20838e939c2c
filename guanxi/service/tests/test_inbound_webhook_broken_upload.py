"""The inbound-mail webhook when the upload breaks off: a client that goes away mid-upload, or
sends less than its Content-Length announced, gets a 400 saying so and nothing is filed.

The requests are WSGI requests built as a server builds them, with a real input stream: Django's
test client always sends the whole body it declares, so it cannot show either case.
"""

import io
import json

import pytest
from django.core.handlers.wsgi import WSGIRequest

from guanxi.service.inbound_views import inbound_email_webhook
from guanxi.service.models import TicketMessage
from guanxi.service.tests.inbound_mail import (  # noqa: F401  (media: a fixture)
    SECRET,
    URL,
    email_message,
    media,
    written,
)

pytestmark = pytest.mark.django_db

BODY = "您好，上周的订单还没有收到发票。" * 50


class BrokenOffStream(io.RawIOBase):
    """A request body whose client hangs up after ``keep`` bytes: reading past them fails as a
    socket read does when the peer resets the connection."""

    def __init__(self, data: bytes, keep: int):
        self._data = io.BytesIO(data[:keep])

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        read = self._data.readinto(buffer)
        if not read and len(buffer):
            raise ConnectionResetError(104, "Connection reset by peer")
        return read


def webhook_request(stream, *, content_length: int) -> WSGIRequest:
    return WSGIRequest(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": URL,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "message/rfc822",
            "CONTENT_LENGTH": str(content_length),
            "HTTP_X_GUANXI_WEBHOOK_SECRET": SECRET,
            "wsgi.input": stream,
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
        }
    )


@pytest.fixture
def raw(settings, company, desk):
    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    return email_message(body=BODY).as_bytes()


def test_a_client_that_hangs_up_mid_upload_gets_a_400_and_nothing_is_filed(raw):
    before = written()
    stream = io.BufferedReader(BrokenOffStream(raw, keep=len(raw) // 2))
    answer = inbound_email_webhook(webhook_request(stream, content_length=len(raw)))
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert "broke off" in json.loads(answer.content)["error"]
    assert written() == before


def test_a_body_shorter_than_its_content_length_is_not_filed(raw):
    before = written()
    # Headers whole and the body cut short: it would parse, and be filed truncated.
    short = io.BytesIO(raw[: len(raw) - 200])
    answer = inbound_email_webhook(webhook_request(short, content_length=len(raw)))
    assert answer.status_code == 400
    assert "broke off" in json.loads(answer.content)["error"]
    assert written() == before


class TrickleStream(io.RawIOBase):
    """A whole request body handed over at most 100 bytes per read, as a socket may."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._data.readinto(memoryview(buffer)[:100])


def test_a_whole_body_that_arrives_in_pieces_is_filed(raw):
    # A read that returns less than asked before the end is not a short body.
    answer = inbound_email_webhook(webhook_request(TrickleStream(raw), content_length=len(raw)))
    assert answer.status_code == 200, answer.content
    assert json.loads(answer.content)["action"] == "created"
    assert TicketMessage.objects.get().body == BODY
