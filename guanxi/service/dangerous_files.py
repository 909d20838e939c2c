"""Which attachments the desk does not keep because opening them can run a program.

Pure functions of a file's name and bytes (no database), used by the agent's upload and the
inbound mail path alike. What they find:

- a program or script, by its name or first bytes, or one carried inside a zip archive, inside
  an Office document (an OLE "Package" object embedding invoice.exe) or inside a PDF (an
  embedded file);
- an Office document with macros, and a PDF with a launch action: opened, they can start a
  program without one being attached at all;
- a rar or 7z archive, which the desk cannot look into (see :data:`SEALED_ARCHIVE_EXTENSIONS`).

Two well-kept libraries do the parsing that is easy to get wrong on hostile input: ``olefile``
(the OLE compound files of Office: embedded objects and old .doc/.xls files) and ``pypdf``
(see :func:`_danger_in_pdf` for why not a byte scan). Anything they cannot read holds nothing
that could run from it, as a damaged zip does.
"""

import enum
import io
import logging
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import olefile
import pypdf
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    StreamObject,
    read_object,
)

# pypdf warns of each damaged object it reads, and attachments from outside are often damaged:
# that is the sender's matter, not something for the desk's log.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Programs and scripts that run when opened on the desk's computers (Windows and macOS). Mail
# from outside is how such files usually arrive, and nothing a customer asks for needs one sent
# back, so the desk keeps none: an agent cannot attach one, and one arriving by email is left
# out with a note, as a file too large is. Disk images (.iso, .img, .vhd) count: opened, they
# show the programs inside without the warning Windows gives for one that came from outside.
PROGRAM_EXTENSIONS = frozenset(
    {
        "app", "appx", "appxbundle", "application", "bat", "chm", "cmd", "com", "command",
        "cpl", "dmg", "exe", "gadget", "hta", "img", "inf", "iso", "jar", "js", "jse", "lnk",
        "msc", "msi", "msix", "msixbundle", "msp", "pif", "pkg", "ps1", "psm1", "reg", "scf",
        "scr", "sct", "url", "vb", "vbe", "vbs", "vhd", "vhdx", "ws", "wsf", "wsh", "xll",
    }
)  # fmt: skip
# Archives the desk cannot look into: reading them needs libraries with native parts (7z) or
# a program of its own (rar), and they are what mail carrying a program uses to get past the
# gateways that open zips. The desk refuses them, as mail gateways commonly refuse archives
# they cannot scan, rather than keep a file it cannot vouch for; the refusal asks for a zip,
# which any archiver writes (Chinese customers often send rar: the note tells the agent to ask).
SEALED_ARCHIVE_EXTENSIONS = frozenset({"rar", "7z"})
SEALED_ARCHIVE_SIGNATURES = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")

# How programs begin: Linux (ELF) and macOS (Mach-O, either byte order, 32 and 64 bit); a
# Windows program is "MZ" with "PE\0\0" where its header says (text may well start "MZ"). A
# program named as a document is refused as well: it was disguised for a reason.
PROGRAM_SIGNATURES = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)
# As much of a file as says whether it is a program (a Windows program's header is near the
# start), an archive, an OLE compound file or a PDF.
HEAD_BYTES = 4096
ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = olefile.MAGIC
PDF_SIGNATURE = b"%PDF-"
# Readers accept a PDF whose header comes after some other bytes, this far in.
PDF_HEADER_WITHIN = 1024
# Files inside files are opened this deep: a zip of Office documents, each holding an OLE
# object, each holding a packaged file, is three deep.
NESTING_DEPTH = 3
# How much looking through one file may unpack in all. A zip can unpack to a thousand times its
# size (a "zip bomb": a few kilobytes holding gigabytes), and an email or an agent's upload
# would wait on it for hours; a zip of documents needs its entries' first bytes and the files
# inside it. What is past this is not looked into, as a file nested deeper is not.
UNPACKED_BYTES_LOOKED_AT = 4 * MAX_ATTACHMENT_BYTES


