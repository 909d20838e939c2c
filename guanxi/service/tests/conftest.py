import datetime as dt
import socket
import socketserver
import threading

import pytest

from guanxi.core.testing.clock import frozen_clock
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


class _MailServer(socketserver.ThreadingTCPServer):
    """A mail server on this machine that speaks just enough SMTP for Django's SMTP backend,
    refuses the addresses in ``refused`` as unknown and keeps what it accepts in
    ``delivered`` (the addresses each email went to)."""

    daemon_threads = True

    def __init__(self, refused: set[str]):
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.refused, self.delivered = refused, []


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 test\r\n")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            reply = "250 ok"
            if verb == "MAIL":
                recipients = []
            elif verb == "RCPT":
                address = command.partition(":")[2].strip().strip("<>")
                if address in self.server.refused:
                    reply = "550 no such user"
                else:
                    recipients.append(address)
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self.server.delivered.append(recipients)
            self.wfile.write(f"{reply}\r\n".encode())


@pytest.fixture
def mail_server(settings):
    server = _MailServer(refused=set())
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
