import datetime as dt
import socket

import pytest

from guanxi.core.testing.clock import frozen_clock
from guanxi.core.testing.mail import running_mail_server
from guanxi.service import services
from guanxi.service.models import Ticket
from guanxi.service.tests.desk import build_desk
from guanxi.service.tests.inbound_mail import DESK

# Whose emails the tests of emails to the customer follow.
REQUESTER = "wangfang@example.cn"


def complaint_by_email(company) -> Ticket:
    """A complaint an agent opened for a customer who asked by email, so that every reply,
    acknowledgement and survey of it is an email to them."""
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "货物破损", "requester_email": REQUESTER},
    )


def merged_away(company) -> tuple[Ticket, Ticket]:
    """A complaint asked twice, the first merged into the second: (merged away, kept)."""
    duplicate, kept = (
        services.ticket_create(
            actor=company.agent,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": subject, "priority": "normal"},
        )
        for subject in ("退款还没到账", "退款还没到账（又问）")
    )
    services.ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    duplicate.refresh_from_db()
    return duplicate, kept


@pytest.fixture
def clock(monkeypatch):
    # A Wednesday, 10:00 in Beijing.
    return frozen_clock(monkeypatch, dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def desk(company):
    return build_desk(company)


@pytest.fixture
def desk_mail_settings(settings, tmp_path):
    """The desk's own address and site address, as mail to and from the desk names them, and
    attachments stored apart from every other test's."""
    settings.MEDIA_ROOT = tmp_path
    settings.GUANXI_SERVICE_EMAIL = DESK
    settings.GUANXI_BASE_URL = "https://crm.example.cn"


@pytest.fixture
def mail_server_down(settings):
    """Mail goes over SMTP to a port nothing listens on: the connection is refused."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


@pytest.fixture
def mail_server(settings):
    with running_mail_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
        settings.EMAIL_TIMEOUT = 5
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server
