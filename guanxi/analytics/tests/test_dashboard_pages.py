"""The analytics dashboard and its CSV downloads: who sees which figures, filters, exports."""

import csv
import datetime as dt
import io
import re

import pytest

from guanxi.analytics import labels
from guanxi.analytics.models import CustomerValue, TierChange
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.analytics.value import churn, credit, lifecycle, rfm, tiers
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer

CHART_KEYS = ("tiers", "whale", "lifecycle", "clv", "churn", "movement")
ROLES = ("admin", "manager", "manager_west", "rep", "teammate", "rep_b", "rep_west", "agent")


def download(client, chart, **filters) -> list[dict]:
    response = client.post(f"/analytics/export/{chart}/", filters)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert f"guanxi-analytics-{chart}-" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def tier_counts(rows) -> dict[str, int]:
    return {row["tier"]: int(row["customers"]) for row in rows}


@pytest.fixture
def refreshed(book_of_orders):
    analytics_refresh(as_of=AS_OF)
    return book_of_orders


def test_before_the_first_refresh_the_page_says_how_to_run_one(client, company):
    client.force_login(company.analyst)
    response = client.get("/analytics/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "guanxi analytics refresh" in html
    # No chart is drawn on the page itself (the header's notification bell is a drawing too).
    page = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert "<svg" not in page


@pytest.mark.parametrize("username", [*ROLES, "analyst"])
def test_the_dashboard_draws_six_charts_for_every_role(client, refreshed, username):
    client.force_login(refreshed.users[username])
    response = client.get("/analytics/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/analytics/"' in html and 'aria-current="page"' in html  # in the navigation
    for key in CHART_KEYS:
        assert f'id="chart-{key}"' in html
        assert f'action="/analytics/export/{key}/"' in html
    assert "guanxi analytics refresh" not in html
    # Every drawn chart is an accessible image with a title, and none uses a script.
    assert html.count('role="img"') == html.count("<title id=")
    assert "<script" not in html.split('<main id="main"')[1]


def test_the_pages_answer_only_signed_in_users(client, refreshed):
    assert client.get("/analytics/")["Location"].startswith("/accounts/login/")
    assert client.post("/analytics/export/tiers/")["Location"].startswith("/accounts/login/")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_a_download_is_a_post_of_a_known_chart(client, refreshed):
    client.force_login(refreshed.analyst)
    assert client.get("/analytics/export/tiers/").status_code == 405
    assert client.post("/analytics/export/nonsense/").status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_a_rep_sees_the_figures_of_their_customers_only(client, refreshed):
    company = refreshed
    client.force_login(company.analyst)
    assert tier_counts(download(client, "tiers")) == {
        "gold": 1,
        "iron": 1,
        "lead": 2,
        "untiered": 2,
    }
    client.force_login(company.rep)
    # Their own customer (lead, profit -330) and their sharing teammate's (iron, profit 0).
    tier_rows = download(client, "tiers")
    assert tier_counts(tier_rows) == {
        "gold": 0,
        "iron": 1,
        "lead": 1,
        "untiered": 0,
    }
    assert {row["tier"]: float(row["profit"]) for row in tier_rows} == {
        "gold": 0.0,
        "iron": 0.0,
        "lead": -330.0,
        "untiered": 0.0,
    }
    whale = download(client, "whale")
    assert [(int(r["customers"]), float(r["cumulative_profit"])) for r in whale] == [
        (0, 0.0),
        (1, 0.0),
        (2, -330.0),
    ]
    funnel = {row["stage"]: int(row["customers"]) for row in download(client, "lifecycle")}
    assert funnel == {
        "suspect": 0,
        "expectation": 0,
        "first_purchase": 1,
        "repeat_purchase": 1,
        "advocate": 0,
    }
    page = client.get("/analytics/").content.decode()
    assert company.rep_customer.name in page
    assert f'href="/customers/{company.rep_customer.pk}/"' in page
    assert company.rep_b_customer.name not in page


def test_the_churn_list_links_each_flagged_customer_with_reason_and_owner(client, refreshed):
    company = refreshed
    client.force_login(company.manager)
    response = client.get("/analytics/")
    html = response.content.decode()
    shown = response.context["charts"]["churn"].extra["shown"]
    assert [row["id"] for row in shown] == [company.rep_customer.pk]
    assert f'<a href="/customers/{company.rep_customer.pk}/">Rep Customer 张伟</a>' in html
    assert "Next purchase overdue" in html
    assert shown[0]["owner"] == company.rep.label
    assert download(client, "churn") == [
        {
            "customer_id": str(company.rep_customer.pk),
            "customer": "Rep Customer 张伟",
            "tier": "lead",
            "reason": "overdue",
            "value_at_risk": "100.0",
            "value_at_risk_partial": "false",
            "owner": company.rep.label,
        }
    ]
    client.force_login(company.rep_west)
    assert download(client, "churn") == []
    assert "No customer is flagged" in client.get("/analytics/").content.decode()


def test_the_page_lists_fifty_warnings_and_the_download_all_of_them(client, refreshed):
    company = refreshed
    run = CustomerValue.objects.filter(run__is_current=True).first().run
    extra = [Customer(name=f"Risk {i:02}", owner=company.rep) for i in range(60)]
    Customer.objects.bulk_create(extra)
    CustomerValue.objects.bulk_create(
        CustomerValue(
            run=run,
            customer=customer,
            pareto_tier="gold" if i == 59 else "iron",
            churn_flag=True,
            churn_reason="p_alive_low",
            value_at_risk=float(i),
        )
        for i, customer in enumerate(extra)
    )
    client.force_login(company.rep)
    shown = client.get("/analytics/").context["charts"]["churn"].extra["shown"]
    assert len(shown) == 50
    # Gold first, then by value at risk, largest first.
    assert [row["name"] for row in shown[:3]] == ["Risk 59", "Rep Customer 张伟", "Risk 58"]
    assert len(download(client, "churn")) == 61


def test_filters_narrow_every_chart_within_what_the_user_may_see(client, refreshed):
    company = refreshed
    Customer.objects.filter(pk=company.west_customer.pk).update(region="Sichuan")
    Customer.objects.filter(pk=company.rep_b_customer.pk).update(industry="Steel")
    client.force_login(company.analyst)

    by_team = tier_counts(download(client, "tiers", team=company.team_b.pk))
    assert by_team == {
        "gold": 1,
        "iron": 0,
        "lead": 0,
        "untiered": 0,
    }
    assert tier_counts(download(client, "tiers", region="Sichuan")) == {
        "gold": 0,
        "iron": 0,
        "lead": 1,
        "untiered": 0,
    }
    steel = download(client, "lifecycle", industry="Steel")
    assert {r["stage"]: int(r["customers"]) for r in steel}["repeat_purchase"] == 1
    assert sum(int(r["customers"]) for r in steel) == 1
    assert download(client, "churn", team=company.team_b.pk) == []

    page = client.get("/analytics/", {"team": company.team_b.pk})
    charts = page.context["charts"]
    assert [row[1] for row in charts["tiers"].rows] == [1, 0, 0, 0]
    assert charts["whale"].rows[-1][2] == 170.0
    assert 'value="Sichuan"' not in page.content.decode()

    # A filter never widens the view: Team B's customer stays out of the rep's sight.
    client.force_login(company.rep)
    assert tier_counts(download(client, "tiers", team=company.team_b.pk)) == {
        "gold": 0,
        "iron": 0,
        "lead": 0,
        "untiered": 0,
    }
    html = client.get("/analytics/", {"team": company.team_b.pk}).content.decode()
    assert "No customers match these filters." in html


def test_an_invalid_filter_is_dropped(client, refreshed):
    client.force_login(refreshed.analyst)
    assert tier_counts(download(client, "tiers", team="999999")) == {
        "gold": 1,
        "iron": 1,
        "lead": 2,
        "untiered": 2,
    }
    assert client.get("/analytics/", {"team": "nonsense"}).status_code == 200


def test_downloads_neutralise_formulas_and_are_audited(client, refreshed):
    company = refreshed
    Customer.objects.filter(pk=company.rep_customer.pk).update(name='=HYPERLINK("x")')
    client.force_login(company.manager)
    response = client.post("/analytics/export/churn/", {"region": "", "team": company.team_a.pk})
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["customer"] == '\'=HYPERLINK("x")'
    assert row["value_at_risk"] == "100.0"

    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == company.manager
    assert event.object_type == "analytics_chart"
    assert event.changes["chart"]["after"] == "churn"
    assert event.changes["rows"]["after"] == 1
    assert event.changes["filters"]["after"] == {"team": str(company.team_a.pk)}
    assert event.via == "web"

    for key in CHART_KEYS:
        download(client, key)
    exported = AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT, object_type="analytics_chart"
    ).values_list("changes__chart__after", flat=True)
    assert sorted(exported) == sorted([*CHART_KEYS, "churn"])


def test_the_lifetime_value_histogram_counts_every_customer_once(client, refreshed):
    company = refreshed
    values = CustomerValue.objects.filter(run__is_current=True)
    # 1 … 4 for four customers; the other two keep no lifetime value.
    for clv, customer in enumerate(
        [
            company.rep_customer,
            company.teammate_customer,
            company.rep_b_customer,
            company.west_customer,
        ],
        start=1,
    ):
        values.filter(customer=customer).update(clv=float(clv))
    client.force_login(company.analyst)
    rows = download(client, "clv")
    assert len(rows) == 21
    assert rows[-1] == {"bin": "no_value", "from": "", "to": "", "customers": "2"}
    assert sum(int(r["customers"]) for r in rows[:-1]) == 4
    assert float(rows[0]["from"]) == 0.0

    client.force_login(company.rep)
    rows = download(client, "clv")
    assert sum(int(r["customers"]) for r in rows[:-1]) == 2
    assert rows[-1]["customers"] == "0"


def test_tier_movement_between_the_two_latest_runs(client, refreshed):
    company = refreshed
    client.force_login(company.analyst)
    first = {
        (r["from_tier"], r["to_tier"]): int(r["customers"]) for r in download(client, "movement")
    }
    # After the first refresh every customer is new: four to the tiers, and the two who never
    # bought nor cost anything still outside them.
    assert {pair: count for pair, count in first.items() if count} == {
        ("new_or_untiered", "gold"): 1,
        ("new_or_untiered", "iron"): 1,
        ("new_or_untiered", "lead"): 2,
        ("new_or_untiered", "untiered"): 2,
    }

    # A large purchase lifts the West customer from lead to gold.
    book(company.west_customer, dt.date(2026, 2, 1), "9000.00", margin="5000")
    run = analytics_refresh(as_of=AS_OF)
    moved = {
        (c.from_tier, c.to_tier)
        for c in TierChange.objects.filter(run=run, customer=company.west_customer)
    }
    assert moved == {("lead", "gold")}
    second = {
        (r["from_tier"], r["to_tier"]): int(r["customers"]) for r in download(client, "movement")
    }
    # West moved lead → gold and pushed Team B's customer from gold to iron; the teammate's
    # customer (iron), the rep's (lead) and the two untiered stayed where they were.
    assert {pair: count for pair, count in second.items() if count} == {
        ("lead", "gold"): 1,
        ("gold", "iron"): 1,
        ("iron", "iron"): 1,
        ("lead", "lead"): 1,
        ("new_or_untiered", "untiered"): 2,
    }
    assert sum(second.values()) == 6
    assert TierChange.objects.filter(run=run).count() == 2
    page = client.get("/analytics/").context["charts"]["movement"]
    assert page.extra["moved"] == 2

    client.force_login(company.rep_west)
    mine = {
        (r["from_tier"], r["to_tier"]): int(r["customers"]) for r in download(client, "movement")
    }
    assert mine[("lead", "gold")] == 1
    assert sum(mine.values()) == 1


def test_the_translated_labels_name_the_same_keys_as_the_numerics():
    assert set(labels.PARETO_TIERS) == set(tiers.PARETO_TIERS)
    assert set(labels.STAGES) == set(lifecycle.STAGES)
    assert set(labels.REASONS) == set(churn.REASONS)
    assert set(labels.SEGMENTS) == set(rfm.SEGMENTS)
    assert set(labels.RATINGS) == set(credit.RATINGS)
    assert set(labels.QUADRANTS) == set(tiers.QUADRANTS)


def test_the_tier_movement_drawing_holds_all_its_cells_and_labels(client, refreshed):
    """Four tiers after (the untiered beside gold, iron and lead): the drawing is as wide as
    its columns, and the columns' names are short enough to sit over them side by side."""
    client.force_login(refreshed.analyst)
    html = client.get("/analytics/").content.decode()
    drawing = re.search(
        r'<svg class="chart-svg matrix" viewBox="0 0 (\d+) (\d+)".*?</svg>', html, re.S
    )
    width, height = int(drawing.group(1)), int(drawing.group(2))
    cells = [
        (float(x), float(y), float(w))
        for x, y, w in re.findall(
            r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', drawing.group(0)
        )
    ]
    assert len(cells) == 16
    assert all(x + w <= width and y + w <= height for x, y, w in cells)
    column_names = re.findall(
        r'<text x="[\d.]+" dx="31" y="30" text-anchor="middle">([^<]+)</text>', drawing.group(0)
    )
    assert column_names == ["Gold", "Iron", "Lead", "Not tiered"]
    # The figures under the drawing keep the full name, the tier chart's.
    assert '<th class="numeric">Not tiered (never bought, no cost to serve)</th>' in html


def test_the_page_says_which_spend_model_priced_the_lifetime_values(client, company):
    """Every customer spends the same: the run prices purchases at the mean repeat purchase,
    and the page says so in the reader's language."""
    from guanxi.analytics.tests.refresh.test_refresh import _simulated_base

    _simulated_base(100, seed=7, every_amount=50.0)
    analytics_refresh(as_of=AS_OF)
    client.force_login(company.analyst)
    html = client.get("/analytics/").content.decode()
    assert "at the mean of all repeat purchases" in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/analytics/"})
    html = client.get("/analytics/").content.decode()
    assert "按全部复购的平均金额计" in html
