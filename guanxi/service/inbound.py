"""Emails from customers to the service desk, filed as tickets.

One email comes in — read from the desk's mailbox by ``guanxi service_mail fetch`` or posted to
the inbound webhook — and :func:`file_inbound_email` decides what it is:

- an answer to a ticket: the subject carries a genuine token (``[T-000123-1a2b3c4d]``, see
  :mod:`guanxi.service.mail`), or In-Reply-To / References name a message filed under a ticket
  (ours going out, or the customer's coming in). It is added to that ticket (or to the ticket it
  was merged into), which opens again if it was waiting or done — when it comes from someone
  who writes for the customer: the requester, an address of the customer (or of its
  organisation, or of one of its people), or someone an email of theirs was sent to. One of the
  desk's own people writing into the thread from their own mail program leaves their reply
  when the email went to the customer too (someone who writes for the customer is in its To or
  Cc: "reply all" with the desk copied), counted as an answer and not sent again; when it went
  to the desk alone, their internal note. The token travels with every forwarded email, so
  anyone else's answer, or that of a user who may not work on the ticket, is kept as an
  internal note marked as from an unknown sender, and changes nothing else;
- a new request: a new ticket for the customer with that address, or for a new customer in the
  unowned pool, and the customer is sent its number;
- from an address the site's own mail server did not vouch for, when it is trusted to
  (``GUANXI_INBOUND_AUTHSERV_ID``, see :mod:`guanxi.service.sender_verification`): an answer is
  kept as an unknown sender's note, whoever has the address, and a new request is filed as one
  from an address no customer has, each saying that the address could not be verified;
- an email filed before (the same Message-ID, or for one without, the same content: the mailbox
  read again after a crash, a webhook retried): nothing happens;
- not a person writing (auto-replies, bounces, bulk mail, our own mail coming back) or no
  usable sender: ignored, so two auto-responders cannot keep each other busy.

Only the new part of the text is kept: quoted lines (``>``) and everything from the usual
"On … wrote:" / "在 … 写道：" / "-----Original Message-----" / "发件人:" separators on are cut,
unless that would leave nothing. The email's attachments are stored with the message; one over
the size limit is left out and an internal note says so. A multipart section without a usable
boundary is read as a mail client shows it (see :func:`_mend_multiparts`).

Chinese mail is often labelled GB2312 while holding characters only GBK or GB18030 have (喆, 镕
and 堃 in names), and some mailers put raw GBK or UTF-8 bytes straight into headers. Text
labelled with any of the GB family is therefore read as GB18030 (their common superset), and
unlabelled or mislabelled text is tried as UTF-8, then GB18030, before anything is replaced.
"""

import base64
import binascii
import hashlib
import logging
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from guanxi.core.text import UNSTORABLE_TEXT
from guanxi.customers.models import Email

from . import mail, services
from .dangerous_files import Danger, Hazard
from .intake import customer_wrote_again, request_from_customer
from .models import Ticket, TicketMessage
from .sender_verification import sender_verified

logger = logging.getLogger(__name__)

CREATED = "created"
ADDED = "added"
DUPLICATE = "duplicate"
IGNORED = "ignored"

# A plain keyword rule, on purpose: an email that names a complaint opens a complaint (which
# has the tighter service level), anything else an inquiry. The agent can change the type; a
# wrong guess costs one click, a missed complaint a late answer.
COMPLAINT_WORDS = ("投诉", "complain")

GB_FAMILY = frozenset(
    {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "euc-cn", "x-euc-cn", "gb_2312-80", "csgb2312"}
)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_MESSAGE_ID = 250  # TicketMessage.email_message_id
MAX_REFERENCES = 100
REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|aw|tr|答复|回复|转发)\s*[:：]\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class InboundResult:
    """What became of one email: ``action`` is created, added, duplicate or ignored; ``ticket``
    the ticket it went to (or was found under); ``reason`` why it was ignored or a duplicate, or
    why it was added as a note or as a desk user's reply."""

    action: str
    ticket: Ticket | None = None
    reason: str = ""