class Hazard(enum.StrEnum):
    """Why the desk does not keep a file."""

    PROGRAM = "program"
    # Office documents whose macros run when the document is opened (and the user clicks
    # "Enable content", which such documents' text always asks for). Mail gateways commonly
    # refuse them from outside; a customer never needs to send the desk one, and the same
    # document saved without macros (.docx, .xlsx) or as a PDF says all it has to say.
    MACROS = "macros"
    # A PDF action that starts a program (or opens a file with its program) when followed.
    LAUNCH_ACTION = "launch action"
    SEALED_ARCHIVE = "sealed archive"


@dataclass(frozen=True)
class Danger:
    """What makes a file one the desk does not keep: ``where`` names the program
    ("invoice.zip: setup.exe"), or the document or archive that is the danger itself
    ("report.docm", "invoice.zip: report.docm")."""

    where: str
    hazard: Hazard


def is_program(name: str) -> bool:
    """Whether a file of this name would run when opened. Windows drops trailing dots and
    spaces from a name, so "invoice.exe." is a program too; and characters that do not show
    (a zero-width space, a right-to-left mark, a control character) are not judged part of the
    name, as a browser saving the file may drop them: "invoice.exe\u200b" is a program."""
    return _extension(name) in PROGRAM_EXTENSIONS


def _extension(name: str) -> str:
    visible = "".join(c for c in (name or "") if c.isprintable())
    _stem, dot, extension = visible.rstrip(". ").rpartition(".")
    return extension.lower() if dot else ""


def _runs(head: bytes) -> bool:
    """Whether a file beginning with ``head`` is a program."""
    if head.startswith(PROGRAM_SIGNATURES):
        return True
    if head.startswith(b"MZ") and len(head) >= 64:
        header_at = int.from_bytes(head[60:64], "little")
        return head[header_at : header_at + 4] == b"PE\0\0"
    return False


def danger_in(name: str, content: bytes) -> Danger | None:
    """What makes this file one the desk does not keep, or None (see the module's docstring).
    A zip's names can be read without a password, and an archive of an invoice.exe is how such
    files most often arrive by mail; a zip or an entry of one that cannot be read holds nothing
    that could run from it, and the entries after a damaged one are still looked at, as
    unzipping tools extract them."""
    return _danger_in_file("", name, content, NESTING_DEPTH, [UNPACKED_BYTES_LOOKED_AT])


def _danger_in_file(inside: str, name: str, content: bytes, depth: int, unpack_left: list[int]):
    """The danger of the file ``name`` (inside the file ``inside`` names, when it is not an
    attachment itself) whose content has been read: whole, or its first bytes when too large,
    or none when only its name is judged. ``unpack_left`` holds how many bytes more the look
    may unpack, shared by every file inside."""
    where = f"{inside}: {name}" if inside else name
    if is_program(name) or _runs(content[:HEAD_BYTES]):
        return Danger(where, Hazard.PROGRAM)
    if _extension(name) in SEALED_ARCHIVE_EXTENSIONS or content.startswith(
        SEALED_ARCHIVE_SIGNATURES
    ):
        return Danger(where, Hazard.SEALED_ARCHIVE)
    if depth == 0:
        return None
    if content.startswith(ZIP_SIGNATURE):
        return _danger_in_zip(where, content, depth, unpack_left)
    if content.startswith(OLE_SIGNATURE):
        return _danger_in_ole(where, content, depth, unpack_left)
    if PDF_SIGNATURE in content[:PDF_HEADER_WITHIN]:
        return _danger_in_pdf(where, content, depth, unpack_left)
    return None


def _opens(head: bytes) -> bool:
    """Whether a file beginning with ``head`` is one that is looked into."""
    return head.startswith((ZIP_SIGNATURE, OLE_SIGNATURE)) or (
        PDF_SIGNATURE in head[:PDF_HEADER_WITHIN]
    )


def _danger_in_stream(
    inside: str, name: str, opened: io.RawIOBase, size: int, depth: int, unpack_left: list[int]
) -> Danger | None:
    """The danger of a file inside another, read from ``opened`` (of ``size`` bytes unpacked):
    its first bytes, and the rest when it is a file that is looked into and the budget holds
    it whole."""
    head = opened.read(min(HEAD_BYTES, unpack_left[0]))
    unpack_left[0] -= len(head)
    if depth > 1 and _opens(head) and size - len(head) <= unpack_left[0]:
        rest = opened.read(unpack_left[0])
        unpack_left[0] -= len(rest)
        head += rest
    return _danger_in_file(inside, name, head, depth - 1, unpack_left)


