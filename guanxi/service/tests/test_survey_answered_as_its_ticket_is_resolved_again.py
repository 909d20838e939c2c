"""A customer answering the survey of their ticket as an agent resolves the ticket again (it
was reopened). The answer locked the survey and, joined to it, the ticket, after it; the
resolution locks the ticket and then the survey it asks anew, so each waited for the other's
second row and PostgreSQL broke the deadlock by failing one. The answer now locks its survey
only: it is saved, and the resolution then clears it for the new survey, as it does any earlier
answer. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, in_thread, wait_until, waiting_for_a_lock
from guanxi.service import services
from guanxi.service.models import SatisfactionSurvey, Ticket
from guanxi.service.tests.desk import complaint

pytestmark = CONCURRENT


def test_an_answer_and_the_ticket_resolved_again_do_not_deadlock(company, monkeypatch):
    ticket = complaint(company)
    for status in ("resolved", "open"):
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status=status)
    # Held once it holds the ticket, before it asks the survey anew.
    resolving = hold_before(monkeypatch, services, "_send_survey_on_commit", thread="resolve")
    results: dict = {}
    threads = [
        in_thread(
            lambda: services.ticket_set_status(
                actor=company.agent, ticket_id=ticket.pk, status="resolved"
            ),
            results,
            "resolve",
        )
    ]
    try:
        assert resolving.reached.wait(30)
        threads.append(
            in_thread(
                lambda: services.survey_answer(ticket_id=ticket.pk, score=2, comment="太慢"),
                results,
                "answer",
            )
        )
        threads[1].join(10)
        answered_while_the_ticket_was_held = "answer" in results
    finally:
        resolving.go.set()
        for thread in threads:
            thread.join(30)
    assert results["resolve"][0] == "ok", results["resolve"][-1]
    assert results["answer"][0] == "ok", results["answer"][-1]
    assert answered_while_the_ticket_was_held
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.score, survey.answered_at) == (None, None)
    cleared = AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, changes__satisfaction__before=2
    )
    assert cleared.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.RESOLVED


def test_an_answer_saved_as_the_ticket_is_resolved_again_is_cleared_with_its_audit_row(
    company, monkeypatch
):
    # The answer holds its survey, saved and not yet committed, as the resolution asks anew:
    # the resolution waits for it and then clears it, saying in the ticket's history what it
    # was, rather than reading the survey before the answer commits and clearing it unsaid.
    ticket = complaint(company)
    for status in ("resolved", "open"):
        services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status=status)
    answering = hold_before(monkeypatch, services, "_audit", thread="answer")
    results: dict = {}
    threads = [
        in_thread(
            lambda: services.survey_answer(ticket_id=ticket.pk, score=2, comment="太慢"),
            results,
            "answer",
        )
    ]
    try:
        assert answering.reached.wait(30)
        threads.append(
            in_thread(
                lambda: services.ticket_set_status(
                    actor=company.agent, ticket_id=ticket.pk, status="resolved"
                ),
                results,
                "resolve",
            )
        )
        assert wait_until(waiting_for_a_lock)
    finally:
        answering.go.set()
        for thread in threads:
            thread.join(30)
    assert results["answer"][0] == "ok", results["answer"][-1]
    assert results["resolve"][0] == "ok", results["resolve"][-1]
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.score, survey.answered_at) == (None, None)
    cleared = AuditEvent.objects.filter(
        object_type="ticket", object_id=ticket.pk, changes__satisfaction__before=2
    )
    assert cleared.exists()
