"""A merge of two customers held open half-way, for tests of what becomes of a write sent to one
of them meanwhile. Real concurrency needs PostgreSQL: each writer runs on a thread of its own,
and so on a connection of its own."""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection

from .threads import in_thread, wait_until, waiting_for_a_lock

# The marks of a module of these tests (``pytestmark = CONCURRENT``): the writers commit on
# connections of their own, so a test cannot be one transaction rolled back at its end; and on
# SQLite, which has one writer at a time, a writer never waits for a lock the merge holds.
CONCURRENT = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


class HeldMerge:
    """What :func:`merge_held` gives the block: ``beside`` starts a writer, and ``results``
    holds each one's outcome (``("ok", value)`` or ``("error", exception, traceback)``) under
    its key, the merge's included, once the block has ended."""

    def __init__(self):
        self.results: dict = {}
        self.threads: list[threading.Thread] = []

    def beside(self, work, key: str) -> None:
        """Run ``work`` on a thread of its own and wait until it waits for a lock the merge
        holds (so the test knows it came while the merge was under way, not after)."""
        self.threads.append(in_thread(work, self.results, key))
        assert wait_until(waiting_for_a_lock), f"{key} did not wait for the merge"


@contextmanager
def merge_held(
    monkeypatch,
    *,
    actor,
    survivor_id: int,
    merged_id: int,
    key: str = "merge",
    before: str = "_settle_pairs",
):
    """Merge ``merged_id`` into ``survivor_id`` on a thread of its own, and hold the merge
    until the block ends just before it calls its step ``before`` (a function of
    ``guanxi.dedup.services``; by default once it has moved the related rows, holding both
    customers, before it settles their duplicate pairs); then let it finish, and wait for it
    and for every writer the block started with :meth:`HeldMerge.beside`."""
    from guanxi.dedup import services as merging

    paused, go = threading.Event(), threading.Event()
    step = getattr(merging, before)

    def step_when_told(*args, **kwargs):
        paused.set()
        go.wait(30)
        return step(*args, **kwargs)

    monkeypatch.setattr(merging, before, step_when_told)
    held = HeldMerge()
    merge = in_thread(
        lambda: merging.customers_merge(actor=actor, survivor_id=survivor_id, merged_id=merged_id),
        held.results,
        key,
    )
    try:
        assert paused.wait(30), "the merge did not get half-way"
        yield held
    finally:
        go.set()
        merge.join(60)
        for thread in held.threads:
            thread.join(60)


def customers_to_merge(actor, data: dict, other_data: dict | None = None):
    """Two customers, ``(kept, other)``, created in that order by ``actor`` from ``data`` (the
    other from ``other_data`` when given), for a test to merge the other into the kept one."""
    from guanxi.customers.services import customer_create

    kept = customer_create(actor=actor, data=data)
    other = customer_create(actor=actor, data=data if other_data is None else other_data)
    return kept, other


def write_while_merging(
    monkeypatch, write, *, actor, kept, other, key: str = "write", before: str = "_settle_pairs"
) -> dict:
    """Merge ``other`` into ``kept`` held as :func:`merge_held` holds it, run ``write`` beside
    it under ``key``, and return the outcomes once the merge has finished, which it must have
    done without error for the test to be about the write."""
    with merge_held(
        monkeypatch, actor=actor, survivor_id=kept.pk, merged_id=other.pk, before=before
    ) as merge:
        merge.beside(write, key)
    assert merge.results["merge"][0] == "ok", merge.results["merge"][-1]
    return merge.results
