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


def test_the_help_form_answered_busy_is_logged_once_as_a_warning(company, monkeypatch, caplog):
    # The service desk's form answers a busy database itself (503, the form kept): logged as
    # every other busy answer is, not by Django as an error.
    from guanxi.service import views as service_views

    monkeypatch.setattr(service_views, "request_from_customer", _busy(DEADLOCK))
    typed = {
        "name": "李雷",
        "email": "li.lei@example.com",
        "type": "complaint",
        "subject": "退款没到",
        "description": "订单 8812 退款两周没到账。",
    }

    with caplog.at_level(logging.INFO):
        response = Client(raise_request_exception=False).post("/service/help/", typed)

    assert "the database is busy" in response.content.decode()
    _assert_logged_once_as_busy(
        caplog, response, "POST", "/service/help/", " ".join(DEADLOCK.split())
    )


def test_an_inbound_email_met_by_a_busy_database_is_logged_once_as_a_warning(
    monkeypatch, caplog, settings
):
    # The mail provider's webhook answers "try again later" to anything that failed, and logs
    # the trace of a fault: a busy database is not one.
    from guanxi.service import inbound_views
    from guanxi.service.tests.inbound_mail import SECRET, URL, email_message

    settings.GUANXI_INBOUND_WEBHOOK_SECRET = SECRET
    monkeypatch.setattr(inbound_views, "file_inbound_email", _busy())

    with caplog.at_level(logging.INFO):
        response = Client(raise_request_exception=False).post(
            URL,
            data=email_message().as_bytes(),
            content_type="message/rfc822",
            headers={"X-Guanxi-Webhook-Secret": SECRET},
        )

    _assert_logged_once_as_busy(caplog, response, "POST", URL, "database is locked")
    assert response.json()["error"] == "The email could not be filed now; try again later."


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
