"""A customer's answer to the satisfaction survey is theirs to give and to change (the link
takes a second answer), and a ticket resolved again asks anew, clearing the earlier answer.
The customer's history keeps each: the score and the words they wrote, what an answer replaced,
and who cleared an answer by resolving the ticket again."""

import pytest
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import describe_history
from guanxi.service import services
from guanxi.service.models import SatisfactionSurvey, Ticket
from guanxi.service.tests.desk import complaint

pytestmark = pytest.mark.django_db


def _resolved(company) -> Ticket:
    ticket = complaint(company)
    services.ticket_reply(
        actor=company.agent, ticket_id=ticket.pk, body="已退款", status="resolved"
    )
    return ticket


def _survey_rows(ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="ticket", object_id=ticket.pk)
        .filter(changes__has_key="satisfaction")
        .order_by("id")
    )


def test_the_answer_and_its_comment_are_recorded_and_shown(company, desk):
    ticket = _resolved(company)
    services.survey_answer(ticket_id=ticket.pk, score=2, comment="太慢了，打了三次电话")
    [row] = _survey_rows(ticket)
    assert row.changes == {
        "satisfaction": {"before": None, "after": 2},
        "satisfaction_comment": {"before": None, "after": "太慢了，打了三次电话"},
    }
    assert row.actor is None and row.customer_id == ticket.customer_id
    with translation.override("zh-hans"):
        [entry] = describe_history([row], viewer=company.admin)
    [comment] = [line for line in entry.lines if "太慢" in line.after]
    assert comment.label == "满意度留言"


def test_a_second_answer_records_what_it_replaced(company, desk):
    ticket = _resolved(company)
    services.survey_answer(ticket_id=ticket.pk, score=2, comment="太慢")
    services.survey_answer(ticket_id=ticket.pk, score=4)
    _first, second = _survey_rows(ticket)
    assert second.changes == {
        "satisfaction": {"before": 2, "after": 4},
        "satisfaction_comment": {"before": "太慢", "after": ""},
    }


# The two ways a ticket is resolved: its status set, or a reply resolving it.
RESOLVE_AGAIN = {
    "status": lambda actor, ticket: services.ticket_set_status(
        actor=actor, ticket_id=ticket.pk, status="resolved"
    ),
    "reply": lambda actor, ticket: services.ticket_reply(
        actor=actor, ticket_id=ticket.pk, body="已重新处理", status="resolved"
    ),
}


@pytest.mark.parametrize("resolve", list(RESOLVE_AGAIN))
def test_resolving_again_records_the_answer_it_clears(company, desk, resolve):
    ticket = _resolved(company)
    services.survey_answer(ticket_id=ticket.pk, score=1, comment="没解决")
    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="open")
    assert SatisfactionSurvey.objects.get(ticket=ticket).score == 1  # reopening keeps it
    RESOLVE_AGAIN[resolve](company.manager, ticket)

    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.score, survey.comment, survey.answered_at) == (None, "", None)
    _answered, cleared = _survey_rows(ticket)
    assert cleared.actor == company.manager
    assert cleared.changes == {
        "satisfaction": {"before": 1, "after": None},
        "satisfaction_comment": {"before": "没解决", "after": None},
    }


def test_resolving_again_an_unanswered_survey_records_nothing_about_it(company, desk):
    ticket = _resolved(company)
    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="open")
    services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    assert not _survey_rows(ticket)
