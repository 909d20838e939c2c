"""Office documents, OLE compound files and PDFs made for the tests, byte by byte, so that each
test shows what it is about (an object packaging invoice.exe, a launch action) and nothing
comes from outside."""

import io
import struct
import zipfile
import zlib

SECTOR = 512
FREE, END_OF_CHAIN, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
# Streams smaller than this live in the mini stream, which this writer does not write.
MINI_STREAM_CUTOFF = 4096


def windows_program() -> bytes:
    """The start of a Windows program: "MZ", and where the header says, "PE\\0\\0"."""
    head = bytearray(b"MZ" + b"\0" * 0x7E)
    head[0x3C:0x40] = (0x80).to_bytes(4, "little")
    return bytes(head) + b"PE\0\0" + b"\0" * 200


def ole(*entries: tuple[str, bytes | None]) -> bytes:
    """An OLE compound file (version 3) holding these streams (bytes) and empty storages (None)
    under its root. A stream is padded to the mini stream's cutoff so that it lives in
    ordinary sectors; what follows a stream's own content is not read by what it holds."""
    streams = [
        (data + bytes(max(0, MINI_STREAM_CUTOFF - len(data)))) if data is not None else None
        for _name, data in entries
    ]
    directory_sectors = -(-(len(entries) + 1) // 4)
    next_sector = 1 + directory_sectors
    fat = [FAT_SECTOR, *_chain(1, directory_sectors)]
    starts = []
    for data in streams:
        if data is None:
            starts.append(0)
            continue
        count = -(-len(data) // SECTOR)
        starts.append(next_sector)
        fat += _chain(next_sector, count)
        next_sector += count
    assert len(fat) <= SECTOR // 4, "one FAT sector is enough for the tests' files"
    fat += [FREE] * (SECTOR // 4 - len(fat))

    directory = _directory_entry("Root Entry", 5, child=1, start=END_OF_CHAIN, size=0)
    for index, ((name, _data), data, start) in enumerate(
        zip(entries, streams, starts, strict=True), 1
    ):
        sibling = index + 1 if index < len(entries) else NO_STREAM
        if data is None:
            directory += _directory_entry(name, 1, right=sibling, start=0, size=0)
        else:
            directory += _directory_entry(name, 2, right=sibling, start=start, size=len(data))
    directory += b"".join(
        _directory_entry("", 0, start=0, size=0)
        for _unused in range(directory_sectors * 4 - len(entries) - 1)
    )
    body = b"".join(_padded(data) for data in streams if data is not None)
    # The FAT is sector 0, the directory from sector 1.
    return _header(fat_sectors=1) + struct.pack(f"<{SECTOR // 4}L", *fat) + directory + body


def _header(*, fat_sectors: int) -> bytes:
    """The header of a version 3 compound file whose FAT takes its first ``fat_sectors``
    sectors, the directory starting right after them, with no mini FAT and no DIFAT sectors."""
    header = struct.pack(
        "<8s16sHHHHH6sLLLLLLLLL",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        bytes(6),
        0,
        fat_sectors,
        fat_sectors,  # the directory's first sector
        0,
        MINI_STREAM_CUTOFF,
        END_OF_CHAIN,  # no mini FAT
        0,
        END_OF_CHAIN,  # no DIFAT sectors
        0,
    )
    header += struct.pack(f"<{fat_sectors}L", *range(fat_sectors))
    return header + struct.pack("<L", FREE) * (109 - fat_sectors)


def _chain(first: int, count: int) -> list[int]:
    return [first + n + 1 for n in range(count - 1)] + [END_OF_CHAIN] if count else []


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % SECTOR)


def _directory_entry(
    name: str,
    kind: int,
    *,
    child=NO_STREAM,
    left=NO_STREAM,
    right=NO_STREAM,
    start: int,
    size: int,
) -> bytes:
    encoded = name.encode("utf-16-le")
    return struct.pack(
        "<64sHBBLLL16sL16sLQ",
        encoded,
        len(encoded) + 2 if name else 0,
        kind,
        1,  # black
        left,
        right,
        child,
        bytes(16),
        0,
        bytes(16),
        start,
        size,
    )


def ole_naming_one_stream(name: str, data: bytes, count: int) -> bytes:
    """An OLE compound file (version 3) whose root holds ``count`` directory entries of the
    stream ``name``, all of them the one stream ``data``: olefile reads a stream anew each time
    it is opened. The entries form a balanced tree, as olefile walks it recursively."""
    data = _padded(data + bytes(max(0, MINI_STREAM_CUTOFF - len(data))))
    data_sectors = len(data) // SECTOR
    directory_sectors = -(-(count + 1) // 4)
    fat_sectors = 1
    while fat_sectors * SECTOR // 4 < fat_sectors + directory_sectors + data_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109, "the header lists the FAT's sectors"
    data_start = fat_sectors + directory_sectors
    fat = [FAT_SECTOR] * fat_sectors
    fat += _chain(fat_sectors, directory_sectors) + _chain(data_start, data_sectors)
    fat += [FREE] * (fat_sectors * SECTOR // 4 - len(fat))
    entries: dict[int, bytes] = {}

    def subtree(low: int, high: int) -> int:
        if low > high:
            return NO_STREAM
        middle = (low + high) // 2
        entries[middle] = _directory_entry(
            name,
            2,
            left=subtree(low, middle - 1),
            right=subtree(middle + 1, high),
            start=data_start,
            size=len(data),
        )
        return middle

    root_child = subtree(1, count)
    directory = _directory_entry("Root Entry", 5, child=root_child, start=END_OF_CHAIN, size=0)
    directory += b"".join(entries[index] for index in range(1, count + 1))
    directory += _directory_entry("", 0, start=0, size=0) * (directory_sectors * 4 - count - 1)
    return _header(fat_sectors=fat_sectors) + struct.pack(f"<{len(fat)}L", *fat) + directory + data


def package(label: str, data: bytes, *, temporary_path: str | None = None) -> bytes:
    """The Ole10Native stream of an OLE Package object carrying the file ``label`` (packaged
    from C:\\Users\\li\\ and written, when opened, to ``temporary_path``)."""
    temporary = (temporary_path or f"C:\\Users\\li\\AppData\\Local\\Temp\\{label}").encode("gbk")
    body = (
        b"\x02\x00"
        + label.encode("gbk")
        + b"\0"
        + f"C:\\Users\\li\\{label}".encode("gbk")
        + b"\0"
        + b"\x00\x00\x03\x00"
        + (len(temporary) + 1).to_bytes(4, "little")
        + temporary
        + b"\0"
        + len(data).to_bytes(4, "little")
        + data
    )
    return len(body).to_bytes(4, "little") + body


def packaged_object(label: str, data: bytes, **kwargs) -> bytes:
    """An embedded object file (word/embeddings/oleObject1.bin) of a Package object."""
    return ole(("\x01Ole10Native", package(label, data, **kwargs)), ("\x01CompObj", b"\1"))


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
    b"</Types>"
)


def zip_archive(*members: tuple[str, bytes]) -> bytes:
    """A zip archive of these entries, by name and content, in this order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def office_document(*parts: tuple[str, bytes], folder: str = "word") -> bytes:
    """An Office Open XML document (a zip with its content types and a main part) with these
    parts besides."""
    return zip_archive(
        ("[Content_Types].xml", CONTENT_TYPES),
        (f"{folder}/document.xml", b"<document>Quotation</document>"),
        *parts,
    )


def pdf(*objects: bytes, packed: tuple[int, ...] = ()) -> bytes:
    """A PDF of these objects, numbered from 1, the first being its catalogue. Those numbered
    in ``packed`` are written compressed in an object stream with a cross-reference stream,
    as PDF 1.5 writers do: nothing of them shows in the file's bytes."""
    index_in_stream = {number: index for index, number in enumerate(packed)}
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in enumerate(objects, 1):
        if number not in index_in_stream:
            offsets[number] = out.tell()
            out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    if not packed:
        xref_at = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        for number in range(1, len(objects) + 1):
            out.write(b"%010d 00000 n \n" % offsets[number])
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
        out.write(b"startxref\n%d\n%%%%EOF\n" % xref_at)
        return out.getvalue()
    stream_number, xref_number = len(objects) + 1, len(objects) + 2
    header, body, length = [], [], 0
    for number in packed:
        header.append(b"%d %d " % (number, length))
        body.append(objects[number - 1] + b"\n")
        length += len(body[-1])
    header, body = b"".join(header), b"".join(body)
    compressed = zlib.compress(header + body)
    offsets[stream_number] = out.tell()
    out.write(
        b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
        % (stream_number, len(packed), len(header), len(compressed))
    )
    out.write(b"stream\n" + compressed + b"\nendstream\nendobj\n")
    offsets[xref_number] = out.tell()
    rows = [b"\0" + bytes(4) + b"\xff\xff"]
    for number in range(1, xref_number + 1):
        if number in index_in_stream:
            index = index_in_stream[number].to_bytes(2, "big")
            rows.append(b"\2" + stream_number.to_bytes(4, "big") + index)
        else:
            rows.append(b"\1" + offsets[number].to_bytes(4, "big") + bytes(2))
    table = b"".join(rows)
    out.write(
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\n"
        % (xref_number, xref_number + 1, len(table))
    )
    out.write(b"stream\n" + table + b"\nendstream\nendobj\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number])
    return out.getvalue()


def pdf_stream(dictionary: bytes, data: bytes, *, compressed: bool = False) -> bytes:
    if compressed:
        data = zlib.compress(data)
        dictionary += b" /Filter /FlateDecode"
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


PAGES = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)


def pdf_with_attachment(
    name: bytes, data: bytes, *, packed: tuple[int, ...] = (), compressed: bool = False
) -> bytes:
    """A one-page PDF embedding a file named by the PDF string ``name`` ("(setup.exe)" or
    "<FEFF...>") in its document-level attachments."""
    return pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [%s 4 0 R] >> >> >>"
        % name,
        *PAGES,
        b"<< /Type /Filespec /F %s /UF %s /EF << /F 5 0 R >> >>" % (name, name),
        pdf_stream(b"/Type /EmbeddedFile", data, compressed=compressed),
        packed=packed,
    )
