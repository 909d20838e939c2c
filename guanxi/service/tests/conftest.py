import datetime as dt
import socket
import threading

import pytest

from guanxi.core.testing.clock import frozen_clock
from guanxi.core.testing.mail import MailServer
from guanxi.service.tests.desk import build_desk


@pytest.fixture
def clock(monkeypatch):
    # A Wednesday, 10:00 in Beijing.
    return frozen_clock(monkeypatch, dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def desk(company):
    return build_desk(company)


@pytest.fixture
def mail_server_down(settings):
    """Mail goes over SMTP to a port nothing listens on: the connection is refused."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


@pytest.fixture
def mail_server(settings):
    server = MailServer(refused=set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.shutdown()
    server.server_close()
    thread.join()
