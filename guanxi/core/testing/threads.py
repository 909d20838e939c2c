"""Helpers for tests that run writers at the same time, each on a thread of its own and so on a
connection of its own (real concurrency needs PostgreSQL; SQLite has one writer at a time)."""

import threading
import time
import traceback

from django.db import connection


def in_thread(target, results: dict, key: str) -> threading.Thread:
    """Start ``target`` on a thread of its own; its outcome goes to ``results[key]``:
    ``("ok", value)`` or ``("error", exception, traceback)``."""

    def run():
        try:
            results[key] = ("ok", target())
        except BaseException as error:  # whatever it is, the test reports it
            results[key] = ("error", error, traceback.format_exc())
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=key)
    thread.start()
    return thread


def waiting_for_a_lock() -> bool:
    """Whether some session of the test database waits for a lock (PostgreSQL)."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL shows the sessions as they were at the first look,
        # until told to look again: without this, a test polling from inside its transaction
        # never saw a session that began waiting after that first look.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def wait_until(condition, seconds: float = 30) -> bool:
    """Whether ``condition()`` came true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
