"""A page whose database work meets lock contention (SQLite's busy timeout running out,
PostgreSQL breaking a deadlock) is answered 503 with Retry-After, as the API answers it, rather
than with the 500 page of a fault: the work is worth repeating, and the transaction it was in
has rolled back. Any other database error is still a fault."""

import pytest
from django.db import OperationalError, transaction
from django.test import Client

from guanxi.audit.models import AuditEvent
from guanxi.interactions import views as interaction_views
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db

CALL = {
    "channel": "phone",
    "direction": "inbound",
    "subject": "询问报价",
    "notes": "想要 50 台",
    "occurred_at": "2026-01-05T10:30",
}
BUSY = {
    "en": "The database is busy. Try again in a moment.",
    "zh-hans": "数据库繁忙，请稍后重试。",
}
# What the drivers say, word for word.
SQLITE_BUSY = "database is locked"
POSTGRES_DEADLOCK = (
    "deadlock detected\nDETAIL:  Process 4242 waits for ShareLock on transaction 981; "
    "blocked by process 4243."
)


def _fails_after_writing(monkeypatch, message: str) -> None:
    """The contact and its audit row are written, then the database refuses the next
    statement of the same transaction with ``message``."""
    log = interaction_views.interaction_log

    def half_way(**kwargs):
        with transaction.atomic():
            log(**kwargs)
            assert Interaction.objects.exists()
            raise OperationalError(message)

    monkeypatch.setattr(interaction_views, "interaction_log", half_way)


def _client(user, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.mark.parametrize("message", [SQLITE_BUSY, POSTGRES_DEADLOCK])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_busy_database_is_a_503_page_to_try_again_and_nothing_is_saved(
    company, monkeypatch, message, language
):
    _fails_after_writing(monkeypatch, message)

    response = _client(company.rep, language).post(
        f"/interactions/log/{company.rep_customer.pk}/", CALL
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"].startswith("text/html")
    assert BUSY[language] in response.content.decode()
    assert not Interaction.objects.exists()
    assert not AuditEvent.objects.filter(object_type="interaction").exists()


def test_htmx_keeps_the_form_as_it_was_and_shows_the_sentence_above_the_page(company, monkeypatch):
    _fails_after_writing(monkeypatch, SQLITE_BUSY)

    response = _client(company.rep, "zh-hans").post(
        f"/interactions/log/{company.rep_customer.pk}/", CALL, headers={"HX-Request": "true"}
    )

    # htmx swaps in only a successful answer: the form is left alone (nothing typed is lost)
    # and the sentence goes where the page shows its messages.
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    html = response.content.decode()
    assert 'id="page-alert" hx-swap-oob="innerHTML"' in html
    assert BUSY["zh-hans"] in html
    assert "<html" not in html
    assert not Interaction.objects.exists()


def test_the_pages_have_the_place_the_sentence_goes(company):
    page = _client(company.rep).get(f"/customers/{company.rep_customer.pk}/").content.decode()
    assert '<div id="page-alert" role="alert"></div>' in page


def test_any_other_database_error_is_still_a_fault(company, monkeypatch):
    _fails_after_writing(monkeypatch, "no such column: interactions_interaction.mood")

    with pytest.raises(OperationalError, match="no such column"):
        _client(company.rep).post(f"/interactions/log/{company.rep_customer.pk}/", CALL)
    assert not Interaction.objects.exists()
