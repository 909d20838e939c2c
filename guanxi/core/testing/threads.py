"""Helpers for tests that run writers at the same time, each on a thread of its own and so on a
connection of its own (real concurrency needs PostgreSQL; SQLite has one writer at a time)."""

import threading
import time
import traceback

from django.db import connection, transaction


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
    return sessions_waiting_for_a_lock() > 0


def sessions_waiting_for_a_lock() -> int:
    """How many sessions of the test database wait for a lock (PostgreSQL)."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL shows the sessions as they were at the first look,
        # until told to look again: without this, a test polling from inside its transaction
        # never saw a session that began waiting after that first look.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_until(condition, seconds: float = 30) -> bool:
    """Whether ``condition()`` came true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


class Hold:
    """A point where a writer stops, holding whatever it has locked so far, until the test lets
    it go: the writer calls :meth:`here`, the test waits for ``reached`` and sets ``go``."""

    def __init__(self):
        self.reached = threading.Event()
        self.go = threading.Event()

    def here(self) -> None:
        self.reached.set()
        assert self.go.wait(30), "the held writer was never let go"


def hold_before(monkeypatch, owner, name: str, *, thread: str) -> Hold:
    """Make ``owner.name`` (a function of a module) stop at a :class:`Hold` before it runs when
    it is called on the thread named ``thread``; called on any other thread it runs at once."""
    hold = Hold()
    original = getattr(owner, name)

    def held_on_that_thread(*args, **kwargs):
        if threading.current_thread().name == thread:
            hold.here()
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, held_on_that_thread)
    return hold


def hold_after_first(monkeypatch, owner, name: str, *, thread: str) -> Hold:
    """Make ``owner.name`` (a function of a module) stop at a :class:`Hold` once its first call
    on the thread named ``thread`` has returned, holding whatever it locked (the first of the
    rows a writer locks one by one); its later calls, and those on any other thread, run at
    once."""
    hold = Hold()
    original = getattr(owner, name)

    def held_after_it_on_that_thread(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.current_thread().name == thread and not hold.reached.is_set():
            hold.here()
        return result

    monkeypatch.setattr(owner, name, held_after_it_on_that_thread)
    return hold


def second_waits_for_first(
    first,
    second,
    hold: Hold,
    *,
    names: tuple[str, str] = ("first", "second"),
    seconds: float = 30,
    or_finishes: bool = False,
) -> dict:
    """Run ``first`` on a thread of its own until it reaches ``hold``, then ``second`` on
    another, and check that ``second`` waits for a lock (PostgreSQL) while ``first`` is held
    (with ``or_finishes``, or finishes without waiting: for a test of what the two end with,
    whichever order they take); then let ``first`` go. Returns both outcomes, under ``names``,
    as :func:`in_thread` records them, once both have finished."""
    first_name, second_name = names
    results: dict = {}
    threads = [in_thread(first, results, first_name)]
    try:
        assert hold.reached.wait(30), f"{first_name} did not get as far as where it is held"
        threads.append(in_thread(second, results, second_name))
        if or_finishes:
            waited = wait_until(lambda: waiting_for_a_lock() or second_name in results, seconds)
            assert waited, f"{second_name} neither waited for {first_name} nor finished"
        else:
            waited = wait_until(waiting_for_a_lock, seconds)
            assert waited, f"{second_name} did not wait for {first_name}"
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(60)
    return results


def locking_in_id_order(model, ids: list[int], hold: Hold):
    """A writer locking the rows ``ids`` of ``model`` one by one in ascending id order, held
    once it has the first: the order every writer is to lock rows in, for a test that another
    writer's locks never come the other way round."""

    def write():
        with transaction.atomic():
            for number, pk in enumerate(sorted(ids)):
                model.objects.select_for_update().get(pk=pk)
                if number == 0:
                    hold.here()
        return ids

    return write
