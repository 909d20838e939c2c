"""The process that writes a long export's rows (see ``exports._SheetRows``) lives and dies with
the export: it is forked only where forking is safe and the export is long, it stops when the
export stops it even in a process that handles SIGTERM itself, and it does not outlive an export
process that was killed."""

import datetime as dt
import multiprocessing
import os
import signal
import threading
import time

import pytest
from openpyxl import Workbook

from guanxi.customers import exports

# Every fork of this process from here on, the writer's included: a real count, not a stand-in.
FORKS: list[int] = []
os.register_at_fork(before=lambda: FORKS.append(os.getpid()))


def record(number: int) -> tuple:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    values = {"id": number, "name": f"Customer {number}", "created_at": moment}
    values["updated_at"] = moment
    return tuple(values.get(column) for column in exports.EXPORT_COLUMNS)


def sheet_rows() -> exports._SheetRows:
    return exports._SheetRows(Workbook(write_only=True).create_sheet())


def dates() -> exports._Dates:
    return exports._Dates(1)


def ended(pid: int, *, within: float) -> bool:
    """Whether process ``pid`` (not a child of this one) has ended, waiting up to ``within``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def forking(monkeypatch, settings):
    if not exports._FORK:
        pytest.skip("processes cannot be forked here")
    monkeypatch.setattr(exports, "_ROWS_BATCH", 2)
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 0


def test_a_list_the_web_exports_while_the_user_waits_is_not_forked(monkeypatch, settings):
    # The web writes a list of at most GUANXI_EXPORT_BACKGROUND_ROWS customers itself; the
    # last of them, however the batches fall, is still one it writes (the header is a row of
    # the sheet, not a customer).
    monkeypatch.setattr(exports, "_ROWS_BATCH", 1)
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 3
    rows = sheet_rows()
    FORKS.clear()
    try:
        for number in range(1, 4):
            rows.append(record(number), dates())
        rows.finish()
    finally:
        rows.close()
        rows.file.close()
    assert FORKS == []


def test_rows_appended_in_a_thread_other_than_the_main_one_are_not_forked(forking):
    # The web's server answers requests in threads, where another thread may hold a lock the
    # copy would wait for for ever: a list found short that has grown by the time it is
    # exported is still written in the web's own process.
    rows = sheet_rows()
    FORKS.clear()

    def export():
        for number in range(1, 8):
            rows.append(record(number), dates())
        rows.finish()

    try:
        thread = threading.Thread(target=export)
        thread.start()
        thread.join()
    finally:
        rows.close()
        rows.file.close()
    assert FORKS == []


def test_a_failed_export_stops_its_writer_in_a_process_that_handles_sigterm(forking):
    # The background worker handles SIGTERM itself while it runs a task (it finishes the task
    # first); the writer forked from it must not, or stopping it would wait for ever.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    rows = sheet_rows()
    try:
        for number in range(1, 8):
            rows.append(record(number), dates())
        process, _connection = rows._writer
        stopping = threading.Thread(target=rows.close, daemon=True)
        stopping.start()
        stopping.join(timeout=10)
        stopped = not stopping.is_alive()
        if not stopped:
            os.kill(process.pid, signal.SIGKILL)
            stopping.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
        rows.close()
        rows.file.close()
    assert stopped
    assert not multiprocessing.active_children()


def export_then_wait(pids) -> None:
    """An export that has handed rows to its writer when it is killed."""
    rows = sheet_rows()
    for number in range(1, 8):
        rows.append(record(number), dates())
    pids.send(rows._writer[0].pid)
    time.sleep(60)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="a process's state is read in /proc")
def test_the_writer_of_an_export_that_was_killed_ends(forking):
    context = multiprocessing.get_context("fork")
    pids, export_end = context.Pipe(duplex=False)
    export = context.Process(target=export_then_wait, args=(export_end,))
    export.start()
    export_end.close()
    try:
        assert pids.poll(10)
        writer = pids.recv()
        export.kill()  # as the kernel ends a worker that ran out of memory
        export.join()
        writer_ended = ended(writer, within=10)
        if not writer_ended:
            os.kill(writer, signal.SIGKILL)
    finally:
        if export.is_alive():
            export.kill()
            export.join()
    assert writer_ended