# What reading a damaged zip raises depends on the damaged byte: a decompression error
# (zlib.error), a seek before the file's start (ValueError), a name that is not UTF-8
# (UnicodeDecodeError, a ValueError), a record cut short (struct.error) and more. None of them
# says anything but "unreadable".
_UNREADABLE_ZIP = (
    zipfile.BadZipFile,
    NotImplementedError,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    struct.error,
    zlib.error,
)
# An Office Open XML document (.docx, .xlsm, ...) is a zip with this entry.
OOXML_CONTENT_TYPES = "[Content_Types].xml"


def _danger_in_zip(where: str, content: bytes, depth: int, unpack_left: list[int]):
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except _UNREADABLE_ZIP:
        return None
    with archive:
        if any(m.filename == OOXML_CONTENT_TYPES for m in members) and any(
            _is_macro_part(m.filename) for m in members
        ):
            return Danger(where, Hazard.MACROS)
        for member in members:
            if member.filename.endswith("/"):
                continue  # a folder (ZipInfo.is_dir fails on an entry with no name)
            # Only its name is judged when it is too large to open here, encrypted, past what
            # the look may unpack, or unreadable.
            danger = _danger_in_file(where, member.filename, b"", 0, unpack_left)
            opens = member.file_size <= MAX_ATTACHMENT_BYTES and not member.flag_bits & 0x1
            if not danger and opens and unpack_left[0] > 0:
                try:
                    with archive.open(member) as opened:
                        danger = _danger_in_stream(
                            where, member.filename, opened, member.file_size, depth, unpack_left
                        )
                except _UNREADABLE_ZIP:
                    continue
            if danger:
                return danger
    return None


def _is_macro_part(name: str) -> bool:
    """Whether an Office Open XML part holds macros: the VBA project (word/vbaProject.bin,
    xl/vbaProject.bin, ppt/vbaProject.bin) or an Excel 4 macro sheet (xl/macrosheets/)."""
    lowered = name.lower()
    return lowered.rpartition("/")[2] == "vbaproject.bin" or "/macrosheets/" in lowered


# The OLE storages that hold a document's VBA macros: Word's, Excel's, and the VBA project's
# own (as in an Office Open XML document's vbaProject.bin).
VBA_STORAGES = frozenset({"macros", "_vba_project_cur", "vba"})
# The stream of an OLE "Package" object (Object Packager, how a file of any kind is embedded
# in an Office document): the file's name, where it came from, and its bytes.
PACKAGE_STREAM = "\x01ole10native"


def _danger_in_ole(where: str, content: bytes, depth: int, unpack_left: list[int]):
    """The danger of an OLE compound file: an old Office document (.doc, .xls) or an object
    embedded in a new one (word/embeddings/oleObject1.bin)."""
    try:
        ole = olefile.OleFileIO(content)
    except Exception:  # hostile input makes any parser raise anything; see the module's doc
        return None
    with ole:
        try:
            entries = ole.listdir(streams=True, storages=True)
        except Exception:
            return None
        if any(part.lower() in VBA_STORAGES for entry in entries for part in entry):
            return Danger(where, Hazard.MACROS)
        for entry in entries:
            if entry[-1].lower() != PACKAGE_STREAM:
                continue
            package = _package_in(ole, entry, unpack_left)
            if package is None:
                continue
            names, data = package
            named = next((n for n in names if is_program(n)), names[0])
            danger = _danger_in_file(where, named, data, depth - 1, unpack_left)
            if danger:
                return danger
    return None


def _package_in(
    ole: olefile.OleFileIO, entry: list[str], unpack_left: list[int]
) -> tuple[list[str], bytes] | None:
    """The packaged file of a Package stream, charged to ``unpack_left`` before it is read
    (olefile reads a stream whole as it opens it); None when it is past what may be unpacked.
    Many entries of one file can name the same stream, or streams whose sectors run round in a
    loop: read each time, a few megabytes of them made olefile read gigabytes."""
    try:
        size = ole.get_size(entry)
        if size > unpack_left[0]:
            return None
        unpack_left[0] -= size
        return _packaged_file(ole.openstream(entry).read())
    except Exception:  # a damaged stream holds nothing that could run from it
        return None


