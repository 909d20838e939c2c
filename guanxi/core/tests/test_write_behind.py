import contextvars
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from guanxi.core.write_behind import WriteBehind
from guanxi.customers.models import Tag

pytestmark = pytest.mark.django_db

_request_origin = contextvars.ContextVar("request_origin", default="none")


def _tag(name: str) -> None:
    Tag.objects.create(name=name)


def test_writes_run_in_order_on_the_callers_connection_inside_its_transaction():
    seen = {}

    def look() -> None:
        seen["thread"] = threading.current_thread().name
        seen["connection"] = connection.connection  # the proxy resolves per thread
        seen["in_transaction"] = connection.in_atomic_block
        seen["tags"] = list(
            Tag.objects.filter(name__startswith="wb-").values_list("name", flat=True)
        )

    with transaction.atomic():
        with WriteBehind() as writes:
            writes.submit(_tag, "wb-first")
            writes.submit(_tag, "wb-second")
            writes.submit(look)
            writes.wait()
        assert seen["thread"] == "write-behind"
        assert seen["connection"] is connection.connection
        assert seen["in_transaction"] is True
        assert seen["tags"] == ["wb-first", "wb-second"]  # the earlier writes, seen in order
        assert set(Tag.objects.filter(name__startswith="wb-").values_list("name", flat=True)) == {
            "wb-first",
            "wb-second",
        }


def test_a_failed_write_is_raised_by_wait_skips_the_rest_and_rolls_the_transaction_back():
    Tag.objects.create(name="wb-taken")
    with pytest.raises(IntegrityError), transaction.atomic(), WriteBehind() as writes:
        writes.submit(_tag, "wb-before")
        writes.submit(_tag, "wb-taken")  # unique name: fails
        writes.submit(_tag, "wb-after")
        writes.wait()
    names = set(Tag.objects.filter(name__startswith="wb-").values_list("name", flat=True))
    assert names == {"wb-taken"}


def test_a_failed_write_is_raised_on_leaving_the_block_without_wait():
    Tag.objects.create(name="wb-taken")
    with pytest.raises(IntegrityError), transaction.atomic(), WriteBehind() as writes:
        writes.submit(_tag, "wb-taken")
    assert Tag.objects.filter(name="wb-taken").count() == 1


def test_an_error_in_the_caller_cancels_what_is_still_queued():
    started, release = threading.Event(), threading.Event()
    ran = []

    def slow() -> None:
        started.set()
        release.wait(timeout=10)
        ran.append("slow")

    with pytest.raises(KeyboardInterrupt), WriteBehind() as writes:
        writes.submit(slow)
        writes.submit(ran.append, "queued")
        assert started.wait(timeout=10)
        threading.Timer(0.2, release.set).start()
        raise KeyboardInterrupt  # Ctrl-C while the writes run
    assert ran == ["slow"]  # the one running finished; the queued one never ran


def test_jobs_see_the_submitters_context_and_language():
    seen = []
    token = _request_origin.set("web import")
    try:
        with translation.override("zh-hans"), WriteBehind() as writes:
            writes.submit(lambda: seen.append((_request_origin.get(), translation.get_language())))
            writes.wait()
    finally:
        _request_origin.reset(token)
    assert seen == [("web import", "zh-hans")]


def test_the_connection_is_the_callers_alone_again_afterwards():
    with WriteBehind() as writes:
        writes.submit(_tag, "wb-one")
    assert connection.allow_thread_sharing is False
    assert Tag.objects.filter(name="wb-one").exists()