class UnreadableEmail(ValueError):
    """The bytes are not an email: empty, or without a single header."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    """The parts of an email the desk uses, decoded."""

    sender_name: str
    sender_address: str  # lower-cased; "" when the From header gives none
    subject: str
    message_id: str  # <…>; made from the content when the email has none
    references: list[str]  # In-Reply-To, then References from the newest
    body: str  # the new text, the quoted conversation cut off
    attachments: list[Attachment] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # To and Cc, without the desk and sender
    automatic: str = ""  # why it looks sent by a machine (auto-reply, bounce, bulk), or ""
    from_a_list: bool = False  # came through a mailing list: filed, not acknowledged
    # The receiving mail server vouched for the sender's address (see
    # guanxi.service.sender_verification); None when the site trusts no server's verdict.
    sender_verified: bool | None = None


# --- reading ------------------------------------------------------------------------------------


_GB_LABEL = re.compile(
    # A GB-family charset label in an encoded word (=?gb2312?B?…?=) or an RFC 2231 parameter
    # (filename*=gb2312''…).
    r"(=\?|\*=\s*\"?)(" + "|".join(re.escape(name) for name in sorted(GB_FAMILY)) + r")(?=[?'*])",
    re.IGNORECASE,
)


class _LenientPolicy(EmailPolicy):
    """``email.policy.default``, except that each header is repaired before it is parsed: raw
    8-bit bytes are decoded (UTF-8, else GB18030) instead of ending up as replacement
    characters, and GB-family charset labels are read as GB18030."""

    def header_source_parse(self, sourcelines):
        name, value = super().header_source_parse(sourcelines)
        return name, _repair_header(value)


def _repair_header(value: str) -> str:
    if not value.isascii():
        # The parser reads header bytes as ASCII, keeping the others as surrogate escapes.
        try:
            data = value.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            data = None
        if data is not None:
            for charset in ("utf-8", "gb18030"):
                try:
                    value = data.decode(charset)
                    break
                except UnicodeDecodeError:
                    continue
    return _GB_LABEL.sub(lambda found: found.group(1) + "gb18030", value)


POLICY = _LenientPolicy()
# For writing a forwarded email (an attachment) back out: headers may hold non-ASCII text now.
_OUTPUT_POLICY = POLICY.clone(utf8=True)


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes as text: in the declared charset (any of the GB family as GB18030), else UTF-8,
    else GB18030; replacement characters only when none of them fits."""
    declared = (charset or "").strip().strip("\"'").lower()
    if declared in GB_FAMILY:
        declared = "gb18030"
    for candidate in dict.fromkeys(c for c in (declared, "utf-8", "gb18030") if c):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def parse_email(raw: bytes) -> ParsedEmail:
    """Read one email (its bytes as received). Raises :class:`UnreadableEmail` when it is none."""
    if not raw or not raw.strip():
        raise UnreadableEmail(_("The email is empty."))
    try:
        message = message_from_bytes(raw, policy=POLICY)
    except Exception as error:  # the parser is lenient; this is for what it still cannot take
        raise UnreadableEmail(_("The email cannot be read: %(error)s") % {"error": error}) from None
    if not message.keys():
        raise UnreadableEmail(_("This is not an email: it has no headers."))
    # Before the parts are mended: a delivery report stays one even when its boundary is lost.
    automatic = _automatic(message)
    try:
        mended = _mend_multiparts(message)
        body_part = message.get_body(preferencelist=("plain", "html"))
        text = _body_text(body_part) if body_part is not None else ""
        attachments = list(_attachments(message, body_part))
    except Exception as error:  # refused whole rather than filed with parts missing
        raise UnreadableEmail(
            _("The email's parts cannot be read: %(error)s") % {"error": error}
        ) from None
    name, address = _sender(message)
    subject = _header(message, "Subject")
    message_id = _message_id(message) or _content_id(
        address, _header(message, "Date"), subject, text, attachments
    )
    body = strip_quoted(text)
    if mended == _UNREADABLE or (mended and not body and not attachments):
        # Said on the ticket rather than filed with nothing: someone wrote, and the agent
        # should know to ask again.
        logger.warning("Inbound email %s from %r: its body cannot be read", message_id, address)
        body = _("The text of this email could not be read: the email is malformed.")
    return ParsedEmail(
        sender_name=_storable(name),
        sender_address=address,
        subject=subject,
        message_id=message_id,
        references=_references(message),
        body=_storable(body),
        copied=_copied(message, address),
        attachments=attachments,
        automatic=automatic,
        from_a_list=_from_a_list(message),
        sender_verified=_sender_verified(message, address),
    )


def _sender_verified(message: EmailMessage, address: str) -> bool | None:
    """Whether the site's own mail server vouched for the From address in its
    Authentication-Results headers; None when no server is trusted to
    (``GUANXI_INBOUND_AUTHSERV_ID`` unset), and the sender is taken at their word as before."""
    trusted = getattr(settings, "GUANXI_INBOUND_AUTHSERV_ID", None) or ()
    if not trusted:
        return None
    # The values as received (raw_items keeps the order, top first), not decoded as text: an
    # encoded word in a header is the sender's, never a server's verdict.
    values = [
        value for name, value in message.raw_items() if name.lower() == "authentication-results"
    ]
    return sender_verified(values, sender=address, trusted=trusted)


def _storable(text: str) -> str:
    """Text a database column holds. Some mailers leave NUL characters in, which PostgreSQL
    refuses; header bytes in no known charset stay lone surrogates, which are no UTF-8 (and a
    name holding one is refused by the customer checks): either would make the email fail again
    on every attempt. NULs go; a lone surrogate becomes the replacement character, as
    undecodable bytes in the text do."""
    return UNSTORABLE_TEXT.sub(lambda found: "" if found.group() == "\x00" else "\ufffd", text)


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded text on one line, storable (see :func:`_storable`); "" when missing
    or beyond the parser."""
    try:
        value = message.get(name)
    except Exception:  # the standard parser gives up on some malformed headers
        return ""
    return "" if value is None else " ".join(_storable(str(value)).split())


def _sender(message: EmailMessage) -> tuple[str, str]:
    try:
        header = message.get("From")
        addresses = header.addresses if header is not None else ()
    except Exception:
        return "", ""
    for address in addresses:
        if address.username and address.domain:
            name = " ".join(address.display_name.split())
            return name, _storable(f"{address.username}@{address.domain}".lower())
    return "", ""


MAX_COPIED = 50
MAX_ADDRESS = 254  # TicketMessage.email_from, Ticket.requester_email


def _addresses(message: EmailMessage, name: str) -> tuple:
    try:
        header = message.get(name)
        return header.addresses if header is not None else ()
    except Exception:  # the standard parser gives up on some malformed headers
        return ()


def _copied(message: EmailMessage, sender: str) -> list[str]:
    """The other people an email went to (To and Cc), lower-cased, without the desk and the
    sender; addresses that are not valid are left out."""
    left_out = {sender, mail.service_address().strip().lower()}
    found: list[str] = []
    for name in ("To", "Cc"):
        for address in _addresses(message, name):
            text = _storable(f"{address.username}@{address.domain}".lower())
            if not (address.username and address.domain) or text in left_out:
                continue
            try:
                validate_email(text)
            except ValidationError:
                continue
            found.append(text)
    return list(dict.fromkeys(found))[:MAX_COPIED]


def _message_id(message: EmailMessage) -> str:
    """The email's Message-ID, or "" when it has none that fits."""
    found = MESSAGE_ID.search(_header(message, "Message-ID"))
    if found and len(found.group()) <= MAX_MESSAGE_ID:
        return found.group()
    return ""


