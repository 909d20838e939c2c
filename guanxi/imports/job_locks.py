"""The lock a process holds for as long as it runs an import job.

A job's status alone cannot say whether anyone is running it: a worker killed by the out-of-memory
killer or a reboot leaves its job "running" with nobody behind it. So whoever runs a job also
holds this lock for the whole run, and the operating system or the database lets go of it however
the process ends:

- on PostgreSQL a session advisory lock (``pg_try_advisory_lock(JOB_LOCK_CLASS, job id)``), which
  the server drops when the connection closes, a killed process's included (and, through the
  TCP keepalives the settings ask for, within minutes of its machine vanishing). It is taken on
  the connection that runs the import, outside any transaction's scope (a rolled-back batch
  keeps it). A connection pooler in transaction mode would break this, as it breaks session locks;
- on SQLite (one machine, the database's own file) a ``flock`` on a file beside the database,
  which the kernel drops when the process ends. An in-memory database (the test suite's) lives
  in one process only, so a lock inside the process is enough there, and also where ``fcntl`` is
  missing (Windows).

A job that says "running" while its lock is free was abandoned, and may be taken over.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connection

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

# The first key of the two-key advisory locks held by import runners ("IMPJ"); the project's
# other two-key locks have first keys of their own, and its one-key (bigint) locks a key space
# of their own.
JOB_LOCK_CLASS = 0x494D504A

# Checking whether a lock is free takes it for a moment (SQLite), and a runner killed a moment
# ago may still hold its connection (PostgreSQL): a runner tries for this long before it gives up.
ACQUIRE_SECONDS = 1.0


class JobLockBusy(Exception):
    """Another process (or thread) runs this job."""


_held_here: set[tuple[str, int]] = set()
_held_here_guard = threading.Lock()


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _lock_file(job_id: int) -> Path | None:
    """The file to ``flock`` for a job, or None where a lock inside the process will do."""
    if fcntl is None or connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    database = Path(connection.settings_dict["NAME"]).resolve()
    directory = database.with_name(database.name + ".locks")
    directory.mkdir(exist_ok=True)
    return directory / f"import-{job_id}.lock"


def _process_key(job_id: int) -> tuple[str, int]:
    return (str(connection.settings_dict["NAME"]), job_id)


def _try_lock(job_id: int):
    """Take the job's lock without waiting: a release function, or None when it is held."""
    if _is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LOCK_CLASS, job_id])
            if not cursor.fetchone()[0]:
                return None

        def release() -> None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LOCK_CLASS, job_id])
            except DatabaseError:
                # A lock that cannot be let go of must not outlive the run: closing the
                # session drops it.
                connection.close()

        return release
    path = _lock_file(job_id)
    if path is not None:
        handle = path.open("a")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None

        def release() -> None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

        return release
    key = _process_key(job_id)
    with _held_here_guard:
        if key in _held_here:
            return None
        _held_here.add(key)

    def release() -> None:
        with _held_here_guard:
            _held_here.discard(key)

    return release


@contextmanager
def job_lock(job_id: int, *, wait: float = ACQUIRE_SECONDS) -> Iterator[None]:
    """Hold the job's lock for the block, trying for ``wait`` seconds; else ``JobLockBusy``."""
    deadline = time.monotonic() + wait
    while (release := _try_lock(job_id)) is None:
        if time.monotonic() >= deadline:
            raise JobLockBusy(job_id)
        time.sleep(0.05)
    try:
        yield
    finally:
        release()


def job_runner_present(job_id: int) -> bool:
    """Whether some process holds the job's lock, that is runs it now."""
    if _is_postgresql():
        # Read from pg_locks rather than by taking the lock, which would make a runner starting
        # at that moment wait.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 2)",
                [JOB_LOCK_CLASS, job_id],
            )
            return cursor.fetchone()[0]
    path = _lock_file(job_id)
    if path is not None:
        if not path.exists():
            return False
        with path.open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
    with _held_here_guard:
        return _process_key(job_id) in _held_here