def _packaged_file(stream: bytes) -> tuple[list[str], bytes] | None:
    """The names and bytes of the file an OLE Package object carries, from its Ole10Native
    stream: its size (4 bytes), a type (2), the file's name and the path it was packaged from
    (each ending in a zero byte), 4 bytes, the temporary path it is written to when opened
    (its length in 4 bytes, then the path), and the file's size (4) and bytes. The temporary
    path's name is the one Windows runs it by, so each name is judged. None when the stream
    says something else."""
    at = 6
    names = []
    for _string in range(2):
        end = stream.find(b"\0", at)
        if end < 0:
            return None
        names.append(_ansi(stream[at:end]))
        at = end + 1
    at += 4
    if len(stream) < at + 4:
        return None
    path_length = int.from_bytes(stream[at : at + 4], "little")
    names.append(_ansi(stream[at + 4 : at + 4 + path_length].rstrip(b"\0")))
    at += 4 + path_length
    size = int.from_bytes(stream[at : at + 4], "little")
    names = [name.rpartition("\\")[2] for name in names if name.rpartition("\\")[2]]
    return (names, stream[at + 4 : at + 4 + size]) if names else None


def _ansi(raw: bytes) -> str:
    """A name in the Windows code page it was packaged under; Chinese Windows' is GBK, which
    keeps ASCII as it is (what decides whether a name is a program's)."""
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# pypdf's limits on what one stream may decompress to, lowered to an attachment's size: the
# look as a whole is bounded by ``unpack_left`` (object streams and embedded files are charged
# to it as they are read).
PDF_LIMITS = {
    "zlib_maximum_output_length": MAX_ATTACHMENT_BYTES,
    "lzw_maximum_output_length": MAX_ATTACHMENT_BYTES,
    "run_length_maximum_output_length": MAX_ATTACHMENT_BYTES,
    "brotli_maximum_output_length": MAX_ATTACHMENT_BYTES,
    "array_based_stream_maximum_output_length": MAX_ATTACHMENT_BYTES,
    "stream_decoding_work_maximum_length": 3 * MAX_ATTACHMENT_BYTES,
}


def _escapable_name(name: str) -> bytes:
    """A pattern for a PDF name however its characters are written: as themselves or as "#"
    and their hexadecimal code (/L#61unch is /Launch)."""
    return b"/" + b"".join(b"(?:%s|#(?i:%02x))" % (c.encode(), ord(c)) for c in name)


# What a PDF holding a danger must have written somewhere, in its bytes or in an object
# stream: a file specification's embedded file (/EF) or a launch action.
PDF_DANGER_KEYS = re.compile(_escapable_name("EF") + rb"\b|" + _escapable_name("Launch"))
# As many objects as are read of one PDF: reading one takes pypdf a tenth of a millisecond.
# Only those whose text has one of :data:`PDF_DANGER_KEYS` are read (a PDF of pages has none
# or a few), so this bounds only the time a file made to have many takes; past it, what is in
# the file is not looked into, as a zip past what may be unpacked is not.
PDF_OBJECTS_LOOKED_AT = 20_000


def _danger_in_pdf(where: str, content: bytes, depth: int, unpack_left: list[int]):
    """The danger of a PDF: a launch action, or a file embedded in it (an attachment of the
    document, or of one of its pages' annotations) that is a program or holds one.

    Read with pypdf rather than by looking for "/Launch" and "/EmbeddedFile" in the bytes: a
    PDF may keep its objects, file specifications and actions included, in compressed object
    streams, write a name with escapes (/L#61unch is /Launch), and give a file's name as a hex
    or UTF-16 string; a byte scan would see none of these, and decompressing and decoding them
    is writing a PDF reader. Every object the cross-reference lists whose text has one of the
    keys a danger needs is looked at, whether or not the pages refer to it, as a reader may
    follow a reference from anywhere; reading every object of a large PDF would be slow."""
    try:
        with pypdf.apply_configuration(**PDF_LIMITS):
            reader = _AttachedPdfReader(io.BytesIO(content))
            if reader.is_encrypted:
                # Names are not encrypted; file names, embedded files and object streams are,
                # and a PDF that opens without a password is decrypted with the empty one.
                reader.decrypt("")
            packed = _object_streams(reader, unpack_left)
            for found in _pdf_objects(reader, content, packed):
                danger = _danger_in_pdf_object(where, found, depth, unpack_left)
                if danger:
                    return danger
    except Exception:  # hostile input makes any parser raise anything; see the module's doc
        return None
    return None