def _content_id(
    sender: str, date: str, subject: str, text: str, attachments: list[Attachment]
) -> str:
    """An identity for an email without a usable Message-ID, so that the same email read twice
    is still recognised.

    Not its bytes: a server may store or hand out the same email encoded differently (base64
    where it came as 8-bit, quoted-printable, other line endings, headers folded anew), and a
    fetch after that would file it again. What the sender wrote survives every such change: the
    sender's address, the moment it was written (the Date header, read as a point in time), the
    subject and the text as decoded, each line without trailing white space (quoted-printable
    may drop it), and the content of the attachments. Two emails alike in all of these at the
    same second are taken as one; a person writing the same thing twice writes it at another
    moment, and a mailer that leaves out both Message-ID and Date is rare and then repeats
    nothing the ticket does not already hold."""
    try:
        written = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError, OverflowError):
        moment = date
    else:  # without a zone ("-0000"): UTC, rather than whatever zone this machine is in
        if written.tzinfo is None:
            written = written.replace(tzinfo=UTC)
        moment = written.astimezone(UTC).isoformat()
    lines = "\n".join(line.rstrip() for line in text.strip().split("\n"))
    digest = hashlib.sha256()
    for piece in (sender, moment, subject, lines):
        digest.update(_storable(piece).encode() + b"\x00")
    for attachment in attachments:
        digest.update(hashlib.sha256(attachment.data).digest())
    return f"<{digest.hexdigest()[:40]}@no-message-id.invalid>"


def _references(message: EmailMessage) -> list[str]:
    ids = MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    ids += reversed(MESSAGE_ID.findall(_header(message, "References")))
    return [i for i in dict.fromkeys(ids) if len(i) <= MAX_MESSAGE_ID][:MAX_REFERENCES]


def _automatic(message: EmailMessage) -> str:
    """Why the email looks sent by a machine rather than a person (RFC 3834), or ""."""
    submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return _("sent automatically (Auto-Submitted: %(value)s)") % {"value": submitted}
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return _("bulk mail (Precedence: %(value)s)") % {"value": precedence}
    if "X-Autoreply" in message or "X-Autorespond" in message:
        return _("an auto-reply")
    if message.get_content_type() == "multipart/report":
        return _("a delivery or read report")
    if _header(message, "Return-Path") == "<>":
        return _("a bounce (empty return path)")
    # Some mail systems write bounces as plain text, and the webhook's provider may leave out
    # the Return-Path: the sender's mailbox name still says it is one.
    mailbox = _sender(message)[1].partition("@")[0]
    if mailbox in ("mailer-daemon", "postmaster"):
        return _("a bounce (from %(mailbox)s)") % {"mailbox": mailbox}
    desk = mail.service_address().strip().lower()
    if desk and desk in _header(message, "X-Loop").lower():
        return _("a mail loop (X-Loop names the service desk)")
    return ""


def _from_a_list(message: EmailMessage) -> bool:
    """Whether the email came through a mailing list (RFC 2369, 2919). Such mail is filed, but
    never answered automatically: an answer would go to the whole list. It is not ignored,
    because the desk's own address may be a group that adds these headers to every email."""
    return "List-Id" in message or "List-Unsubscribe" in message


def _body_text(part: EmailMessage) -> str:
    data = part.get_payload(decode=True) or b""
    text = decode_text(data, part.get_content_charset())
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


# A line that opens a MIME part: "--" and a boundary (RFC 2046, 5.1.1: up to 70 of these
# characters, not ending in a space), followed by the part's first header.
_BOUNDARY_CHARS = rb"0-9A-Za-z'()+_,./:=?-"
_BOUNDARY_LINE = re.compile(
    rb"^--([ " + _BOUNDARY_CHARS + rb"]{0,69}[" + _BOUNDARY_CHARS + rb"])[ \t]*\r?\n"
    rb"(?=content-)",
    re.MULTILINE | re.IGNORECASE,
)
_MENDED = "mended"
_UNREADABLE = "unreadable"


