"""ZIP entries written from pieces deflated apart, so that the long part of an entry can be
compressed while it is being made (in another process, even), and the short parts around it
later.

Raw deflate streams can be joined when every one but the last ends on a byte boundary without
closing the stream (``Z_SYNC_FLUSH``), as pigz joins the pieces it compresses in parallel; the
entry's CRC-32 is the pieces' combined (:func:`crc32_combine`). Python's :mod:`zipfile` only
writes data it compresses itself, so :func:`write_deflated_entry` writes the entry's header and
data and records it in the archive as ``ZipFile.open(…, "w")`` does (Python 3.11's, which the
export tests read the result of with :mod:`zipfile` and openpyxl).
"""

import zipfile
import zlib
from typing import IO

# Bytes copied from a piece's file at a time.
_COPY = 1024 * 1024


class DeflatedPiece:
    """Bytes deflated as they are written, into ``file`` (only the compressed bytes are kept),
    with their CRC-32 and length. :meth:`end` ends the piece: ``last`` for the last piece of an
    entry, otherwise on a byte boundary so that another piece can follow."""

    def __init__(self, file: IO[bytes]):
        self.file = file
        self.crc = 0
        self.size = 0
        self.compressed_size = 0
        self.start = file.tell()
        self._compressor = zlib.compressobj(
            zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS
        )

    @classmethod
    def written(cls, file: IO[bytes], start: int, crc: int, size: int, compressed_size: int):
        """A piece another process wrote to ``file`` from ``start``, and ended."""
        piece = cls.__new__(cls)
        piece.file, piece.start, piece.crc, piece.size = file, start, crc, size
        piece.compressed_size, piece._compressor = compressed_size, None
        return piece

    def write(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self._put(self._compressor.compress(data))

    def end(self, *, last: bool) -> None:
        self._put(self._compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))

    def copy_to(self, output: IO[bytes]) -> None:
        self.file.seek(self.start)
        left = self.compressed_size
        while left:
            data = self.file.read(min(left, _COPY))
            if not data:
                raise RuntimeError("A deflated piece's file is shorter than what was written")
            output.write(data)
            left -= len(data)

    def _put(self, data: bytes) -> None:
        if data:
            self.file.write(data)
            self.compressed_size += len(data)


def deflated(data: bytes, *, last: bool, file: IO[bytes]) -> DeflatedPiece:
    """``data`` as a piece of its own, written to ``file``."""
    piece = DeflatedPiece(file)
    piece.write(data)
    piece.end(last=last)
    return piece


def write_deflated_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, pieces: list[DeflatedPiece]
) -> None:
    """Add ``entry`` to ``archive`` holding ``pieces`` one after the other, the last ended with
    ``last=True``. The header is written once, with the sizes and CRC known, and ZIP64 is used
    when :mod:`zipfile` would use it for an entry of that size given beforehand."""
    if archive._writing:
        raise ValueError("Another entry of the archive is being written")
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.flag_bits = 0
    if not entry.external_attr:
        entry.external_attr = 0o600 << 16  # as zipfile: ?rw-------
    entry.file_size = sum(piece.size for piece in pieces)
    entry.compress_size = sum(piece.compressed_size for piece in pieces)
    crc = 0
    for piece in pieces:
        crc = crc32_combine(crc, piece.crc, piece.size)
    entry.CRC = crc
    zip64 = entry.file_size * 1.05 > zipfile.ZIP64_LIMIT
    if zip64 and not archive._allowZip64:
        raise zipfile.LargeZipFile("Filesize would require ZIP64 extensions")
    if archive._seekable:
        archive.fp.seek(archive.start_dir)
    entry.header_offset = archive.fp.tell()
    archive._writecheck(entry)
    archive._didModify = True
    archive.fp.write(entry.FileHeader(zip64))
    for piece in pieces:
        piece.copy_to(archive.fp)
    archive.start_dir = archive.fp.tell()
    archive.filelist.append(entry)
    archive.NameToInfo[entry.filename] = entry


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of two byte strings one after the other, from the first's CRC, the second's
    and the second's length (zlib's ``crc32_combine``, which Python's zlib does not offer):
    the first CRC is carried through ``length2`` zero bytes by squaring the matrix of one zero
    bit over GF(2), in log2(length2) steps."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320]  # the CRC-32 polynomial: the operator for one zero bit
    row = 1
    for _ in range(1, 32):
        odd.append(row)
        row <<= 1
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)  # apply len2 zero bytes, bit by bit of len2
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    index = 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, column) for column in matrix]