# Where an object's text begins: its number and generation and "obj", after white space, as
# pypdf looks for one the cross-reference misplaces.
PDF_OBJECT_HEADER = re.compile(rb"\s(\d+)\s+(\d+)\s+obj")


class _AttachedPdfReader(pypdf.PdfReader):
    """pypdf's reader, but finding the objects the cross-reference misplaces (its offset
    pointing at another object) or leaves out in one pass over the file, as pypdf's repair of a
    damaged cross-reference does. pypdf itself looks for each such object through the whole
    file, copying it first, every time one is asked for: a PDF of a few megabytes listing
    thousands of misplaced objects, or of object streams it does not have, kept an email or an
    agent's upload waiting for minutes. An object found nowhere is not read (None), as pypdf
    gives nothing for one it cannot find."""

    _object_headers: dict[tuple[int, int], int] | None = None

    def get_object(self, indirect_reference: int | IndirectObject):
        if isinstance(indirect_reference, int):
            indirect_reference = IndirectObject(indirect_reference, 0, self)
        number, generation = indirect_reference.idnum, indirect_reference.generation
        if not self._placed(number, generation):
            found = self._headers().get((number, generation))
            if found is None:
                return None
            self.xref.setdefault(generation, {})[number] = found
        return super().get_object(indirect_reference)

    def _placed(self, number: int, generation: int) -> bool:
        """Whether pypdf reads this object without looking through the file for it: already
        read, in an object stream (whose own stream is asked for in turn), free, or where the
        cross-reference says it begins."""
        if (generation, number) in self.resolved_objects:
            return True
        if generation == 0 and number in self.xref_objStm:
            return True
        if self.xref_free_entry.get(generation, {}).get(number, False):
            return True
        offset = self.xref.get(generation, {}).get(number)
        if offset is None:
            return False
        self.stream.seek(offset)
        try:
            return self.read_object_header(self.stream) == (number, generation)
        except Exception:  # not a header: see the module's docstring
            return False

    def _headers(self) -> dict[tuple[int, int], int]:
        """Where each object's text begins, the first of that number and generation (as
        pypdf's own search finds), read once."""
        if self._object_headers is None:
            self._object_headers = {}
            for match in PDF_OBJECT_HEADER.finditer(self.stream.getvalue()):
                key = (int(match[1]), int(match[2]))
                self._object_headers.setdefault(key, match.start() + 1)
        return self._object_headers


def _object_streams(reader: pypdf.PdfReader, unpack_left: list[int]) -> dict[int, bytes]:
    """The unpacked object streams of a PDF by their object numbers, charged to
    ``unpack_left`` (those past it are left packed: the objects in them are then not read)."""
    unpacked = {}
    for stream_number in sorted({at for at, _index in reader.xref_objStm.values()}):
        if unpack_left[0] <= 0:
            break
        stream = _resolved(reader, IndirectObject(stream_number, 0, reader))
        if isinstance(stream, StreamObject):
            unpacked[stream_number] = stream.get_data()
            unpack_left[0] -= len(unpacked[stream_number])
    return unpacked


def _pdf_objects(
    reader: pypdf.PdfReader, content: bytes, unpacked: dict[int, bytes]
) -> Iterator[object]:
    """The objects of a PDF whose text has one of :data:`PDF_DANGER_KEYS`, up to
    :data:`PDF_OBJECTS_LOOKED_AT`, those in the object streams that were unpacked included."""
    located = sorted(
        (offset, number, generation)
        for generation, numbers in reader.xref.items()
        for number, offset in numbers.items()
    )
    ends = [offset for offset, _number, _generation in located[1:]] + [len(content)]
    references = [
        IndirectObject(number, generation, reader)
        for (offset, number, generation), end in zip(located, ends, strict=True)
        if PDF_DANGER_KEYS.search(content, offset, end)
    ]
    looked_at = 0
    for reference in references[:PDF_OBJECTS_LOOKED_AT]:
        looked_at += 1
        yield _resolved(reader, reference)
    for stream_number, text in unpacked.items():
        for packed in _packed_with_keys(reader, stream_number, text):
            looked_at += 1
            if looked_at > PDF_OBJECTS_LOOKED_AT:
                return
            yield packed