def _mend_multiparts(part: EmailMessage) -> str:
    """Give back their parts to multipart sections the parser left as one block of text,
    because their Content-Type has no boundary or one that never occurs (some mail clients and
    gateways send these). Returns "" when nothing needed mending, else _MENDED, or _UNREADABLE
    when a section held nothing that reads as text.

    A reader's mail client shows such a section as text, so that is what it becomes — unless it
    holds MIME parts anyway (its lines say where they start), which are then read as parts.
    Bytes that are no text are kept as an attachment rather than dropped."""
    if part.get_content_maintype() != "multipart":
        return ""
    if part.is_multipart():
        outcomes = {_mend_multiparts(sub) for sub in part.iter_parts()}
        return _UNREADABLE if _UNREADABLE in outcomes else _MENDED if _MENDED in outcomes else ""
    data = part.get_payload(decode=True) or b""
    parts = _parts_within(data, part.get_content_subtype())
    outcome = _MENDED
    if parts is None:
        text = decode_text(data, part.get_content_charset())
        if _reads_as_text(text):
            charset = (part.get_content_charset() or "").encode("ascii", "ignore")
            header = b"Content-Type: text/plain"
            if re.fullmatch(rb"[\w.:-]+", charset):
                header += b"; charset=" + charset
        else:
            outcome = _UNREADABLE
            header = b"Content-Type: application/octet-stream"
        parts = (
            []
            if not data.strip()
            else [message_from_bytes(header + b"\r\n\r\n" + data, policy=POLICY)]
        )
    part.set_payload(parts)
    inner = {_mend_multiparts(sub) for sub in parts}
    return _UNREADABLE if _UNREADABLE in inner or not parts else outcome


def _parts_within(data: bytes, subtype: str) -> list[EmailMessage] | None:
    """The MIME parts in a section without a usable boundary, or None when it holds none. The
    first "--boundary" line directly followed by a Content- header opens the first part; a
    line like that in a person's text is rare enough, and only the first one is tried, so text
    full of such lines costs one pass. Failing that, a section that starts with a Content-Type
    header is one part."""
    found = _BOUNDARY_LINE.search(data)
    if found is not None:
        mended = message_from_bytes(
            b"Content-Type: multipart/"
            + re.sub(rb"[^a-z0-9.+-]", b"", subtype.encode("ascii", "ignore"))
            + b'; boundary="'
            + found.group(1).replace(b'"', b"")
            + b'"\r\n\r\n'
            + data,
            policy=POLICY,
        )
        if mended.is_multipart():
            return list(mended.iter_parts())
    if re.match(rb"(?i)content-type:", data.lstrip()):
        return [message_from_bytes(data.lstrip(), policy=POLICY)]
    return None


def _reads_as_text(text: str) -> bool:
    """Whether decoded bytes are text a person wrote, not binary data read as characters (as
    the start of them shows)."""
    visible = [c for c in text[:100_000] if not c.isspace()]
    if not visible:
        return False
    noise = sum(1 for c in visible if c == "\ufffd" or not c.isprintable())
    return noise * 10 < len(visible)


def _leaves(
    part: EmailMessage, in_alternative: bool = False
) -> Iterator[tuple[EmailMessage, bool]]:
    """The parts that hold content, with whether they are one of several forms of the text.
    A forwarded email (message/rfc822) is one part, kept whole."""
    if part.get_content_maintype() == "multipart":
        inner = in_alternative or part.get_content_subtype() == "alternative"
        for sub in part.iter_parts():
            yield from _leaves(sub, inner)
    else:
        yield part, in_alternative


def _attachments(message: EmailMessage, body_part: EmailMessage | None) -> Iterator[Attachment]:
    for number, (part, in_alternative) in enumerate(_leaves(message), start=1):
        if part is body_part:
            continue
        filename = _filename(part)
        is_text = part.get_content_maintype() == "text"
        if is_text and in_alternative and not filename and not part.is_attachment():
            continue  # the HTML form of the plain text read as the body, or the other way round
        data = _part_bytes(part)
        content_type = part.get_content_type()
        if not filename:
            extension = mimetypes.guess_extension(content_type) or ".bin"
            filename = f"attachment-{number}{extension}"
        yield Attachment(filename=filename, content_type=content_type, data=data)


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        return ""
    if "=?" in name:  # an encoded word inside quotes, which some mailers send
        name = decode_words(name)
    # Characters that do not show go, as they do from a file uploaded on the ticket page: a
    # right-to-left override would show "invoice\u202efdp.zip" as "invoicepiz.pdf".
    name = "".join(c for c in _storable(name) if c.isprintable())
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    # A name of dots alone ("..") names no file: stored under it (Django refuses it as a path),
    # the attachment would make the whole email fail to be filed, on every fetch.
    return name if name.strip(".") else ""


