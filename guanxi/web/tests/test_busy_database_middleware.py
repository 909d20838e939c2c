"""A busy database met outside the view, by a middleware (the session read on the way in to find
who is signed in, the session saved on the way out), is answered 503 with Retry-After as one met
inside the view is, not with the 500 page of a fault. The locks are real: another connection,
on a thread of its own, holds the sessions table (SQLite's test database in memory answers at
once that the table is locked) or deadlocks with the request (PostgreSQL)."""

import logging
import threading

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)

BUSY = "The database is busy. Try again in a moment."
on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's table locks of its shared in-memory database"
)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a real deadlock needs PostgreSQL"
)


def _reset_link(user) -> str:
    return reverse(
        "accounts:password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        ],
    )


class SessionsHeld:
    """Another connection writing to the sessions table, its transaction open until the test
    lets it go: SQLite's shared in-memory test database refuses everyone else the table
    meanwhile."""

    def __enter__(self):
        self.holding = threading.Event()
        self.go = threading.Event()
        self.results: dict = {}

        def hold():
            with transaction.atomic():
                SessionStore().create()
                self.holding.set()
                assert self.go.wait(30)

        self.thread = in_thread(hold, self.results, "holder")
        assert self.holding.wait(30), self.results
        return self

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join(30)
        assert self.results["holder"][0] == "ok", self.results["holder"][-1]


def _assert_busy_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert BUSY in response.content.decode()


@on_sqlite
def test_a_signed_in_page_whose_session_cannot_be_read_is_a_503(company, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(company.rep)

    with caplog.at_level(logging.INFO), SessionsHeld():
        # Who is signed in is looked up in the session by a middleware, before any view.
        response = client.get("/customers/")

    _assert_busy_page(response)
    busy = [record for record in caplog.records if record.name == "guanxi.busy"]
    assert [(record.levelno, record.getMessage()) for record in busy] == [
        (
            logging.WARNING,
            "Database busy: GET /customers/: database table is locked: django_session",
        )
    ]
    assert client.get("/customers/").status_code == 200


@on_sqlite
def test_htmx_is_answered_with_the_sentence_when_a_middleware_meets_a_busy_database(company):
    client = Client(raise_request_exception=False)
    client.force_login(company.rep)

    with SessionsHeld():
        response = client.get("/customers/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    html = response.content.decode()
    assert 'id="page-alert" hx-swap-oob="innerHTML"' in html
    assert BUSY in html
    assert "<html" not in html


@on_sqlite
def test_a_session_that_cannot_be_saved_on_the_way_out_is_a_503(company):
    # Opening the link of a password reset keeps its token in the session, saved by a
    # middleware once the view has answered.
    client = Client(raise_request_exception=False)
    link = _reset_link(company.rep)

    with SessionsHeld():
        response = client.get(link)

    _assert_busy_page(response)
    assert "sessionid" not in response.cookies
    # Opened again, the link works.
    assert client.get(link).status_code == 302


@on_postgresql
def test_a_session_save_postgresql_picks_to_break_a_deadlock_is_a_503(company, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(company.rep)
    session_key = client.session.session_key
    link = _reset_link(company.rep)
    results: dict = {}
    # The request saves its session on the way out, holding the sessions table's row-exclusive
    # lock while it waits for the session's row, held here; asking then for the table in share
    # mode closes the circle. Waiting long before looking for a deadlock, this connection leaves
    # the request to be the one PostgreSQL fails.
    with caplog.at_level(logging.INFO), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL deadlock_timeout = '20s'")
        Session.objects.select_for_update().get(pk=session_key)
        page = in_thread(lambda: client.get(link), results, "page")
        assert wait_until(waiting_for_a_lock)
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE django_session IN SHARE MODE")
    page.join(30)

    assert results["page"][0] == "ok", results["page"][-1]
    _assert_busy_page(results["page"][1])
    # Not a fault, nor a session deleted, as Django would have logged it: a busy database,
    # once, in PostgreSQL's words.
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    busy = [record for record in caplog.records if record.name == "guanxi.busy"]
    assert [record.levelno for record in busy] == [logging.WARNING]
    assert busy[0].getMessage().startswith(f"Database busy: GET {link}: deadlock detected")


def test_any_other_fault_of_a_middleware_is_still_a_500(company, monkeypatch):
    def broken(self):
        raise RuntimeError("not a lock")

    client = Client(raise_request_exception=False)
    client.force_login(company.rep)
    monkeypatch.setattr(SessionStore, "load", broken)

    response = client.get("/customers/")

    assert response.status_code == 500
    assert BUSY not in response.content.decode()


def test_a_fault_met_while_handling_a_busy_database_is_still_a_logged_500(
    company, monkeypatch, caplog
):
    # Code that met lock contention and then failed at something else has a fault to fix,
    # which the busy page (not logged, "try again") would hide for good.
    def broken(self):
        try:
            raise OperationalError("database is locked")
        except OperationalError:
            raise RuntimeError("a fault of its own") from None

    client = Client(raise_request_exception=False)
    client.force_login(company.rep)
    monkeypatch.setattr(SessionStore, "load", broken)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/customers/")

    assert response.status_code == 500
    assert BUSY not in response.content.decode()
    assert any(
        record.exc_info and isinstance(record.exc_info[1], RuntimeError)
        for record in caplog.records
    )


def test_a_fault_of_a_middleware_under_the_api_is_a_logged_500_in_the_api_shape(
    company, monkeypatch, caplog
):
    # A signed-in browser's request to the API reads its session in a middleware (to speak
    # the user's language) before the API could answer the fault itself.
    def broken(self):
        raise RuntimeError("not a lock")

    client = Client(raise_request_exception=False)
    client.force_login(company.rep)
    monkeypatch.setattr(SessionStore, "load", broken)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/v1/customers")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Something went wrong on the server.", "errors": []}
    faults = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(faults) == 1
    assert isinstance(faults[0].exc_info[1], RuntimeError)


@pytest.mark.parametrize("signed_in", [False, True], ids=["a new session", "a session updated"])
def test_a_session_save_that_met_a_busy_database_is_not_logged_as_an_error(
    company, monkeypatch, caplog, signed_in
):
    # A new session failing to be saved reaches server_error; one that existed, bad_request,
    # after Django has turned it into "the session was deleted", which it was not. Neither is a
    # fault, and neither is logged as one: the log of errors is for faults.
    client = Client(raise_request_exception=False)
    if signed_in:
        client.force_login(company.rep)

    def busy(self, *args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(Session, "save", busy)

    with caplog.at_level(logging.INFO):
        response = client.get(_reset_link(company.rep))

    _assert_busy_page(response)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
