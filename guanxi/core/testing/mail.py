"""A mail server for tests that speaks just enough SMTP for Django's SMTP backend."""

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class MailServer(socketserver.ThreadingTCPServer):
    """A mail server on this machine that speaks just enough SMTP for Django's SMTP backend,
    refuses the addresses in ``refused`` as unknown and keeps what it accepts in
    ``delivered`` (the addresses each email went to)."""

    daemon_threads = True

    def __init__(self, refused: set[str]):
        super().__init__(("127.0.0.1", 0), SmtpSession)
        self.refused, self.delivered = refused, []


class SmtpSession(socketserver.StreamRequestHandler):
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


@contextmanager
def running_mail_server(refused: set[str] = frozenset()) -> Iterator[MailServer]:
    """A :class:`MailServer` answering on a free port of this machine while the block runs."""
    server = MailServer(refused=set(refused))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