def _part_bytes(part: EmailMessage) -> bytes:
    if part.is_multipart():  # message/rfc822: the forwarded email, as an .eml file
        return part.get_payload(0).as_bytes(policy=_OUTPUT_POLICY)
    return part.get_payload(decode=True) or b""


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words the header parser did not (inside a quoted filename)."""

    def decode(found: re.Match) -> str:
        charset, encoding, text = found.groups()
        try:
            if encoding in "bB":
                data = base64.b64decode(text + "=" * (-len(text) % 4))
            else:
                data = binascii.a2b_qp(text.encode("ascii"), header=True)
        except (binascii.Error, ValueError):
            return found.group()
        return decode_text(data, charset.split("*")[0])

    # Whitespace between two encoded words is not part of the text (RFC 2047, 6.2).
    return _ENCODED_WORD.sub(decode, re.sub(r"(\?=)\s+(=\?)", r"\1\2", value))


# --- the text --------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """HTML reduced to its text: blocks and line breaks become lines, scripts and styles go,
    and lines inside <blockquote> are marked as quoted (``> ``) so they are cut like quoted
    plain text."""

    LINE_ENDS = frozenset(
        {"p", "div", "li", "tr", "table", "ul", "ol", "pre", "hr", "blockquote", "section"}
        | {"h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "article", "address"}
    )
    HIDDEN = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.line_depth = 0
        self.quote_depth = 0
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.end_line(keep_empty=True)
        elif tag in self.LINE_ENDS:
            self.end_line()
        if tag == "blockquote":
            self.quote_depth += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.LINE_ENDS:
            self.end_line()
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data):
        if self.hidden:
            return
        if not self.current:
            self.line_depth = self.quote_depth
        self.current.append(re.sub(r"\s+", " ", data))

    def end_line(self, keep_empty: bool = False) -> None:
        line = "".join(self.current).strip()
        self.current = []
        if line:
            self.lines.append("> " * self.line_depth + line)
        elif keep_empty:
            self.lines.append("")

    def text(self) -> str:
        self.close()
        self.end_line()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()


def html_to_text(html: str) -> str:
    reader = _HtmlText()
    reader.feed(html)
    return reader.text()


_SEPARATORS = (
    re.compile(r"^On\b.{0,300}\bwrote:$", re.IGNORECASE),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^在.{0,300}写道[:：]$"),  # the same clients in Chinese
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}$", re.IGNORECASE),  # Outlook
    re.compile(r"^-{2,}\s*原始邮件\s*-{2,}$"),  # QQ Mail, Foxmail
    re.compile(r"^发件人\s*[:：]"),  # Outlook and NetEase in Chinese
)
_OUTLOOK_FROM = re.compile(r"^From:\s")
_OUTLOOK_SENT = re.compile(r"^(Sent|Date):\s")


def _is_separator(line: str, following: str) -> bool:
    if any(pattern.match(line) for pattern in _SEPARATORS):
        return True
    # "On Tue, 1 Dec 2026 … Zhang Wei <\nzw@example.cn> wrote:" wraps onto a second line.
    if following and any(p.match(f"{line} {following}") for p in _SEPARATORS[:2]):
        return True
    # Outlook in English: "From: …" directly followed by "Sent: …".
    return bool(_OUTLOOK_FROM.match(line) and _OUTLOOK_SENT.match(following))


def strip_quoted(text: str) -> str:
    """The new part of a reply: cut at the first separator of the quoted conversation and
    without ``>`` lines — or the whole text, when that would leave nothing."""
    lines = text.split("\n")
    end = len(lines)
    for index, line in enumerate(lines):
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _is_separator(line.strip(), following):
            end = index
            break
    kept = [line for line in lines[:end] if not line.lstrip().startswith(">")]
    return _tidy(kept) or _tidy(lines)


def _tidy(lines: list[str]) -> str:
    lines = [line.rstrip() for line in lines]
    # Outlook's rule (a line of underscores) above its "From:" block.
    while lines and re.fullmatch(r"[\s_\-]*", lines[-1]):
        lines.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- filing --------------------------------------------------------------------------------------


def file_inbound_email(raw: bytes) -> InboundResult:
    """File one email to the service desk (its bytes as received); see the module's docstring.
    All of its writes are one transaction. Raises :class:`UnreadableEmail` for bytes that are
    no email."""
    parsed = parse_email(raw)
    reason = parsed.automatic or _sender_problem(parsed)
    if reason:
        # Filed nowhere: the log is where it can be found again.
        logger.info(
            "Inbound email %s from %r ignored: %s",
            parsed.message_id,
            parsed.sender_address,
            reason,
        )
        return InboundResult(IGNORED, None, reason)
    try:
        # Attachments are written to storage as the email is filed; if filing fails after that,
        # they go again, as the email will be fetched again and store them anew.
        with services.files_removed_on_failure(), transaction.atomic():
            return _file(parsed)
    except IntegrityError:
        # Another worker filed the same email between the check and the insert.
        ticket = _filed_under(parsed.message_id)
        if ticket is None:
            raise
        return InboundResult(DUPLICATE, ticket, _("This email was filed already."))


def _sender_problem(parsed: ParsedEmail) -> str:
    if not parsed.sender_address:
        return _("no sender address")
    try:
        validate_email(parsed.sender_address)
    except ValidationError:
        valid = False
    else:
        # Django allows 320 characters; an address is at most 254 (RFC 5321's path of 256, less
        # its angle brackets), which is also what the columns holding one take: a longer one
        # would fail to be stored on every attempt to file the email.
        valid = len(parsed.sender_address) <= MAX_ADDRESS
    if not valid:
        return _("the sender address %(address)s is not valid") % {"address": parsed.sender_address}
    if parsed.sender_address == mail.service_address().strip().lower():
        return _("sent from the service desk's own address")
    return ""


def _file(parsed: ParsedEmail) -> InboundResult:
    ticket = _filed_under(parsed.message_id)
    if ticket is not None:
        return InboundResult(DUPLICATE, ticket, _("This email was filed already."))
    ticket_id = _ticket_answered(parsed)
    if ticket_id is not None:
        return _file_answer(parsed, ticket_id)
    subject = _new_subject(parsed)
    unverified = parsed.sender_verified is False
    ticket = request_from_customer(
        name=parsed.sender_name[:200],
        email=parsed.sender_address,
        data={
            "type": _ticket_type(subject, parsed.body),
            "subject": subject,
            "description": parsed.body,
        },
        channel=Ticket.Channel.EMAIL,
        email_message_id=parsed.message_id,
        email_copied=parsed.copied,
        acknowledge=not parsed.from_a_list,
        # An address nobody vouched for is not taken to be the customer's who has it: the
        # request is filed as one from an address no customer has (a new customer in the
        # unowned pool), and nothing reaches the record of the customer it may impersonate.
        match_customer=not unverified,
    )
    message = ticket.messages.get(email_message_id=parsed.message_id)
    _store_attachments(ticket, message, _looked_through(parsed.attachments))
    if unverified:
        logger.info(
            "Inbound email %s from %r: the sender could not be verified; filed as from a new "
            "customer",
            parsed.message_id,
            parsed.sender_address,
        )
        services.add_note(ticket, unverified_sender_text(parsed.sender_address))
        return InboundResult(CREATED, ticket, _("the sender's address could not be verified"))
    return InboundResult(CREATED, ticket)


def unverified_sender_text(address: str) -> str:
    """What the agents are told about an email whose sender's address was not vouched for."""
    return _(
        "The sender's address, %(address)s, could not be verified: the mail server that "
        "received this email found no passing DMARC, DKIM or SPF result for it, so anyone may "
        "have written it. It is not taken to come from the customer or the colleague who has "
        "this address."
    ) % {"address": address}


