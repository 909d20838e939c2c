"""A ZIP entry made of pieces deflated apart reads back as the pieces' bytes one after the
other, with the CRC and header zipfile would have written for the same bytes."""

import io
import os
import struct
import tempfile
import zipfile
import zlib

import pytest

from guanxi.core.deflated_entries import (
    DeflatedPiece,
    crc32_combine,
    deflated,
    write_deflated_entry,
)

HEAD = b'<?xml version="1.0"?><worksheet><sheetData>'
TAIL = b"</sheetData></worksheet>"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (b"", b""),
        (b"", b"x"),
        (b"abc", b""),
        (b"hello ", b"world"),
        (os.urandom(1000), os.urandom(123_457)),
        (b"\x00" * 70_000, os.urandom(1 << 20)),
    ],
)
def test_crc32_combine_is_the_crc_of_the_two_one_after_the_other(first, second):
    combined = crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
    assert combined == zlib.crc32(first + second)


def rows_piece(file, count: int) -> tuple[DeflatedPiece, bytes]:
    piece = DeflatedPiece(file)
    written = []
    for n in range(count):
        row = f'<row r="{n + 2}"><c><v>{n * 7919}</v></c></row>'.encode() * 3
        piece.write(row)
        written.append(row)
    piece.end(last=False)
    return piece, b"".join(written)


def test_pieces_deflated_apart_read_back_as_one_entry_among_others():
    with tempfile.TemporaryFile() as file:
        rows, rows_text = rows_piece(file, 5000)
        head = deflated(HEAD, last=False, file=file)
        tail = deflated(TAIL, last=True, file=file)
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("before.xml", b"<a/>")
            write_deflated_entry(archive, zipfile.ZipInfo("sheet.xml"), [head, rows, tail])
            archive.writestr("after.xml", b"<b/>")

    with zipfile.ZipFile(output) as archive:
        assert archive.testzip() is None  # every entry's CRC checked
        assert archive.namelist() == ["before.xml", "sheet.xml", "after.xml"]
        assert archive.read("sheet.xml") == HEAD + rows_text + TAIL
        assert archive.read("after.xml") == b"<b/>"
        info = archive.getinfo("sheet.xml")
        assert info.file_size == len(HEAD + rows_text + TAIL)
        assert info.compress_size < info.file_size // 5


def test_an_empty_piece_between_others_adds_nothing():
    with tempfile.TemporaryFile() as file:
        pieces = [
            deflated(HEAD, last=False, file=file),
            rows_piece(file, 0)[0],
            deflated(TAIL, last=True, file=file),
        ]
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w") as archive:
            write_deflated_entry(archive, zipfile.ZipInfo("sheet.xml"), pieces)
    with zipfile.ZipFile(output) as archive:
        assert archive.read("sheet.xml") == HEAD + TAIL


def local_header(archive_bytes: bytes, entry: zipfile.ZipInfo) -> tuple:
    """The fields of ``entry``'s local header, its compressed size (which depends on how the
    data was deflated) left out, and the length of its extra field (ZIP64's or none)."""
    start = entry.header_offset
    fields = struct.unpack(
        zipfile.structFileHeader, archive_bytes[start : start + zipfile.sizeFileHeader]
    )
    compressed_size_field = 8
    return fields[:compressed_size_field] + fields[compressed_size_field + 1 :]


def zipfile_entry(data: bytes, name: str, date_time) -> tuple[bytes, zipfile.ZipInfo]:
    """The archive zipfile writes itself of ``data``, the entry's size given beforehand as the
    export gave it before, and that entry."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", allowZip64=True) as archive:
        entry = zipfile.ZipInfo(name, date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.file_size = len(data)
        with archive.open(entry, "w") as stream:
            stream.write(data)
    return output.getvalue(), zipfile.ZipFile(output).getinfo(name)


@pytest.mark.parametrize("zip64_limit", [zipfile.ZIP64_LIMIT, 1000])
def test_the_entry_has_the_header_zipfile_gives_an_entry_of_that_size(monkeypatch, zip64_limit):
    # ZIP64 exactly when zipfile itself uses it for an entry of that size (the limit made small
    # here so that a test can cross it), and the same name, date, flags and CRC.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", zip64_limit)
    name, date_time = "xl/worksheets/sheet1.xml", (2026, 12, 6, 10, 0, 0)
    with tempfile.TemporaryFile() as file:
        rows, rows_text = rows_piece(file, 200)
        pieces = [
            deflated(HEAD, last=False, file=file),
            rows,
            deflated(TAIL, last=True, file=file),
        ]
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", allowZip64=True) as archive:
            write_deflated_entry(archive, zipfile.ZipInfo(name, date_time), pieces)
    data = HEAD + rows_text + TAIL
    expected_bytes, expected = zipfile_entry(data, name, date_time)
    written_bytes = output.getvalue()
    with zipfile.ZipFile(io.BytesIO(written_bytes)) as archive:
        written = archive.getinfo(name)
        assert archive.read(name) == data
    zip64 = len(data) * 1.05 > zip64_limit
    assert local_header(written_bytes, written) == local_header(expected_bytes, expected)
    extra_length = local_header(written_bytes, written)[-1]
    assert extra_length == (20 if zip64 else 0)
    for attribute in ("flag_bits", "external_attr", "extract_version", "CRC"):
        assert getattr(written, attribute) == getattr(expected, attribute), attribute
