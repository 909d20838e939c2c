"""Every request answered "the database is busy" (503, Retry-After), a page or the API, met by a
view or by a middleware, is logged once as a warning on ``guanxi.busy``, with its method, its
path and what the database said: operators see how often the database is too busy, and the
log of errors, which is for faults, never has it (Django would log a view's 503 there as
"Service Unavailable")."""

import logging
import os
import subprocess
import sys

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError, transaction
from django.test import Client

from guanxi.api import auth as api_auth
from guanxi.interactions import views as interaction_views

pytestmark = pytest.mark.django_db

DEADLOCK = (
    "deadlock detected\nDETAIL:  Process 4242 waits for ShareLock on transaction 981; "
    "blocked by process 4243."
)


def _busy(message: str = "database is locked"):
    def raising(*args, **kwargs):
        raise OperationalError(message)

    return raising


def _signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _busy_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "guanxi.busy"]


def _assert_logged_once_as_busy(caplog, response, method: str, path: str, said: str) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
    # Nothing else logs it either, at any level (Django's "Service Unavailable" is a warning
    # for a view's 503 unless the response says it was logged).
    assert not [r for r in caplog.records if "Service Unavailable" in r.getMessage()]
    busy = _busy_records(caplog)
    assert len(busy) == 1, [record.getMessage() for record in busy]
    assert busy[0].levelno == logging.WARNING
    assert busy[0].getMessage() == f"Database busy: {method} {path}: {said}"
    assert busy[0].exc_info is None  # nothing is broken: no trace
    assert busy[0].status_code == 503


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("database is locked", "database is locked"),
        # PostgreSQL's DETAIL stays, on the one line.
        (DEADLOCK, " ".join(DEADLOCK.split())),
    ],
    ids=["sqlite", "postgresql"],
)
def test_a_page_whose_view_met_a_busy_database_is_logged_once_as_a_warning(
    company, monkeypatch, caplog, message, said
):
    log = interaction_views.interaction_log

    def half_way(**kwargs):
        with transaction.atomic():
            log(**kwargs)
            raise OperationalError(message)

    monkeypatch.setattr(interaction_views, "interaction_log", half_way)
    path = f"/interactions/log/{company.rep_customer.pk}/"
    call = {
        "channel": "phone",
        "direction": "inbound",
        "subject": "询问报价",
        "occurred_at": "2026-01-05T10:30",
    }

    with caplog.at_level(logging.INFO):
        response = _signed_in(company.rep).post(path, call)

    _assert_logged_once_as_busy(caplog, response, "POST", path, said)


def test_an_api_operation_that_met_a_busy_database_is_logged_once_as_a_warning(
    company, monkeypatch, caplog
):
    # Every operation authenticates through the database, which may be busy.
    monkeypatch.setattr(api_auth, "api_token_authenticate", _busy())
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/customers", headers={"Authorization": "Bearer gx_x"})

    _assert_logged_once_as_busy(caplog, response, "GET", "/api/v1/customers", "database is locked")
    assert response.json()["detail"] == "The database is busy. Try again in a moment."


@pytest.mark.parametrize("path", ["/customers/", "/api/v1/customers"], ids=["page", "api"])
def test_a_session_read_that_met_a_busy_database_is_logged_once_as_a_warning(
    company, monkeypatch, caplog, path
):
    # Who is signed in is read from the session by a middleware, before any view (or the API).
    client = _signed_in(company.rep)
    monkeypatch.setattr(SessionStore, "load", _busy())

    with caplog.at_level(logging.INFO):
        response = client.get(path)

    _assert_logged_once_as_busy(caplog, response, "GET", path, "database is locked")


@pytest.mark.parametrize("signed_in", [False, True], ids=["a new session", "a session updated"])
def test_a_session_save_that_met_a_busy_database_is_logged_once_as_a_warning(
    company, monkeypatch, caplog, signed_in
):
    # Opening a password reset link keeps its token in the session, saved by a middleware on
    # the way out: a new session's failure reaches server_error, an existing one's bad_request.
    from guanxi.web.tests.test_busy_database_middleware import _reset_link

    client = _signed_in(company.rep) if signed_in else Client(raise_request_exception=False)
    link = _reset_link(company.rep)
    monkeypatch.setattr(Session, "save", _busy())

    with caplog.at_level(logging.INFO):
        response = client.get(link)

    _assert_logged_once_as_busy(caplog, response, "GET", link, "database is locked")


def test_htmx_answered_the_sentence_is_logged_as_a_busy_database_too(company, monkeypatch, caplog):
    client = _signed_in(company.rep)
    monkeypatch.setattr(SessionStore, "load", _busy())

    with caplog.at_level(logging.INFO):
        response = client.get("/customers/", headers={"HX-Request": "true"})

    assert response["HX-Reswap"] == "none"
    busy = _busy_records(caplog)
    assert [(record.levelno, record.getMessage()) for record in busy] == [
        (logging.WARNING, "Database busy: GET /customers/: database is locked")
    ]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_the_warning_reaches_the_console_with_the_sites_logging_settings():
    # The settings every site runs with (production's are base's) send it to the console.
    script = (
        "import logging.config\n"
        "from guanxi.settings.base import LOGGING\n"
        "logging.config.dictConfig(LOGGING)\n"
        "from guanxi.core.locking import busy_log\n"
        "busy_log.warning('Database busy: GET /customers/: database is locked')\n"
    )
    # As a site runs without choosing a level of its own.
    env = {name: value for name, value in os.environ.items() if name != "GUANXI_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert "WARNING guanxi.busy: Database busy: GET /customers/: database is locked" in (
        done.stderr
    )
