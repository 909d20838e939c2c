"""A customer moved to the recycle bin after its tickets were worked does not take them out of
the service reports: the work was done, and a report read again should say what it said.
They count for whoever could see the customer were it back, and for nobody else; and a binned
customer is never named among the repeat complainers."""

import datetime as dt

import pytest
from django.urls import reverse

from guanxi.customers.services import customer_delete
from guanxi.service import reports, services

pytestmark = pytest.mark.django_db

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=BEIJING)


@pytest.fixture
def binned(company, desk, clock):
    """Two complaints of the rep's customer, answered and resolved, one survey answered; then
    the customer is binned."""
    for day, score in ((16, 1), (17, None)):
        clock.current = at(11, day)
        ticket = services.ticket_create(
            actor=company.agent,
            customer_id=company.rep_customer.pk,
            data={"type": "complaint", "subject": "退款", "category_id": desk.refund.pk},
        )
        clock.current += dt.timedelta(minutes=30)
        services.ticket_reply(
            actor=company.agent, ticket_id=ticket.pk, body="已处理", status="resolved"
        )
        if score is not None:
            services.survey_answer(ticket_id=ticket.pk, score=score)
    clock.current = at(12, 2)
    customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    return company


def _figures(user) -> tuple:
    satisfaction = reports.satisfaction(user)
    compliance = reports.compliance_total(reports.sla_compliance(user, by="team"))
    return (
        [row.complaints for row in reports.complaints_by_category(user)],
        sum(reports.tickets_per_week(user).totals),
        compliance.tickets,
        reports.reopen_rate(user).resolved,
        (satisfaction.sent, satisfaction.answered),
    )


def test_a_binned_customers_worked_tickets_still_count(binned):
    counted = ([2], 2, 2, 2, (2, 1))
    # The whole desk's figures, and those of the rep whose customer it was.
    assert _figures(binned.admin) == counted
    assert _figures(binned.agent) == counted
    assert _figures(binned.rep) == counted
    # Not for whoever could not see the customer before it was binned.
    assert _figures(binned.rep_west) == ([], 0, 0, 0, (0, 0))


def test_a_binned_customer_is_not_named_among_the_repeat_complainers(binned):
    assert reports.repeat_complainers(binned.admin) == []
    assert reports.repeat_complainers(binned.rep) == []


def test_the_page_says_how_many_counted_tickets_no_list_shows(client, binned):
    """Counted in the figures, a binned customer's tickets are in no list of tickets (nobody
    may see the customer): the page says how many, so the desk's lists reached from it are not
    taken to contradict it. Only to whoever they count for."""
    period = {"date_from": "2026-11-01", "date_to": "2026-12-02"}
    for user, shown in ((binned.admin, True), (binned.rep, True), (binned.rep_west, False)):
        client.force_login(user)
        page = client.get(reverse("service:reports"), period)
        assert page.status_code == 200
        assert page.context["binned_counted"] == (2 if shown else 0)
        assert (b'id="binned-counted"' in page.content) is shown
