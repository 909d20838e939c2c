"""A tiny IMAP4rev1 server for the tests of ``guanxi service_mail fetch``.

It stands in for the customer's mail server, which the test machines do not have: one login,
one folder held in memory, and just the commands the fetch command sends — CAPABILITY, LOGIN,
SELECT, SEARCH UNSEEN, FETCH BODY.PEEK[], STORE +FLAGS (\\Seen) and LOGOUT, each of the middle
three also in its UID form. It listens on 127.0.0.1 in a thread of the test process; the client
talking to it is the real ``imaplib``.

    mailbox = Mailbox(user="desk", password="secret")
    mailbox.add(raw_email)
    with ImapServer(mailbox) as server:
        ...  # connect to 127.0.0.1:server.port
"""

import re
import socketserver
import threading
from dataclasses import dataclass, field

SEEN = "\\Seen"
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)

    @property
    def seen(self) -> bool:
        return SEEN in self.flags


class Mailbox:
    """The folder's messages, and every command the server was sent (for the tests to read)."""

    def __init__(self, *, user: str, password: str, folder: str = "INBOX"):
        self.user = user
        self.password = password
        self.folder = folder
        self.messages: list[StoredMessage] = []
        self.commands: list[str] = []
        self.lock = threading.Lock()

    def add(self, raw: bytes) -> StoredMessage:
        with self.lock:
            uid = (self.messages[-1].uid if self.messages else 100) + 1
            message = StoredMessage(uid=uid, raw=raw)
            self.messages.append(message)
            return message

    def by_raw(self, raw: bytes) -> StoredMessage:
        return next(m for m in self.messages if m.raw == raw)


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: Mailbox):
        super().__init__(("127.0.0.1", 0), _Session)
        self.mailbox = mailbox
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def _arguments(text: str) -> list[str]:
    words = []
    for quoted, group, atom in _TOKEN.findall(text):
        if quoted or (not group and not atom):
            words.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            words.append(group or atom)
    return words


class _Session(socketserver.StreamRequestHandler):
    def handle(self):
        self.mailbox: Mailbox = self.server.mailbox
        self.logged_in = False
        self.selected = False
        self.send("* OK [CAPABILITY IMAP4rev1] test server ready")
        while line := self.rfile.readline():
            tag, _, rest = line.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            words = _arguments(rest)
            if not words:
                self.send(f"{tag} BAD no command")
                continue
            command, args, by_uid = words[0].upper(), words[1:], False
            if command == "UID" and args:
                command, args, by_uid = args[0].upper(), args[1:], True
            with self.mailbox.lock:
                logged = words[:2] if command == "LOGIN" else words  # not the password
                self.mailbox.commands.append(" ".join(logged))
                handler = getattr(self, f"do_{command.lower()}", None)
                if handler is None:
                    self.send(f"{tag} BAD unknown command {command}")
                elif handler(tag, args, by_uid) == "bye":
                    return

    def send(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    # The commands -----------------------------------------------------------------------------

    def do_capability(self, tag, args, by_uid):
        self.send("* CAPABILITY IMAP4rev1")
        self.send(f"{tag} OK CAPABILITY completed")

    def do_login(self, tag, args, by_uid):
        if args == [self.mailbox.user, self.mailbox.password]:
            self.logged_in = True
            self.send(f"{tag} OK LOGIN completed")
        else:
            self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")

    def do_select(self, tag, args, by_uid):
        if not self.logged_in:
            self.send(f"{tag} BAD log in first")
        elif args != [self.mailbox.folder]:
            self.send(f"{tag} NO [NONEXISTENT] no such folder")
        else:
            self.selected = True
            last = self.mailbox.messages[-1].uid if self.mailbox.messages else 100
            self.send(f"* {len(self.mailbox.messages)} EXISTS")
            self.send("* 0 RECENT")
            self.send("* FLAGS (\\Seen)")
            self.send("* OK [UIDVALIDITY 1] UIDs valid")
            self.send(f"* OK [UIDNEXT {last + 1}] predicted next UID")
            self.send(f"{tag} OK [READ-WRITE] SELECT completed")

    def do_search(self, tag, args, by_uid):
        if not self.selected:
            self.send(f"{tag} BAD select a folder first")
        elif [a.upper() for a in args] != ["UNSEEN"]:
            self.send(f"{tag} BAD only SEARCH UNSEEN here")
        else:
            found = [
                str(m.uid if by_uid else number)
                for number, m in enumerate(self.mailbox.messages, start=1)
                if not m.seen
            ]
            self.send(" ".join(["* SEARCH", *found]))
            self.send(f"{tag} OK SEARCH completed")

    def do_fetch(self, tag, args, by_uid):
        if not self.selected or len(args) != 2 or args[1].upper() != "(BODY.PEEK[])":
            self.send(f"{tag} BAD only FETCH n (BODY.PEEK[]) here")
            return
        for number, message in self._messages(args[0], by_uid):
            uid = f"UID {message.uid} " if by_uid else ""
            self.wfile.write(
                f"* {number} FETCH ({uid}BODY[] {{{len(message.raw)}}}\r\n".encode()
                + message.raw
                + b")\r\n"
            )
        self.send(f"{tag} OK FETCH completed")

    def do_store(self, tag, args, by_uid):
        if not self.selected or len(args) != 3 or args[1].upper() != "+FLAGS":
            self.send(f"{tag} BAD only STORE n +FLAGS (flags) here")
            return
        flags = args[2].strip("()").split()
        for number, message in self._messages(args[0], by_uid):
            message.flags.update(flags)
            uid = f"UID {message.uid} " if by_uid else ""
            self.send(f"* {number} FETCH ({uid}FLAGS ({' '.join(sorted(message.flags))}))")
        self.send(f"{tag} OK STORE completed")

    def do_logout(self, tag, args, by_uid):
        self.send("* BYE logging out")
        self.send(f"{tag} OK LOGOUT completed")
        return "bye"

    def _messages(self, numbers: str, by_uid: bool):
        """The messages a set such as ``3`` or ``101,104`` names (UIDs or sequence numbers)."""
        wanted = {int(n) for n in numbers.split(",") if n.isdigit()}
        for number, message in enumerate(self.mailbox.messages, start=1):
            if (message.uid if by_uid else number) in wanted:
                yield number, message
