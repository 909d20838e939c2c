"""``guanxi service_mail fetch``: file the emails in the service desk's mailbox as tickets.

    GUANXI_IMAP_PASSWORD=… guanxi service_mail fetch --host imap.example.com \\
        --user service@example.com --password-env GUANXI_IMAP_PASSWORD \\
        [--folder INBOX] [--ssl | --starttls | --plain] [--port N] \\
        [--once | --interval SECONDS] [--limit N]

Each round connects over IMAP, searches the folder's unseen messages, reads each without
marking it read (``BODY.PEEK[]``), files it with :func:`~guanxi.service.inbound.file_inbound_email`
and only then marks it ``\\Seen``. A crash in between leaves the message unseen; the next round
reads it again and its Message-ID shows it was filed, so nothing is filed twice. A message that
cannot be filed is reported and left unseen for the next round; the others go on.

The password is read from the environment variable ``--password-env`` names: on the command
line every user of the machine could read it. ``--once`` (the default) runs one round, for a
system timer, and exits with status 1 if a message could not be filed; ``--interval`` keeps
going until stopped, a new connection each round.
"""

import imaplib
import math
import os
import signal
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils.translation import gettext as _

from guanxi.service.inbound import file_inbound_email

ACTIONS = ("created", "added", "duplicate", "ignored", "failed")
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str
    security: str  # ssl, starttls or plain
    limit: int | None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    # An infinite interval cannot be waited (the wait overflows): "once" says that.
    if not 0 < value < math.inf:
        raise ValueError(text)
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = "File the emails in the service desk's IMAP mailbox as tickets."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="fetch")
        fetch = actions.add_parser("fetch", help="read the unseen messages and file them")
        fetch.add_argument("--host", required=True, help="the IMAP server")
        fetch.add_argument("--port", type=_port, help="default 993 with --ssl, else 143")
        fetch.add_argument("--user", required=True, help="the mailbox's login")
        fetch.add_argument(
            "--password-env",
            required=True,
            metavar="NAME",
            help="the environment variable holding the password",
        )
        fetch.add_argument("--folder", default="INBOX", help="default INBOX")
        security = fetch.add_mutually_exclusive_group()
        security.add_argument(
            "--ssl",
            dest="security",
            action="store_const",
            const="ssl",
            help="TLS from the start (the default)",
        )
        security.add_argument(
            "--starttls",
            dest="security",
            action="store_const",
            const="starttls",
            help="a plain connection upgraded with STARTTLS",
        )
        security.add_argument(
            "--plain",
            dest="security",
            action="store_const",
            const="plain",
            help="no encryption: only for a server on this machine",
        )
        fetch.set_defaults(security="ssl")
        rounds = fetch.add_mutually_exclusive_group()
        rounds.add_argument("--once", action="store_true", help="one round, then exit (default)")
        rounds.add_argument(
            "--interval",
            type=_positive_float,
            metavar="SECONDS",
            help="keep going, a round every SECONDS",
        )
        fetch.add_argument(
            "--limit",
            type=_positive_int,
            metavar="N",
            help="at most N messages dealt with a round (those that fail do not count)",
        )

    def handle(self, *args, action: str, **options):
        name = options["password_env"]
        password = os.environ.get(name, "")
        if not password:
            raise CommandError(
                _("--password-env: the environment variable %(name)s is not set.") % {"name": name}
            )
        if not options["folder"].isascii():
            raise CommandError(
                _("--folder: give the folder's IMAP name (modified UTF-7 for non-ASCII names).")
            )
        security = options["security"]
        mailbox = Mailbox(
            host=options["host"],
            port=options["port"] or (993 if security == "ssl" else 143),
            user=options["user"],
            password=password,
            folder=options["folder"],
            security=security,
            limit=options["limit"],
        )
        interval = options["interval"]
        if interval is None:
            try:
                tally = self.fetch_round(mailbox)
            except (imaplib.IMAP4.error, OSError) as error:
                raise CommandError(f"{mailbox.host}: {error}") from None
            if tally["failed"]:
                raise CommandError(
                    _("%(count)d message(s) could not be filed; they stay unseen.")
                    % {"count": tally["failed"]},
                    returncode=1,
                )
            return
        self.keep_fetching(mailbox, interval)

    def keep_fetching(self, mailbox: Mailbox, interval: float) -> None:
        stop = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while True:
                try:
                    self.fetch_round(mailbox)
                except (imaplib.IMAP4.error, OSError) as error:
                    # The server may be back next round; the messages wait unseen.
                    self.stderr.write(f"{mailbox.host}: {error}")
                # A database connection that dropped while waiting is replaced.
                close_old_connections()
                if stop.wait(interval):
                    return
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def fetch_round(self, mailbox: Mailbox) -> Counter:
        tally: Counter = Counter()
        with _connect(mailbox) as imap:
            imap.login(mailbox.user, mailbox.password)
            status, answer = imap.select(_quoted(mailbox.folder))
            if status != "OK":
                raise imaplib.IMAP4.error(
                    _("cannot open the folder %(folder)s: %(answer)s")
                    % {"folder": mailbox.folder, "answer": _text(answer)}
                )
            status, answer = imap.uid("SEARCH", "UNSEEN")
            if status != "OK":
                raise imaplib.IMAP4.error(_text(answer))
            uids = [uid.decode() for uid in (answer[0] or b"").split()]
            # The limit counts messages dealt with. Those that fail stay unseen for the next
            # round; counted, a few at the front of the mailbox would hold up all the others.
            for uid in uids:
                if mailbox.limit is not None and tally.total() - tally["failed"] >= mailbox.limit:
                    break
                tally[self.file_one(imap, uid)] += 1
        counts = ", ".join(f"{tally[action]} {action}" for action in ACTIONS)
        self.stdout.write(
            _("%(folder)s: %(total)d message(s): %(counts)s.")
            % {"folder": mailbox.folder, "total": sum(tally.values()), "counts": counts}
        )
        self.stdout.flush()
        return tally

    def file_one(self, imap: imaplib.IMAP4, uid: str) -> str:
        status, answer = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = _message_bytes(answer) if status == "OK" else None
        if raw is None:
            self.stderr.write(
                _("%(uid)s: failed, left unseen: the server did not send it (%(answer)s)")
                % {"uid": uid, "answer": _text(answer)}
            )
            return "failed"
        try:
            result = file_inbound_email(raw)
        except Exception as error:  # one message that cannot be filed must not stop the others
            self.stderr.write(
                _("%(uid)s: failed, left unseen: %(error)s")
                % {"uid": uid, "error": str(error) or type(error).__name__}
            )
            return "failed"
        # Only now: had the process died before this, the message would be read again and
        # recognised as filed by its Message-ID.
        status, answer = imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        ticket = result.ticket.number if result.ticket else "-"
        line = f"{uid}: {result.action} {ticket}"
        if result.reason:
            line += f" ({result.reason})"
        if status != "OK":
            line += " " + _("(not marked seen: %(answer)s)") % {"answer": _text(answer)}
        self.stdout.write(line)
        return result.action


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.security == "ssl":
        return imaplib.IMAP4_SSL(
            mailbox.host,
            mailbox.port,
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
    imap = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
    if mailbox.security == "starttls":
        try:
            imap.starttls(ssl_context=ssl.create_default_context())
        except BaseException:
            imap.shutdown()
            raise
    return imap


def _quoted(folder: str) -> str:
    """imaplib sends arguments as they are; a folder name with a space needs quotes."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _message_bytes(answer: list) -> bytes | None:
    """The message in a FETCH answer: the literal that follows ``BODY[] {size}``."""
    for item in answer or ():
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _text(answer: list) -> str:
    return " ".join(
        item.decode(errors="replace") if isinstance(item, bytes) else str(item)
        for item in answer or ()
        if item is not None
    )
