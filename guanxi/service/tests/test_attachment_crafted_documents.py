"""A PDF or an Office document made to keep the look through it busy: pypdf looking for each
object the cross-reference misplaces through the whole file, and olefile reading one stream
anew for each of thousands of entries naming it. Either kept an email or an agent's upload
waiting for minutes; each is looked through in a moment, and what such files hide is still
found."""

import time

from guanxi.service.dangerous_files import (
    MAX_ATTACHMENT_BYTES,
    UNPACKED_BYTES_LOOKED_AT,
    Danger,
    Hazard,
    danger_in,
)
from guanxi.service.tests.documents import (
    PAGES,
    ole_naming_one_stream,
    package,
    pdf,
    windows_program,
)

# A comment as long as a large scan's page, which pypdf's search for an object went through.
FILLER = b"%" + b"a" * 1_000_000 + b"\n"


def _pdf_placing(objects: list[tuple[int, bytes]], placed_at: list[int]) -> bytes:
    """A PDF of these objects (their numbers and texts, the first its catalogue) and then
    ``FILLER``, its cross-reference placing object n where the object ``placed_at[n - 1]``
    (counted from 1 in the order written) begins."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in objects:
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    out += FILLER
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(placed_at) + 1)
    for placed in placed_at:
        out += b"%010d 00000 n \n" % offsets[placed - 1]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(placed_at) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _looked_through(name: str, content: bytes) -> tuple[Danger | None, float]:
    started = time.process_time()
    found = danger_in(name, content)
    return found, time.process_time() - started


def test_a_pdf_misplacing_its_objects_is_looked_through_in_a_moment():
    """Every object the cross-reference lists after the catalogue is placed where an object of
    another number begins, each holding a key a danger needs: pypdf, asked for one, looked for
    it through the whole file, a thousand times over."""
    count = 1000
    objects = [(1, b"<< /Type /Catalog >>")] + [(count + n, b"<< /EF 1 >>") for n in range(count)]
    misplaced = _pdf_placing(objects, list(range(1, count + 2)))
    assert len(misplaced) < 2 * 1024 * 1024
    found, seconds = _looked_through("发票.pdf", misplaced)
    assert found is None
    assert seconds < 2


def test_a_pdf_listing_object_streams_it_does_not_have_is_looked_through_in_a_moment():
    """A cross-reference stream placing a thousand objects in a thousand object streams that
    are nowhere in the file: pypdf looked for each of them through the whole file."""
    count = 1000
    out = bytearray(b"%PDF-1.7\n")
    catalogue_at = len(out)
    out += b"1 0 obj\n<< /Type /Catalog >>\nendobj\n" + FILLER
    xref_at = len(out)
    rows = [b"\0" + bytes(4) + b"\xff\xff", b"\1" + catalogue_at.to_bytes(4, "big") + bytes(2)]
    rows.append(b"\1" + xref_at.to_bytes(4, "big") + bytes(2))
    # Object 3 + n in object stream 3 + count + n, which is free.
    rows += [b"\2" + (3 + count + n).to_bytes(4, "big") + bytes(2) for n in range(count)]
    rows += [b"\0" + bytes(6)] * count
    table = b"".join(rows)
    out += b"2 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\n" % (
        len(rows),
        len(table),
    )
    out += b"stream\n" + table + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    found, seconds = _looked_through("发票.pdf", bytes(out))
    assert found is None
    assert seconds < 2


def test_a_launch_action_the_cross_reference_misplaces_is_found():
    """The launch action's object is placed where the page begins; it is found where its own
    text is, as readers repairing the cross-reference find it."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        *PAGES,
        b"<< /Type /Action /S /Launch /F (cmd.exe) >>",
    ]
    misplaced = _pdf_placing(list(enumerate(bodies, 1)), [1, 2, 3, 3])
    assert danger_in("手册.pdf", misplaced) == Danger("手册.pdf", Hazard.LAUNCH_ACTION)
    # Placed where it is, it is found too.
    assert danger_in("手册.pdf", pdf(*bodies)) == Danger("手册.pdf", Hazard.LAUNCH_ACTION)


def test_an_office_object_naming_one_stream_thousands_of_times_is_looked_through_in_a_moment():
    """Two thousand entries of one package stream of 1 MB: olefile reads a stream anew each
    time it is opened, two gigabytes in all. What is read is charged to what the look may
    unpack, as a zip's entries are."""
    harmless = package("notes.txt", bytes(1_000_000))
    crafted = ole_naming_one_stream("\x01Ole10Native", harmless, 2000)
    assert len(crafted) < 2 * 1024 * 1024
    assert 2000 * len(harmless) > 40 * UNPACKED_BYTES_LOOKED_AT
    found, seconds = _looked_through("scan.doc", crafted)
    assert found is None
    assert seconds < 2


def test_a_program_packaged_in_an_object_is_still_found_within_what_may_be_unpacked():
    program = package("发票.pdf", windows_program() + bytes(MAX_ATTACHMENT_BYTES // 2))
    assert danger_in("scan.doc", ole_naming_one_stream("\x01Ole10Native", program, 3)) == Danger(
        "scan.doc: 发票.pdf", Hazard.PROGRAM
    )
