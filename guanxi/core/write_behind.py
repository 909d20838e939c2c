"""Writing a batch while the rest of it is still being computed.

A bulk job such as the importer alternates: Python builds a table's rows, PostgreSQL takes them
(COPY, index entries, triggers), Python builds the next table's rows. On two cores the database
server could be working while Python computes, but the job waits for every statement before it
computes the next rows. :class:`WriteBehind` hands the statements to a second thread, which runs
them one after another, in the order given, on the calling thread's own database connection —
so inside its transaction, which commits or rolls back everything as before. While that thread
waits for the server (psycopg and sqlite3 release the GIL then), the calling thread goes on.

The caller's side of the bargain:

* between the first :meth:`~WriteBehind.submit` and :meth:`~WriteBehind.wait`, the calling
  thread must not use the connection itself: its statements would interleave with the queued
  ones (reads that must see the queued writes come after ``wait``);
* what is passed to ``submit`` must not be changed afterwards;
* ``wait()`` (or leave the ``with`` block) before the transaction ends. The writer's first
  error is raised there, in the calling thread, so the transaction rolls back; after an error
  the remaining statements are skipped.

Each job runs in a copy of the submitter's context (``contextvars``: the audit log's request
origin, say) and in the submitter's language (Django keeps that per thread).
"""

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import translation


class WriteBehind:
    """``with WriteBehind() as writes: writes.submit(fn, *args); …; writes.wait()``."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS):
        self.using = using
        self._jobs: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "WriteBehind":
        self._connection = connections[self.using]
        self._connection.inc_thread_sharing()
        self._thread = threading.Thread(target=self._work, name="write-behind", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self._cancelled = True  # the caller failed: what is still queued is not wanted
        self._jobs.put(None)
        self._thread.join()
        self._connection.dec_thread_sharing()
        if exc_type is None:
            self._raise_error()

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``function(*args, **kwargs)`` to run after everything queued before it."""
        self._raise_error()
        job = (contextvars.copy_context(), translation.get_language(), function, args, kwargs)
        self._jobs.put(job)

    def wait(self) -> None:
        """Return when everything queued has run; raise the first error if something failed."""
        self._jobs.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        # This thread's ``connection`` is the caller's, for the functions that use the
        # module-level proxy.
        connections[self.using] = self._connection
        try:
            while True:
                job = self._jobs.get()
                try:
                    if job is None:
                        return
                    if self._error is None and not self._cancelled:
                        context, language, function, args, kwargs = job
                        context.run(_in_language, language, function, args, kwargs)
                except BaseException as error:  # raised again in the calling thread
                    self._error = error
                finally:
                    self._jobs.task_done()
        finally:
            # Forget the caller's connection here without closing it: it is not this thread's.
            del connections[self.using]


def _in_language(language: str | None, function: Callable[..., Any], args, kwargs) -> None:
    with translation.override(language):
        function(*args, **kwargs)