def _file_answer(parsed: ParsedEmail, ticket_id: int) -> InboundResult:
    """File an email into the thread of ticket ``ticket_id``: the customer's message, a desk
    user's reply or note, or an unknown sender's note."""
    message = False  # not filed yet
    refused = ""  # why a desk user's answer to the customer is not filed as their reply
    looked = None  # the attachments, once looked into (see _looked_through)
    unverified = parsed.sender_verified is False
    if unverified:
        # Anyone may have put the address in From: it speaks neither for the customer nor for
        # the desk user who has it (a forged "reply all" must not become their public reply).
        refused = unverified_sender_text(parsed.sender_address)
    elif _writes_for_customer(ticket_id, parsed.sender_address):
        wrote = customer_wrote_again(
            ticket_id=ticket_id,
            body=parsed.body,
            name=parsed.sender_name[:200],
            subject=_new_subject(parsed),
            email_from=parsed.sender_address,
            email_message_id=parsed.message_id,
            email_copied=parsed.copied,
            acknowledge=not parsed.from_a_list,
        )
        message = wrote.message
        if wrote.new_request is not None:
            # Its customer is in the recycle bin: a new request (see customer_wrote_again).
            _store_attachments(wrote.new_request, message, _looked_through(parsed.attachments))
            return InboundResult(
                CREATED,
                wrote.new_request,
                _("the ticket's customer is in the recycle bin: filed as a new request"),
            )
        if wrote.continued is not None and message is not None:
            _store_attachments(message.ticket, message, _looked_through(parsed.attachments))
            return InboundResult(
                ADDED,
                message.ticket,
                _(
                    "the ticket's customer is in the recycle bin: added to the new request "
                    "an earlier message started"
                ),
            )
    elif (colleague := _colleague(parsed.sender_address)) is not None:
        to_customer = any(_writes_for_customer(ticket_id, a) for a in parsed.copied)
        if to_customer:  # their reply stores the attachments it keeps itself
            looked = _looked_through(parsed.attachments)
        message = _from_colleague(
            colleague,
            ticket_id,
            parsed,
            to_customer=to_customer,
            files=looked.kept if looked is not None else [],
        )
        if message is False and to_customer:
            refused = _(
                "Not recorded as a reply: %(name)s (%(address)s) may not work on this ticket. "
                "The email went to the customer too, so the customer has it, but it does not "
                "count as an answer."
            ) % {"name": colleague.label, "address": parsed.sender_address}
    if message is False:
        logger.info(
            "Inbound email %s from %r to ticket %s kept as a note: %s",
            parsed.message_id,
            parsed.sender_address,
            ticket_id,
            "the sender could not be verified" if unverified else "not a known sender",
        )
        message = services.email_from_unknown_sender(
            ticket_id=ticket_id,
            sender=parsed.sender_address,
            # The agents reading the note learn why it is one, above what was written.
            body=f"{refused}\n\n{parsed.body}" if refused else parsed.body,
            email_message_id=parsed.message_id,
            unverified=unverified,
        )
    if message is None:
        ticket = _filed_under(parsed.message_id)
        return InboundResult(DUPLICATE, ticket, _("This email was filed already."))
    if unverified:
        reason = _("the sender's address could not be verified: kept as a note")
    elif refused:
        reason = _(
            "sent to the customer by %(name)s of the desk, who may not work on this ticket: "
            "kept as a note"
        ) % {"name": colleague.label}
    elif message.is_from_unknown_sender:
        reason = _("the sender is not known to write for the requester: kept as a note")
    elif message.kind == TicketMessage.Kind.NOTE:
        reason = _("sent by %(name)s of the desk: kept as their internal note") % {
            "name": message.author.label
        }
    elif message.kind == TicketMessage.Kind.REPLY:
        reason = _(
            "sent to the customer by %(name)s of the desk: recorded as their reply, not sent again"
        ) % {"name": message.author.label}
    else:
        reason = ""
    _store_attachments(
        message.ticket,
        message,
        # Looked into already when a desk user's reply was tried, refused or not.
        looked or _looked_through(parsed.attachments),
        # A desk user's reply stored those it kept itself (see _from_colleague).
        kept_stored=message.kind == TicketMessage.Kind.REPLY,
    )
    return InboundResult(ADDED, message.ticket, reason)


