"""Complaints and poor satisfaction raise the churn warning: the pure rule by hand, then a
refresh over tickets and surveys opened and answered through the service desk."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from guanxi.analytics import labels
from guanxi.analytics.models import ChurnFollowUp, CustomerValue
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF
from guanxi.analytics.value.churn import (
    REASON_LENGTH,
    REASONS,
    ChurnWarnings,
    churn_warnings,
    service_signals,
    with_service_signals,
)
from guanxi.core.testing.factories import CustomerFactory
from guanxi.service import services

BEIJING = dt.timezone(dt.timedelta(hours=8))

# --- the pure rule -------------------------------------------------------------------------


def test_service_signals_by_hand():
    # (complaints in 90 days, of them open, latest score in 180 days, complaints?, poor?)
    customers = [
        (0, 0, np.nan, False, False),  # nothing at all
        (1, 0, 4.0, False, False),  # one complaint, resolved; happy enough
        (1, 1, np.nan, True, False),  # one complaint still open
        (2, 0, np.nan, True, False),  # two complaints, both resolved
        (5, 2, 1.0, True, True),
        (0, 0, 2.0, False, True),  # a 2 is poor
        (0, 0, 3.0, False, False),  # a 3 is not
    ]
    made, still_open, score, complaints, poor = zip(*customers, strict=True)
    signals = service_signals(made, still_open, score)
    assert signals.complaints.tolist() == list(complaints)
    assert signals.poor_survey.tolist() == list(poor)


def test_service_thresholds_are_parameters():
    signals = service_signals([2, 3], [0, 0], [3, 4], repeat_complaints=3, poor_score=3)
    assert signals.complaints.tolist() == [False, True]
    assert signals.poor_survey.tolist() == [True, False]


def test_service_signals_take_the_place_of_a_purchase_reason():
    purchase = churn_warnings(
        [0.9, 0.2, 0.9, 0.9, 0.9], [10, 10, 10, 10, 10], [20, 20, 20, 20, 20], [1, 2, 3, 4, 5]
    )
    assert purchase.reason.tolist() == ["", "p_alive_low", "", "", ""]
    signals = service_signals([0, 1, 1, 0, 2], [0, 1, 1, 0, 0], [np.nan, np.nan, 1, 2, 5])
    warned = with_service_signals(purchase, signals, [10.0, 20.0, 30.0, 40.0, 50.0])
    assert warned.reason.tolist() == [
        "",
        "complaints",  # the complaint says more than the silence
        "complaints+poor_survey",
        "poor_survey",
        "complaints",
    ]
    assert warned.flagged.tolist() == [False, True, True, True, True]
    assert warned.value_at_risk.tolist() == [0.0, 20.0, 30.0, 40.0, 50.0]
    assert set(warned.reason.tolist()) <= set(REASONS)


def test_purchase_warnings_stay_as_they_were_without_service_signals():
    purchase = churn_warnings([0.2, 0.9], [100, 10], [20, 20], [7.0, 8.0])
    warned = with_service_signals(purchase, service_signals([0, 1], [0, 0], [3, 5]), [7.0, 8.0])
    assert warned.reason.tolist() == ["p_alive_low+overdue", ""]
    assert warned.value_at_risk.tolist() == [7.0, 0.0]


def test_every_reason_fits_the_stored_column():
    assert REASON_LENGTH == max(map(len, REASONS)) <= 25
    assert CustomerValue._meta.get_field("churn_reason").max_length >= REASON_LENGTH
    assert ChurnFollowUp._meta.get_field("reason").max_length >= REASON_LENGTH
    assert set(labels.REASONS) == set(REASONS)


def test_service_input_is_checked():
    with pytest.raises(ValueError, match="open_complaints must be between 0 and the complaints"):
        service_signals([1], [2], [np.nan])
    with pytest.raises(ValueError, match="complaints must be 0 or more"):
        service_signals([-1], [0], [np.nan])
    with pytest.raises(ValueError, match="latest_score must be a score from 1 to 5"):
        service_signals([0], [0], [6])
    with pytest.raises(ValueError, match="latest_score has 2 elements"):
        service_signals([0], [0], [1, 2])
    with pytest.raises(ValueError, match="repeat_complaints must be 1 or more"):
        service_signals([0], [0], [1], repeat_complaints=0)
    with pytest.raises(ValueError, match="poor_score must be between 1 and 5"):
        service_signals([0], [0], [1], poor_score=0)
    empty = ChurnWarnings(np.zeros(1, dtype=bool), np.array([""]), np.zeros(1))
    with pytest.raises(ValueError, match="value has 2 elements"):
        with_service_signals(empty, service_signals([0], [0], [1]), [1.0, 2.0])


# --- the refresh ---------------------------------------------------------------------------


class Moment:
    """``timezone.now`` for the services, set by each step of the story."""

    def __init__(self):
        self.current = dt.datetime(2026, 12, 2, 10, tzinfo=BEIJING)

    def __call__(self):
        return self.current


@pytest.fixture
def moment(monkeypatch):
    now = Moment()
    monkeypatch.setattr(timezone, "now", now)
    return now


def _complaint(moment, when, customer, agent):
    moment.current = when
    return services.ticket_create(
        actor=agent, customer_id=customer.pk, data={"type": "complaint", "subject": "投诉"}
    )


def _resolve(moment, ticket, agent, *, score=None):
    moment.current += dt.timedelta(hours=1)
    services.ticket_reply(actor=agent, ticket_id=ticket.pk, body="已处理", status="resolved")
    if score is not None:
        moment.current += dt.timedelta(hours=1)
        services.survey_answer(ticket_id=ticket.pk, score=score)


def day(month, number, year=2026):
    return dt.datetime(year, month, number, 10, tzinfo=BEIJING)


@pytest.fixture
def service_story(company, moment):
    """As of 2 December 2026: the complaint window opens on 4 September, the survey window on
    5 June.

    rep_customer       an open complaint, and a resolved one it scored 1  → both signals
    teammate_customer  two complaints, both resolved                       → complaints
    west_customer      an inquiry (not a complaint), scored 2              → poor survey
    open_one (new)     one complaint, still open                           → complaints
    rep_b_customer     one resolved complaint and a duplicate merged into it; a complaint from
                       August, still open                                  → nothing
    agent_customer     scored 1 in October, then 5 in November            → nothing
    unowned_customer   scored 1 in May, outside the survey window          → nothing
    """
    agent = company.agent
    open_one = CustomerFactory(name="Open One", owner=company.rep)

    _complaint(moment, day(11, 20), company.rep_customer, agent)
    scored = _complaint(moment, day(10, 1), company.rep_customer, agent)
    _resolve(moment, scored, agent, score=1)

    for when in (day(9, 10), day(11, 25)):
        _resolve(moment, _complaint(moment, when, company.teammate_customer, agent), agent)

    moment.current = day(10, 5)
    inquiry = services.ticket_create(
        actor=agent,
        customer_id=company.west_customer.pk,
        data={"type": "inquiry", "subject": "咨询"},
    )
    _resolve(moment, inquiry, agent, score=2)

    _complaint(moment, day(12, 2, 2026), open_one, agent)

    _complaint(moment, day(8, 20), company.rep_b_customer, agent)  # before the window
    kept = _complaint(moment, day(11, 1), company.rep_b_customer, agent)
    duplicate = _complaint(
        moment, day(11, 1) + dt.timedelta(minutes=5), company.rep_b_customer, agent
    )
    services.ticket_merge(actor=agent, ticket_id=duplicate.pk, into_id=kept.pk)
    _resolve(moment, kept, agent)

    for when, score in ((day(10, 1), 1), (day(11, 15), 5)):
        moment.current = when
        ticket = services.ticket_create(
            actor=agent,
            customer_id=company.agent_customer.pk,
            data={"type": "suggestion", "subject": "建议"},
        )
        _resolve(moment, ticket, agent, score=score)

    moment.current = day(5, 1)
    ticket = services.ticket_create(
        actor=agent,
        customer_id=company.unowned_customer.pk,
        data={"type": "inquiry", "subject": "咨询"},
    )
    _resolve(moment, ticket, agent, score=1)

    moment.current = dt.datetime(2026, 12, 2, 18, tzinfo=BEIJING)
    return type("Story", (), {"company": company, "open_one": open_one})


def test_complaints_and_poor_satisfaction_flag_exactly_the_right_customers(service_story):
    company = service_story.company
    run = analytics_refresh()
    assert run.as_of == dt.date(2026, 12, 2)
    reasons = {
        v.customer_id: v.churn_reason
        for v in CustomerValue.objects.filter(run=run, churn_flag=True)
    }
    assert reasons == {
        company.rep_customer.pk: "complaints+poor_survey",
        company.teammate_customer.pk: "complaints",
        company.west_customer.pk: "poor_survey",
        service_story.open_one.pk: "complaints",
    }
    assert run.figures["churn_warnings"] == 4
    assert run.figures["churn_service_signals"] == {"complaints": 3, "poor_survey": 2}
    # Each flagged customer's owner gets a follow-up with the reason (nobody bought anything,
    # so nothing is at risk in money).
    follow_ups = {f.customer_id: (f.owner_id, f.reason) for f in ChurnFollowUp.objects.all()}
    assert follow_ups[company.west_customer.pk] == (company.rep_west.pk, "poor_survey")
    assert set(follow_ups) == set(reasons)
    assert {v.value_at_risk for v in CustomerValue.objects.filter(run=run)} == {0.0}


def test_the_windows_end_with_the_as_of_day(service_story):
    company = service_story.company
    # As of 30 November the new customer's complaint (2 December) has not been made, and the
    # teammate's first complaint (10 September) is still inside the window...
    run = analytics_refresh(as_of=dt.date(2026, 11, 30))
    flagged = set(
        CustomerValue.objects.filter(run=run, churn_flag=True).values_list("customer_id", flat=True)
    )
    assert service_story.open_one.pk not in flagged
    assert company.teammate_customer.pk in flagged
    # ...as of 10 December it has left it: one complaint, resolved, is no warning.
    run = analytics_refresh(as_of=dt.date(2026, 12, 10))
    teammate = CustomerValue.objects.get(run=run, customer=company.teammate_customer)
    assert not teammate.churn_flag and teammate.churn_reason == ""


def test_a_complaint_outranks_an_overdue_purchase_and_puts_its_value_at_risk(
    book_of_orders, moment
):
    company = book_of_orders
    moment.current = day(2, 20)
    services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "投诉"},
    )
    run = analytics_refresh(as_of=AS_OF)
    rep = CustomerValue.objects.get(run=run, customer=company.rep_customer)
    # Overdue on its purchases (see test_refresh), and now with an open complaint as well.
    assert rep.churn_flag and rep.churn_reason == "complaints"
    assert rep.value_at_risk == pytest.approx(100)  # the margin, as for the overdue warning
    rep_b = CustomerValue.objects.get(run=run, customer=company.rep_b_customer)
    assert not rep_b.churn_flag