def _packed_with_keys(reader: pypdf.PdfReader, stream_number: int, text: bytes) -> Iterator:
    """The objects of an object stream whose text has one of the keys. The stream begins with
    each object's number and where its text starts after /First; each is read from its text,
    as pypdf, asked for one, would read all the stream's."""
    try:
        first = int(reader.get_object(stream_number)["/First"])
        header = [int(value) for value in text[:first].split()]
    except Exception:  # a damaged header: pypdf cannot read the objects either
        return
    located = sorted(zip(header[1::2], header[0::2], strict=False))
    ends = [offset for offset, _number in located[1:]] + [len(text) - first]
    for (offset, number), end in zip(located, ends, strict=True):
        current = reader.xref_objStm.get(number, (None,))[0] == stream_number
        if current and PDF_DANGER_KEYS.search(text, first + offset, first + end):
            yield _read(reader, text[first + offset : first + end])


def _read(reader: pypdf.PdfReader, text: bytes) -> object:
    try:
        return read_object(io.BytesIO(text), reader)
    except Exception:  # one damaged object does not hide the others
        return None


def _resolved(reader: pypdf.PdfReader, reference: IndirectObject) -> object:
    try:
        return reader.get_object(reference)
    except Exception:  # one damaged object does not hide the others
        return None


def _danger_in_pdf_object(where: str, found: object, depth: int, unpack_left: list[int]):
    """The danger in an object and the dictionaries and arrays written inside it (an
    annotation's action is often one); the objects it refers to are looked at on their own."""
    pending, seen = [found], 0
    while pending and seen < 100_000:
        item, seen = pending.pop(), seen + 1
        if isinstance(item, ArrayObject):
            pending.extend(v for v in item if not isinstance(v, IndirectObject))
            continue
        if not isinstance(item, DictionaryObject):
            continue
        action = item.get("/S")
        if isinstance(action, IndirectObject):
            action = _resolved(action.pdf, action)
        if action == "/Launch":
            return Danger(where, Hazard.LAUNCH_ACTION)
        embedded = item.get("/EF")
        if embedded is not None:
            danger = _danger_in_embedded_file(where, item, embedded, depth, unpack_left)
            if danger:
                return danger
        pending.extend(
            v for k, v in item.items() if k != "/EF" and not isinstance(v, IndirectObject)
        )
    return None


def _danger_in_embedded_file(
    where: str, specification: DictionaryObject, embedded, depth: int, unpack_left: list[int]
) -> Danger | None:
    """The danger of a file a PDF embeds: its file specification gives the name (/UF, the
    Unicode one, or /F) and its /EF dictionary the stream of its bytes."""
    names = [str(specification.get(key, "")) for key in ("/UF", "/F")]
    named = next((n for n in names if is_program(n)), next((n for n in names if n), "?"))
    data = _embedded_bytes(embedded, unpack_left)
    if data is None:  # only its name is judged
        return _danger_in_file(where, named, b"", 0, unpack_left)
    return _danger_in_file(where, named, data, depth - 1, unpack_left)


def _embedded_bytes(embedded, unpack_left: list[int]) -> bytes | None:
    """The bytes of an embedded file, from its /EF dictionary, charged to ``unpack_left``; None
    when they are past it, larger unpacked than an attachment may be (pypdf stops there), or
    damaged, so that such a file does not keep the files after it from being looked at."""
    if unpack_left[0] <= 0:
        return None
    try:
        embedded = embedded.get_object()
        streams = [embedded.get(key) for key in ("/UF", "/F")]
        stream = next((s.get_object() for s in streams if s is not None), None)
        data = stream.get_data()
    except Exception:  # see the module's docstring
        return None
    unpack_left[0] -= len(data)
    return data