def _from_colleague(
    colleague,
    ticket_id: int,
    parsed: ParsedEmail,
    *,
    to_customer: bool,
    files: list[SimpleUploadedFile],
):
    """An email into the thread from one of the desk's own people: what they filed on the
    ticket (None: filed already), or False when they may not work on the ticket (the check a
    reply or note on the ticket page makes), whose email then is an unknown sender's like
    anyone else's.

    Sent to the customer too (``to_customer``: someone who writes for the customer is among
    its To and Cc) — an agent answering from their own mail program with "reply all" — it is
    their reply: the customer has been answered, and the ticket must show it and stop the
    clock that waits for an answer. It is not emailed again, the customer having it already.
    Its attachments (``files``: those the desk keeps, see :func:`_looked_through`) go with it,
    so that its audit row names them as a reply's does. Sent to the desk alone, it is their
    internal note, and the ticket stays as it is."""
    try:
        if to_customer:
            return services.email_reply_from_colleague(
                actor=colleague,
                ticket_id=ticket_id,
                body=parsed.body,
                email_message_id=parsed.message_id,
                email_from=parsed.sender_address,
                email_copied=parsed.copied,
                files=files,
            )
        return services.email_from_colleague(
            actor=colleague,
            ticket_id=ticket_id,
            body=parsed.body,
            email_message_id=parsed.message_id,
            email_from=parsed.sender_address,
        )
    except (PermissionDenied, Ticket.DoesNotExist):
        logger.info(
            "Inbound email %s from user %s to ticket %s: they may not work on it",
            parsed.message_id,
            colleague.pk,
            ticket_id,
        )
        return False


def _filed_under(message_id: str) -> Ticket | None:
    """The ticket an email with this Message-ID was filed under (where it was merged to)."""
    filed = (
        TicketMessage.objects.filter(email_message_id=message_id).select_related("ticket").first()
    )
    return _surviving(filed.ticket) if filed else None


def _surviving(ticket: Ticket) -> Ticket:
    seen = {ticket.pk}
    while ticket.merged_into_id and ticket.merged_into_id not in seen:
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
        seen.add(ticket.pk)
    return ticket


def _writes_for_customer(ticket_id: int, sender: str) -> bool:
    """Whether ``sender`` may write to a ticket as its customer: the requester (of the ticket
    and of those merged with it), an address of the customer or of the customers linked to it
    (see :func:`_linked_customers`), or anyone an email of theirs on the ticket came from or was
    sent to (a colleague they copied answers too) — except the desk's own people, whom a
    customer may copy as well: their answers are theirs, not the customer's.

    Asked about the one sender, so that an organisation with thousands of people costs an
    indexed look-up of one address, not a read of all of theirs."""
    sender = sender.strip().lower()
    if not sender:
        return False
    ticket = _surviving(Ticket.objects.get(pk=ticket_id))
    tickets = Ticket.objects.filter(Q(pk__in={ticket.pk, ticket_id}) | Q(merged_into=ticket))
    if any(
        (address or "").strip().lower() == sender
        for address in tickets.values_list("requester_email", flat=True)
    ):
        return True
    if Email.objects.filter(_linked_customers(ticket.customer_id), address=sender).exists():
        return True
    copied_on: set[str] = set()
    for sent_from, copied in ticket.messages.filter(kind=TicketMessage.Kind.CUSTOMER).values_list(
        "email_from", "email_copied"
    ):
        copied_on.add(sent_from or "")
        copied_on.update(copied or ())
    if sender not in {address.strip().lower() for address in copied_on}:
        return False
    return not _staff_addresses({sender})


def _linked_customers(customer_id: int) -> Q:
    """Which emails belong to the customer and those who write for it by being part of it, or it
    of them (a condition on ``Email``).

    An organisation's people (the people whose organisation it is) count: a company's ticket is
    answered by whoever there handles it — the buyer who wrote first, the accountant asked for
    the invoice — and an agent expects their replies to be the customer's, as they are on the
    phone. A person's organisation counts too: the company's own address (its office mailbox)
    writing about one of its people is the company speaking. A person's colleagues do not
    (the same organisation, another person): a person's ticket can be their own affair, and a
    colleague they want in the thread is known as soon as they copy them. Customers in the
    recycle bin count for nothing."""
    from guanxi.customers.models import Customer

    organization_id = (
        Customer.objects.filter(pk=customer_id).values_list("organization_id", flat=True).first()
    )
    linked = Q(customer_id=customer_id) | Q(customer__organization_id=customer_id)
    if organization_id is not None:
        linked |= Q(customer_id=organization_id)
    return linked & Q(customer__deleted_at__isnull=True)


def _staff_addresses(addresses: set[str]) -> set[str]:
    """Those of ``addresses`` (lower case) that are a user's of Guanxi, active or not."""
    if not addresses:
        return set()
    from guanxi.accounts.models import User

    return set(
        User.objects.annotate(address=Lower("email"))
        .filter(address__in=addresses)
        .values_list("address", flat=True)
    )


