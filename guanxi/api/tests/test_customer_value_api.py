"""A customer's value figures and blacklist entry through the API."""

import datetime as dt

from guanxi.analytics.models import Blacklist
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book
from guanxi.audit.models import AuditEvent


def test_value_is_null_before_a_refresh_and_the_run_s_figures_after(api_as, company):
    rep = api_as("rep")
    url = f"/customers/{company.rep_customer.pk}/value"
    assert rep.get(url).json() == {
        "value": None,
        "blacklist": None,
        "customer_version": company.rep_customer.version,
    }
    run = analytics_refresh()
    value = rep.get(url).json()["value"]
    assert value["as_of"] == run.as_of.isoformat()
    assert value["rfm_segment"] == "none" and value["purchase_days"] == 0
    assert value["credit_rating"] == "unrated" and value["clv"] is None


def test_a_value_at_risk_the_figures_cannot_tell_is_null(api_as, company):
    # Overdue, after buying in USD only: the figures, in CNY, hold nothing of it.
    for days in (400, 370, 340):
        book(company.rep_customer, AS_OF - dt.timedelta(days=days), "100.00", currency="USD")
    analytics_refresh(as_of=AS_OF)
    value = api_as("rep").get(f"/customers/{company.rep_customer.pk}/value").json()["value"]
    assert value["churn_reason"] == "overdue" and value["value_at_risk"] is None


def test_a_value_at_risk_counting_only_the_settings_currency_is_marked_partial(api_as, company):
    # Overdue, after buying in CNY and, between, in USD: the figures count the CNY part alone.
    for days in (400, 370, 340):
        book(company.rep_customer, AS_OF - dt.timedelta(days=days), "100.00", margin="30")
        book(company.teammate_customer, AS_OF - dt.timedelta(days=days), "100.00", margin="30")
    book(company.rep_customer, AS_OF - dt.timedelta(days=385), "500.00", currency="USD")
    analytics_refresh(as_of=AS_OF)
    rep = api_as("rep")
    mixed = rep.get(f"/customers/{company.rep_customer.pk}/value").json()["value"]
    assert mixed["value_at_risk"] == 90 and mixed["value_at_risk_partial"] is True
    whole = rep.get(f"/customers/{company.teammate_customer.pk}/value").json()["value"]
    assert whole["value_at_risk"] == 90 and whole["value_at_risk_partial"] is False


def test_blacklisting_is_audited_refused_twice_and_undone(api_as, company):
    rep = api_as("rep")
    url = f"/customers/{company.rep_customer.pk}/blacklist"
    response = rep.post(url, {"reason": "  never pays  "})
    assert response.status_code == 201, response.json()
    entry = response.json()["blacklist"]
    assert entry["reason"] == "never pays" and entry["added_by"]["username"] == "rep"
    assert AuditEvent.objects.filter(object_type="blacklist").count() == 1

    again = rep.post(url, {"reason": "still"})
    assert again.status_code == 422
    [error] = again.json()["errors"]
    assert error["field"] == "customer_id" and "already" in error["message"]
    blank = rep.post(f"/customers/{company.teammate_customer.pk}/blacklist", {"reason": " "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"

    version = response.json()["customer_version"]
    assert rep.delete(url, {"version": version}).status_code == 204
    assert not Blacklist.objects.exists()
    gone = rep.delete(url, {"version": version + 1})
    assert gone.status_code == 422
    assert [e["field"] for e in gone.json()["errors"]] == ["customer_id"]
    assert AuditEvent.objects.filter(object_type="blacklist").count() == 2


def test_a_read_only_analyst_sees_the_entry_but_may_not_change_it(api_as, company):
    api_as("rep").post(f"/customers/{company.rep_customer.pk}/blacklist", {"reason": "fraud"})
    analyst = api_as("analyst")
    card = analyst.get(f"/customers/{company.rep_customer.pk}/value").json()
    assert card["blacklist"]["reason"] == "fraud"
    refused = analyst.delete(
        f"/customers/{company.rep_customer.pk}/blacklist", {"version": card["customer_version"]}
    )
    assert refused.status_code == 403
    assert Blacklist.objects.count() == 1


def test_taking_off_the_blacklist_takes_the_customers_version(api_as, company):
    rep, manager = api_as("rep"), api_as("manager")
    url = f"/customers/{company.rep_customer.pk}/blacklist"
    seen = rep.post(url, {"reason": "late payer"}).json()["customer_version"]

    missing = rep.delete(url)
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["version"]
    # Meanwhile the manager takes the entry off and puts it back for a graver reason.
    assert manager.delete(url, {"version": seen}).status_code == 204
    now = manager.post(url, {"reason": "fraud"}).json()["customer_version"]
    stale = rep.delete(url, {"version": seen})
    assert stale.status_code == 409
    body = stale.json()
    assert [e["field"] for e in body["errors"]] == ["version"]
    assert body["current_version"] == now
    assert Blacklist.objects.get().reason == "fraud"

    # The customer's ETag does as well as the version.
    etag = rep.get(f"/customers/{company.rep_customer.pk}")["ETag"]
    assert rep.delete(url, headers={"If-Match": etag}).status_code == 204
    assert not Blacklist.objects.exists()
