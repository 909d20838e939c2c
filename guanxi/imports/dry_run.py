"""Where a dry run writes: on SQLite, a copy of the database made as it begins.

A dry run must count what the real import would: a later row of the file with the external id
of an earlier one is an update, the same person twice is a merge or a pair to review. So it runs
the real importer, which writes each batch and looks the next batch up in what it wrote, and
rolls everything back at the end. That takes one transaction for the whole file.

On PostgreSQL that is harmless: other sessions write beside it, and the batches' turn lock is
taken one batch at a time (``CustomerImporter._take_dry_run_turn``). On SQLite a transaction
that writes holds the database's one write lock to its end, so every other write (a rep saving
a customer) waited for the whole file, and after the 20-second busy timeout failed with
"database is locked".

SQLite cannot let go of the lock and keep the uncommitted rows, and committing them and undoing
them later would show them to everyone meanwhile. Counting without writing would need a second
importer that keeps in memory what the batches before wrote, and its counts could drift from
the real one's. So the dry run runs the same importer against a copy of the database instead,
made with SQLite's online backup API: the copy is a consistent snapshot (in WAL mode reading it
does not hold up writers), the dry run writes there and nobody waits for it, and the copy is
deleted at the end. What it costs: copying the whole database as the dry run starts (a fifth
of a second for 38 MB, 20,000 customers) and as much disk again beside it; and edits made by
others during the dry run are not seen by it, as they would not be had it run a moment earlier.
A dry run killed outright (``kill -9``, the out-of-memory killer, a power cut) leaves its copy
behind, in a directory named ``guanxi-dry-run-…`` beside the database; the next dry run removes
it (:func:`remove_abandoned_copies`). Whether a copy is abandoned is told by a lock, not by a
process id: each dry run holds a ``flock`` on a file in its directory, which the kernel lets go
of however the process ends, while a process id can be reused, or belong to another container
sharing the directory.

A request to stop the dry run is written to the real database by another connection, so the
check for it between batches (``cancelling``) reads there, through :func:`real_database`, not
in the copy, which never sees it. The dry run's progress, for its page, is written there the
same way (``progress``).
"""

import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections

try:
    import fcntl
except ImportError:  # Windows: copies left behind are not found, and stay until deleted
    fcntl = None

COPY_PREFIX = "guanxi-dry-run-"
# In a copy's directory, locked by the dry run using it for as long as it runs.
IN_USE = "in-use.lock"
# A directory without the lock file is one a dry run is making this instant, or one left by a
# version that took no lock (which could be running still): only the latter gets this old.
UNLOCKED_GRACE_SECONDS = 24 * 60 * 60

# This thread's connection to the real database while its default connection is to a copy.
_swapped = threading.local()


@contextmanager
def dry_run_database() -> Iterator[None]:
    """For the block, this thread's default connection is to a fresh copy of the database, on
    SQLite (elsewhere nothing changes). What the block writes is lost with the copy: the
    caller writes the dry run's outcome (the job's counts, its rejected rows) after it.

    Inside a transaction of the caller's (a test's, or a task run at once by the one that
    queued it), the write lock is held until that transaction ends whatever the dry run does,
    and the backup could not read through a connection with its own write open: the dry run
    then runs in it, as before."""
    original = connections[DEFAULT_DB_ALIAS]
    if original.vendor != "sqlite" or original.in_atomic_block:
        yield
        return
    if original.is_in_memory_db():
        place = None  # the test suite's database: the system's temporary directory
    else:
        # Beside the database: a disk sized for it, and as private as the database is.
        place = Path(original.settings_dict["NAME"]).resolve().parent
    remove_abandoned_copies(Path(place or tempfile.gettempdir()))
    with _copy_directory(place) as directory:
        path = directory / "copy.sqlite3"
        original.ensure_connection()
        target = sqlite3.connect(path)
        try:
            with original.wrap_database_errors:
                # One step (pages=-1): one read transaction, so a consistent copy however many
                # writes commit meanwhile.
                original.connection.backup(target)
        finally:
            target.close()
        options = dict(original.settings_dict.get("OPTIONS", {}))
        # Thrown away at the end: waiting for the disk at each commit would buy nothing.
        options["init_command"] = "PRAGMA synchronous=OFF;"
        copy = type(original)(
            {**original.settings_dict, "NAME": str(path), "OPTIONS": options},
            alias=DEFAULT_DB_ALIAS,
        )
        # Connections are per thread: only this thread (and the import's write-behind thread,
        # which borrows this thread's connection) sees the copy.
        connections[DEFAULT_DB_ALIAS] = copy
        _swapped.original = original
        try:
            yield
        finally:
            _swapped.original = None
            connections[DEFAULT_DB_ALIAS] = original
            copy.close()


@contextmanager
def _copy_directory(place: Path | None) -> Iterator[Path]:
    """A new directory for a copy, locked as in use until the block has ended and it is gone."""
    directory = Path(tempfile.mkdtemp(prefix=COPY_PREFIX, dir=place))
    handle = None
    try:
        if fcntl is not None:
            # Locked under another name and then renamed: a lock file that can be seen is
            # always held, so another dry run never finds it free in the moment between its
            # creation and its lock.
            handle = (directory / f"{IN_USE}.new").open("w")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            os.rename(directory / f"{IN_USE}.new", directory / IN_USE)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if handle is not None:
            handle.close()  # only now: the directory is gone


def remove_abandoned_copies(place: Path) -> list[Path]:
    """Delete the dry-run copies in ``place`` whose dry run no longer runs (its lock is free),
    and return them. A copy in use is never touched: its lock is taken without waiting, and
    held while it is deleted, so two dry runs starting together do not both delete it."""
    if fcntl is None:
        return []
    removed = []
    try:
        candidates = [
            entry
            for entry in place.iterdir()
            if entry.name.startswith(COPY_PREFIX) and entry.is_dir() and not entry.is_symlink()
        ]
    except OSError:  # a directory this process may not list
        return []
    for directory in candidates:
        try:
            handle = (directory / IN_USE).open("r")
        except FileNotFoundError:
            try:
                age = time.time() - directory.stat().st_mtime
            except OSError:
                continue
            if age > UNLOCKED_GRACE_SECONDS:
                shutil.rmtree(directory, ignore_errors=True)
                removed.append(directory)
            continue
        except OSError:  # another user's, say
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a dry run is using it
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


@contextmanager
def real_database() -> Iterator[None]:
    """For the block, this thread's default connection is to the real database again, also
    inside :func:`dry_run_database`: for reading what other connections write meanwhile (a
    request to stop). The real connection is not in a transaction there (see above), so a read
    sees what they have committed, and a write commits at once. Nothing the dry run imports may
    be written through it (the copy is where that goes): only the job's progress is."""
    original = getattr(_swapped, "original", None)
    if original is None:
        yield
        return
    copy = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = original
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = copy