def _colleague(address: str):
    """The one active user of Guanxi whose address this is, or None (none, or several
    sharing it: then nobody can say who wrote)."""
    from guanxi.accounts.models import User

    users = list(
        User.objects.annotate(address=Lower("email")).filter(address=address, is_active=True)[:2]
    )
    return users[0] if len(users) == 1 else None


def _ticket_answered(parsed: ParsedEmail) -> int | None:
    """The ticket this email answers: by a genuine token in the subject, else by the newest
    message it refers to that is filed under a ticket."""
    ticket_id = mail.ticket_id_from_subject(parsed.subject)
    if ticket_id is not None and Ticket.objects.filter(pk=ticket_id).exists():
        return ticket_id
    if not parsed.references:
        return None
    filed = dict(
        TicketMessage.objects.filter(email_message_id__in=parsed.references).values_list(
            "email_message_id", "ticket_id"
        )
    )
    return next((filed[i] for i in parsed.references if i in filed), None)


def _new_subject(parsed: ParsedEmail) -> str:
    # A token that is not genuine (or of a ticket that is gone) does not stay in the subject,
    # where the new ticket's own token goes.
    subject = mail.TOKEN_PATTERN.sub("", parsed.subject)
    subject = " ".join(REPLY_PREFIX.sub("", subject.strip()).split())
    if not subject:
        first_line = next((line.strip() for line in parsed.body.split("\n") if line.strip()), "")
        subject = first_line or _("Email from %(address)s") % {"address": parsed.sender_address}
    return subject if len(subject) <= 200 else subject[:199] + "…"


def _ticket_type(subject: str, body: str) -> str:
    text = f"{subject}\n{body}".lower()
    if any(word in text for word in COMPLAINT_WORDS):
        return Ticket.Type.COMPLAINT
    return Ticket.Type.INQUIRY


@dataclass(frozen=True)
class _LookedThrough:
    """An email's attachments sorted by what the desk does with them (see
    :func:`_looked_through`)."""

    kept: list[SimpleUploadedFile]  # to store, looked into already
    too_large: list[Attachment]
    dangers: list[Danger]  # of those not kept for what opening them could start


def _looked_through(attachments: list[Attachment]) -> _LookedThrough:
    """The attachments the desk keeps — not empty (there is nothing to keep), not too large,
    and nothing that could start a program (see ``dangerous_files``) — and why it does not keep
    the others, for the notes. Each is looked into once, whatever stores it and writes the
    notes: reading a large PDF or Office document is the slow part of filing an email."""
    kept, too_large, dangers = [], [], []
    for attachment in attachments:
        if len(attachment.data) > services.MAX_ATTACHMENT_BYTES:
            too_large.append(attachment)
            continue
        found = services.upload_looked_into(
            attachment.filename, attachment.data, attachment.content_type
        )
        if isinstance(found, Danger):
            dangers.append(found)
        elif attachment.data:
            kept.append(found)
    return _LookedThrough(kept=kept, too_large=too_large, dangers=dangers)


def _store_attachments(
    ticket: Ticket,
    message: TicketMessage,
    looked: _LookedThrough,
    *,
    kept_stored: bool = False,
) -> None:
    """Store the email's attachments it keeps with its message, with the audit row naming them
    (unless ``kept_stored``: the service filing it did, in its own row), and say in a note which
    were not kept: too large, or programs."""
    limit = services.MAX_ATTACHMENT_BYTES
    # Named by its sender: the email may be an unknown sender's, kept as a note.
    address = message.email_from or ticket.requester_email or "-"
    if not kept_stored:
        services.email_attachments_keep(ticket, message, looked.kept, sender=address)
    if looked.too_large:
        body = _(
            "The email from %(address)s had attachments larger than %(limit)d MB, which were "
            "not kept: %(files)s. Ask the sender to send them another way."
        ) % {
            "address": address,
            "limit": limit // (1024 * 1024),
            "files": ", ".join(
                f"{a.filename} ({len(a.data) / 1024 / 1024:.1f} MB)" for a in looked.too_large
            ),
        }
        services.add_note(ticket, body)
    programs = [d.where for d in looked.dangers if d.hazard == Hazard.PROGRAM]
    if programs:
        body = _(
            "The email from %(address)s had attachments that are programs or scripts, which "
            "the desk does not keep: %(files)s. Do not ask for them; if the sender meant to "
            "send a document, ask for it in another form."
        ) % {"address": address, "files": ", ".join(programs)}
        services.add_note(ticket, body)
    others = [d for d in looked.dangers if d.hazard != Hazard.PROGRAM]
    if others:
        body = _(
            "The email from %(address)s had attachments that can start programs when opened or "
            "that the desk cannot look into, which it does not keep: %(files)s. Ask the sender "
            "for documents saved without macros or as PDFs, and for archives as zips."
        ) % {
            "address": address,
            "files": ", ".join(f"{d.where} ({_hazard_label(d.hazard)})" for d in others),
        }
        services.add_note(ticket, body)


def _hazard_label(hazard: Hazard) -> str:
    """What makes a document or archive one the desk does not keep, in a few words."""
    labels = {
        Hazard.MACROS: _("has macros"),
        Hazard.LAUNCH_ACTION: _("a PDF that starts a program"),
        Hazard.SEALED_ARCHIVE: _("a rar or 7z archive"),
    }
    return labels[hazard]
