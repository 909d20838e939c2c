"""The service reports: every figure on a small desk worked out by hand, who sees which tickets
in them, the page with its period form, and the CSV downloads."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import CustomerFactory
from guanxi.service import reports, services
from guanxi.service.models import AgentProfile, TicketCategory

pytestmark = pytest.mark.django_db(transaction=False)

BEIJING = dt.timezone(dt.timedelta(hours=8))
# The clock fixture's today; the default period is the 90 days up to it.
TODAY = dt.date(2026, 12, 2)
PERIOD_START = dt.date(2026, 9, 4)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def _open(clock, moment, actor, customer, kind="complaint", **data):
    clock.current = moment
    return services.ticket_create(
        actor=actor,
        customer_id=customer.pk,
        data={"type": kind, "subject": f"{kind} of {customer.name}", **data},
    )


def _resolve(clock, ticket, actor, *, after_minutes: int):
    clock.current = clock.current + dt.timedelta(minutes=after_minutes)
    services.ticket_reply(actor=actor, ticket_id=ticket.pk, body="已处理", status="resolved")


@pytest.fixture
def book(company, desk, clock):
    """Seven tickets in the period (t1–t7), one before it and a duplicate merged away.

    t1  complaint  rep_customer       退款  quality          answered in 30 min, resolved; 1/5
    t2  complaint  rep_customer       退款  quality          answered after 2 h, resolved, reopened
    t3  complaint  teammate_customer  账单  (no area)        opened by the rep: unassigned, open
    t4  inquiry    rep_customer       —                      the second agent, 10 min, resolved; 5/5
    t5  complaint  west_customer      退款  service process  answered after 90 min, resolved; 2/5
    t6  complaint  west_customer      售后服务 › 维修  design   open
    t7  praise     west_customer      —                      open

    The second agent is away, so routing gives every refund to the company's agent, who opens
    every ticket but t3 and t4.
    """
    agent, second = company.agent, desk.second
    AgentProfile.objects.filter(user=second).update(is_absent=True)
    billing = TicketCategory.objects.get(name="账单")
    repair = TicketCategory.objects.get(name="维修")
    refund = desk.refund.pk

    old = _open(clock, at(8, 1), agent, company.rep_customer, category_id=refund)
    t1 = _open(clock, at(11, 16), agent, company.rep_customer, category_id=refund, area="quality")
    _resolve(clock, t1, agent, after_minutes=30)
    services.survey_answer(ticket_id=t1.pk, score=1)
    t2 = _open(clock, at(11, 17), agent, company.rep_customer, category_id=refund, area="quality")
    _resolve(clock, t2, agent, after_minutes=120)
    services.ticket_set_status(actor=agent, ticket_id=t2.pk, status="open")
    duplicate = _open(clock, at(11, 18), agent, company.rep_customer, category_id=refund)
    services.ticket_merge(actor=agent, ticket_id=duplicate.pk, into_id=t1.pk)
    t3 = _open(clock, at(11, 23), company.rep, company.teammate_customer, category_id=billing.pk)
    t4 = _open(clock, at(11, 24), second, company.rep_customer, kind="inquiry")
    _resolve(clock, t4, second, after_minutes=10)
    services.survey_answer(ticket_id=t4.pk, score=5)
    t5 = _open(
        clock, at(11, 30), agent, company.west_customer, category_id=refund, area="service_process"
    )
    _resolve(clock, t5, agent, after_minutes=90)
    services.survey_answer(ticket_id=t5.pk, score=2)
    t6 = _open(clock, at(12, 1), agent, company.west_customer, category_id=repair.pk, area="design")
    t7 = _open(clock, at(12, 1, 11), agent, company.west_customer, kind="praise")
    clock.current = at(12, 2)
    tickets = {"old": old, "duplicate": duplicate, "t1": t1, "t2": t2, "t3": t3, "t4": t4}
    tickets |= {"t5": t5, "t6": t6, "t7": t7}
    return type("Book", (), {"company": company, "desk": desk, "tickets": tickets})


def _download(client, report, **period) -> list[dict]:
    response = client.post(f"/service/reports/export/{report}.csv", period)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert f"guanxi-service-{report}-" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- the figures ---------------------------------------------------------------------------


def test_the_default_period_is_the_last_90_days(clock):
    period = reports.report_period()
    assert (period.first, period.last, period.days) == (PERIOD_START, TODAY, 90)
    assert period.start == at(9, 4, 0) and period.end == at(12, 3, 0)
    assert reports.report_period(date_to=dt.date(2026, 1, 31)).first == dt.date(2025, 11, 3)
    with pytest.raises(ValueError, match="after it ends"):
        reports.report_period(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def test_complaints_by_category_the_pareto_way(book):
    rows = reports.complaints_by_category(book.company.admin)
    assert [(r.key, r.complaints, r.share, r.cumulative_share) for r in rows] == [
        (book.desk.refund.pk, 3, 0.6, 0.6),
        (TicketCategory.objects.get(name="维修").pk, 1, 0.2, 0.8),
        (TicketCategory.objects.get(name="账单").pk, 1, 0.2, 1.0),
    ]
    # A child category is named with its parent (English: the test client's language).
    assert [r.label for r in rows] == ["Refund", "After-sales service › Repair", "Billing"]


def test_complaints_without_a_category_have_a_row_of_their_own(book, clock):
    company = book.company
    _open(clock, at(12, 2, 9), company.agent, company.agent_customer)
    rows = reports.complaints_by_category(company.admin)
    assert (rows[-1].key, rows[-1].label, rows[-1].complaints) == (None, "No category", 1)
    assert rows[-1].cumulative_share == 1.0 and rows[0].share == 0.5


def test_complaints_by_area(book):
    rows = reports.complaints_by_area(book.company.admin)
    assert {r.key: r.complaints for r in rows} == {
        "quality": 2,
        "service_process": 1,
        "design": 1,
        "": 1,
    }
    assert (rows[0].key, rows[0].share, rows[-1].cumulative_share) == ("quality", 0.4, 1.0)
    # Every row counts complaints: the one without an area says so, not "not a complaint".
    unset = {r.key: r.label for r in rows}[""]
    assert unset == "Area not set"
    with translation.override("zh-hans"):
        rows = reports.complaints_by_area(book.company.admin)
    assert {r.key: r.label for r in rows}[""] == "未注明投诉环节"


def test_tickets_per_week_by_type(book):
    trend = reports.tickets_per_week(book.company.admin)
    # Mondays from the week holding the first day of the period to the one holding today.
    assert trend.weeks[0] == dt.date(2026, 8, 31) and trend.weeks[-1] == dt.date(2026, 11, 30)
    assert len(trend.weeks) == 14
    busy = {
        week: {kind: counts[i] for kind, counts in trend.counts.items() if counts[i]}
        for i, week in enumerate(trend.weeks)
        if trend.totals[i]
    }
    assert busy == {
        dt.date(2026, 11, 16): {"complaint": 2},
        dt.date(2026, 11, 23): {"complaint": 1, "inquiry": 1},
        dt.date(2026, 11, 30): {"complaint": 2, "praise": 1},
    }


def _compliance(rows):
    return {
        r.label: (
            r.tickets,
            r.first_response_met,
            r.first_response_targets,
            r.resolution_met,
            r.resolution_targets,
        )
        for r in rows
    }


def test_service_level_compliance_by_team_agent_and_category(book):
    admin = book.company.admin
    # t1 answered in time, t2 and t5 late, t4 in time; t1, t4 and t5 resolved in time, t2's
    # resolution was undone by reopening it; open tickets have no say yet.
    by_team = reports.sla_compliance(admin, by="team")
    assert _compliance(by_team) == {"Desk": (6, 2, 4, 3, 3), "No team": (1, 0, 0, 0, 0)}
    assert (by_team[0].first_response_share, by_team[0].resolution_share) == (0.5, 1.0)
    assert by_team[-1].first_response_share is None  # no target decided: no share
    assert _compliance(reports.sla_compliance(admin, by="agent")) == {
        book.company.agent.label: (5, 1, 3, 2, 2),
        book.desk.second.label: (1, 1, 1, 1, 1),
        "Unassigned": (1, 0, 0, 0, 0),
    }
    assert _compliance(reports.sla_compliance(admin, by="category")) == {
        "Refund": (3, 1, 3, 2, 2),
        "Billing": (1, 0, 0, 0, 0),
        "After-sales service › Repair": (1, 0, 0, 0, 0),
        "No category": (2, 1, 1, 1, 1),
    }
    total = reports.compliance_total(by_team)
    assert (total.tickets, total.first_response_share, total.resolution_share) == (7, 0.5, 1.0)


def test_reopen_rate(book):
    figures = reports.reopen_rate(book.company.admin)
    # Resolved at least once: t1, t2 (open again now), t4, t5; reopened: t2.
    assert (figures.resolved, figures.reopened, figures.reopens, figures.rate) == (4, 1, 1, 0.25)
    assert reports.reopen_rate(book.company.rep_b).rate is None  # nothing resolved: no rate


def test_repeat_complainers(book, clock):
    company = book.company
    found = reports.repeat_complainers(company.admin)
    # The merged duplicate and the complaint before the period do not count.
    assert [(r.customer_id, r.complaints, r.last_complaint_at) for r in found] == [
        (company.west_customer.pk, 2, at(12, 1)),
        (company.rep_customer.pk, 2, at(11, 17)),
    ]
    assert found[0].name == "West Customer"
    assert len(reports.repeat_complainers(company.admin, limit=1)) == 1


def test_satisfaction_after_resolution(book):
    figures = reports.satisfaction(book.company.admin)
    # Surveys went out for t1, t2, t4 and t5; t2's is unanswered.
    assert (figures.sent, figures.answered, figures.poor) == (4, 3, 2)
    assert figures.average == pytest.approx(8 / 3, abs=1e-4)
    assert figures.scores == {1: 1, 2: 1, 3: 0, 4: 0, 5: 1}
    assert figures.response_rate == 0.75
    assert figures.poor_share == pytest.approx(2 / 3, abs=1e-6)
    empty = reports.satisfaction(book.company.rep_b)
    assert (empty.sent, empty.average, empty.response_rate, empty.poor_share) == (
        0,
        None,
        None,
        None,
    )


def test_a_rep_counts_only_their_customers_tickets(book):
    rep = book.company.rep  # their own customer and, through Team A, the teammate's
    assert [(r.label, r.complaints) for r in reports.complaints_by_category(rep)] == [
        ("Refund", 2),
        ("Billing", 1),
    ]
    assert sum(reports.tickets_per_week(rep).totals) == 4
    assert [r.customer_id for r in reports.repeat_complainers(rep)] == [
        book.company.rep_customer.pk
    ]
    assert reports.reopen_rate(rep).resolved == 3
    assert (reports.satisfaction(rep).sent, reports.satisfaction(rep).average) == (3, 3.0)
    west = book.company.rep_west
    assert [(r.label, r.complaints) for r in reports.complaints_by_category(west)] == [
        ("After-sales service › Repair", 1),  # a tie: by name
        ("Refund", 1),
    ]
    assert _compliance(reports.sla_compliance(west, by="team")) == {"Desk": (3, 0, 1, 1, 1)}
    assert reports.complaints_by_category(book.company.rep_b) == []


def test_a_chosen_period(book):
    admin = book.company.admin
    last_week = {"date_from": dt.date(2026, 11, 30), "date_to": dt.date(2026, 12, 6)}
    assert [r.complaints for r in reports.complaints_by_category(admin, **last_week)] == [1, 1]
    trend = reports.tickets_per_week(admin, **last_week)
    assert trend.weeks == [dt.date(2026, 11, 30)] and trend.totals == [3]
    # A period of one day holds the tickets opened on it, in Beijing time.
    one_day = {"date_from": dt.date(2026, 11, 16), "date_to": dt.date(2026, 11, 16)}
    assert reports.reopen_rate(admin, **one_day).resolved == 1
    august = {"date_from": dt.date(2026, 8, 1), "date_to": dt.date(2026, 8, 31)}
    assert [r.complaints for r in reports.complaints_by_category(admin, **august)] == [1]


# --- the page ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin", "manager", "rep", "rep_west", "agent", "analyst"])
def test_every_signed_in_user_may_open_the_page(client, book, username):
    client.force_login(book.company.users[username])
    response = client.get("/service/reports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="date_from"' in html and 'value="2026-09-04"' in html
    for report in reports.REPORTS:
        assert f'formaction="/service/reports/export/{report}.csv"' in html


def test_the_page_draws_the_charts_and_tables(client, book):
    client.force_login(book.company.admin)
    response = client.get("/service/reports/")
    html = response.content.decode()
    assert html.count('role="img"') == html.count("<title id=") == 4
    assert html.count("<polyline") == 1 + 4  # the Pareto line, a trend line per type
    assert 'id="figure-complaints">5<' in html
    assert 'id="figure-reopen-rate">25.0 %' in html
    assert 'id="table-sla-agent"' in html and "West Customer" in html
    context = response.context
    assert [r.complaints for r in context["by_category"]] == [3, 1, 1]
    assert context["period"] == reports.Period(PERIOD_START, TODAY)


def test_the_list_links_to_the_reports(client, book):
    client.force_login(book.company.agent)
    assert 'href="/service/reports/"' in client.get("/service/tickets/").content.decode()


def test_the_page_without_tickets(client, company, clock):
    client.force_login(company.rep)
    response = client.get("/service/reports/")
    assert response.status_code == 200
    assert "No complaints in this period." in response.content.decode()


def test_a_rep_sees_only_their_customers_on_the_page(client, book):
    client.force_login(book.company.rep)
    response = client.get("/service/reports/")
    html = response.content.decode()
    assert 'id="figure-complaints">3<' in html
    assert "West Customer" not in html


def test_signing_in_is_required(client, book):
    response = client.get("/service/reports/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post("/service/reports/export/categories.csv")
    assert response.status_code == 302


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-13-01"},
        {"date_from": "yesterday", "date_to": "2026-12-01"},
        {"date_from": "2026-12-01", "date_to": "2026-11-01"},
        {"date_from": "0001-01-01", "date_to": "2026-11-01"},
        {"date_from": "2026-01-01", "date_to": "9999-12-31"},
        {"date_from": "2010-01-01", "date_to": "2026-11-01"},
    ],
)
def test_a_bad_period_is_shown_on_the_form(client, book, query):
    client.force_login(book.company.admin)
    response = client.get("/service/reports/", query)
    assert response.status_code == 422
    assert 'class="errorlist' in response.content.decode()
    assert "period" not in response.context
    response = client.post("/service/reports/export/categories.csv", query)
    assert response.status_code == 422
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_the_page_asks_the_same_number_of_queries_for_more_tickets(client, book, clock):
    client.force_login(book.company.admin)
    with CaptureQueriesContext(connection) as before:
        client.get("/service/reports/")
    company = book.company
    for customer in (company.rep_b_customer, company.agent_customer, company.unowned_customer):
        ticket = _open(
            clock, at(12, 2, 9), company.agent, customer, category_id=book.desk.refund.pk
        )
        _resolve(clock, ticket, company.agent, after_minutes=5)
        services.survey_answer(ticket_id=ticket.pk, score=3)
    with CaptureQueriesContext(connection) as after:
        client.get("/service/reports/")
    assert len(after) == len(before)


# --- the downloads -------------------------------------------------------------------------


def test_each_download_holds_its_report(client, book):
    client.force_login(book.company.admin)
    categories = _download(client, "categories")
    assert [(r["category"], r["complaints"], r["cumulative_share"]) for r in categories] == [
        ("Refund", "3", "0.6"),
        ("After-sales service › Repair", "1", "0.8"),
        ("Billing", "1", "1.0"),
    ]
    assert {r["area"]: r["complaints"] for r in _download(client, "areas")}["quality"] == "2"
    trend = _download(client, "trend")
    assert len(trend) == 14 and trend[11] == {
        "week_starting": "2026-11-16",
        "complaint": "2",
        "inquiry": "0",
        "suggestion": "0",
        "praise": "0",
        "total": "2",
    }
    teams = _download(client, "sla_teams")
    assert (teams[0]["team"], teams[0]["first_response_share"], teams[0]["resolution_share"]) == (
        "Desk",
        "0.5",
        "1.0",
    )
    assert teams[1]["team"] == "No team" and teams[1]["first_response_share"] == ""
    agents = {r["agent"]: r["first_response_met"] for r in _download(client, "sla_agents")}
    assert agents[book.company.agent.label] == "1"
    assert len(_download(client, "sla_categories")) == 4
    assert _download(client, "reopens") == [
        {"tickets_resolved": "4", "tickets_reopened": "1", "reopen_rate": "0.25", "reopens": "1"}
    ]
    repeaters = _download(client, "repeat_complainers")
    assert [(r["customer"], r["complaints"]) for r in repeaters] == [
        ("West Customer", "2"),
        ("Rep Customer 张伟", "2"),
    ]
    assert repeaters[0]["last_complaint_at"] == "2026-12-01T10:00:00+08:00"
    survey = {r["figure"]: r["value"] for r in _download(client, "satisfaction")}
    assert survey["surveys_sent"] == "4" and survey["response_rate"] == "0.75"
    assert survey["score_1"] == "1" and survey["poor_answers"] == "2"


def test_a_download_is_audited_with_its_period(client, book):
    client.force_login(book.company.manager)
    _download(client, "categories", date_from="2026-11-01", date_to="2026-11-30")
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, object_type="service_report")
    assert event.actor == book.company.manager
    assert event.changes["report"]["after"] == "categories"
    assert event.changes["period"]["after"] == {"from": "2026-11-01", "to": "2026-11-30"}


def test_a_reps_download_holds_only_their_customers(client, book):
    client.force_login(book.company.rep)
    assert [(r["category"], r["complaints"]) for r in _download(client, "categories")] == [
        ("Refund", "2"),
        ("Billing", "1"),
    ]
    names = {r["customer"] for r in _download(client, "repeat_complainers")}
    assert names == {"Rep Customer 张伟"}
    client.force_login(book.company.rep_b)
    assert _download(client, "categories") == []


def test_downloads_are_posts_of_known_reports(client, book):
    client.force_login(book.company.admin)
    assert client.get("/service/reports/export/categories.csv").status_code == 405
    assert client.post("/service/reports/export/nonsense.csv").status_code == 404
    assert client.post("/service/reports/export/categories.txt").status_code == 404


def test_text_that_a_spreadsheet_would_run_is_neutralised(client, company, desk, clock):
    formula = TicketCategory.objects.create(name='=HYPERLINK("http://x")', name_en="=1+2")
    customer = CustomerFactory(name="=cmd|' /C calc'!A0", owner=company.rep)
    for hour in (9, 10):
        _open(clock, at(12, 1, hour), company.agent, customer, category_id=formula.pk)
    client.force_login(company.rep)
    categories = _download(client, "categories")
    assert categories[0]["category"] == "'=1+2"
    repeaters = _download(client, "repeat_complainers")
    assert repeaters[0]["customer"] == "'=cmd|' /C calc'!A0"
    # Numbers stay numbers.
    assert categories[0]["complaints"] == "2" and categories[0]["share"] == "1.0"
