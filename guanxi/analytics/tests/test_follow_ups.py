"""Churn follow-ups: who sees which, closing them (audited, refused without the right to change
the customer, refused twice), and the page with its Done buttons."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.analytics.models import ChurnFollowUp
from guanxi.analytics.selectors import follow_ups_for_user
from guanxi.analytics.services import follow_up_done
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db


def open_follow_up(customer, value_at_risk=100.0, reason="overdue"):
    return ChurnFollowUp.objects.create(
        customer=customer, owner=customer.owner, reason=reason, value_at_risk=value_at_risk
    )


@pytest.fixture
def follow_ups(company):
    """One open follow-up on each owned customer, worth more the earlier it is listed here."""
    names = ("rep_customer", "teammate_customer", "rep_b_customer", "west_customer")
    return {
        name: open_follow_up(getattr(company, name), value_at_risk=1000.0 - 100 * i)
        for i, name in enumerate(names)
    }


def test_a_rep_sees_the_follow_ups_of_the_customers_they_may_see(company, follow_ups):
    # Team A shares customers for viewing, so the rep sees their teammate's follow-up too.
    listed = list(follow_ups_for_user(company.rep))
    assert listed == [follow_ups["rep_customer"], follow_ups["teammate_customer"]]
    assert list(follow_ups_for_user(company.rep_b)) == [follow_ups["rep_b_customer"]]
    assert list(follow_ups_for_user(company.rep_west)) == [follow_ups["west_customer"]]
    assert [f.customer.name for f in follow_ups_for_user(company.manager)] == [
        "Rep Customer 张伟",
        "Teammate Customer",
        "Team B Customer",
    ]


def test_largest_value_at_risk_first_then_the_oldest(company):
    small = open_follow_up(company.rep_customer, value_at_risk=10.0)
    large = open_follow_up(company.teammate_customer, value_at_risk=500.0)
    tied = open_follow_up(company.rep_b_customer, value_at_risk=500.0)
    assert list(follow_ups_for_user(company.admin)) == [large, tied, small]


def test_marking_done_audits_and_leaves_the_open_list(company, follow_ups):
    follow_up = follow_ups["rep_customer"]
    closed = follow_up_done(actor=company.rep, follow_up_id=follow_up.pk)
    assert closed.done_at is not None
    follow_up.refresh_from_db()
    assert follow_up.done_at == closed.done_at
    event = AuditEvent.objects.get(object_type="churn_follow_up")
    assert (event.actor, event.action, event.object_id, event.customer_id) == (
        company.rep,
        AuditEvent.Action.UPDATE,
        follow_up.pk,
        company.rep_customer.pk,
    )
    assert event.changes["done_at"]["before"] is None
    assert follow_up not in follow_ups_for_user(company.rep)
    assert follow_up in follow_ups_for_user(company.rep, open_only=False)
    # With the old one closed, the customer may have a new open follow-up.
    assert open_follow_up(company.rep_customer).done_at is None


def test_done_twice_is_refused(company, follow_ups):
    follow_up = follow_ups["rep_customer"]
    follow_up_done(actor=company.rep, follow_up_id=follow_up.pk)
    with pytest.raises(ValidationError):
        follow_up_done(actor=company.rep, follow_up_id=follow_up.pk)
    assert AuditEvent.objects.filter(object_type="churn_follow_up").count() == 1


@pytest.mark.parametrize(
    ("user", "customer", "error"),
    [
        ("rep", "teammate_customer", PermissionDenied),  # visible, not changeable
        ("analyst", "rep_customer", PermissionDenied),  # reads everything, writes nothing
        ("rep", "west_customer", Customer.DoesNotExist),  # not even visible
    ],
)
def test_without_the_right_to_change_the_customer_nothing_changes(
    company, follow_ups, user, customer, error
):
    follow_up = follow_ups[customer]
    with pytest.raises(error):
        follow_up_done(actor=getattr(company, user), follow_up_id=follow_up.pk)
    follow_up.refresh_from_db()
    assert follow_up.done_at is None
    assert not AuditEvent.objects.exists()


def test_an_unknown_follow_up_does_not_exist(company):
    with pytest.raises(ChurnFollowUp.DoesNotExist):
        follow_up_done(actor=company.admin, follow_up_id=12345)


def test_the_page_lists_and_closes(client, company, follow_ups):
    client.force_login(company.rep)
    html = client.get("/analytics/follow-ups/").content.decode()
    assert "Rep Customer 张伟" in html and "Teammate Customer" in html
    assert "Team B Customer" not in html and "West Customer" not in html
    assert "Next purchase overdue" in html  # the reason's label, not its key
    follow_up = follow_ups["rep_customer"]
    assert f'action="/analytics/follow-ups/{follow_up.pk}/done/"' in html
    assert "csrfmiddlewaretoken" in html

    response = client.post(f"/analytics/follow-ups/{follow_up.pk}/done/")
    assert response.status_code == 302 and response["Location"] == "/analytics/follow-ups/"
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None
    html = client.get("/analytics/follow-ups/").content.decode()
    assert "marked done" in html  # the message after the redirect
    assert f'action="/analytics/follow-ups/{follow_up.pk}/done/"' not in html

    # Twice: the page says so instead of failing.
    response = client.post(f"/analytics/follow-ups/{follow_up.pk}/done/", follow=True)
    assert response.status_code == 200
    assert "This follow-up is done already." in response.content.decode()


def test_the_page_refuses_what_the_user_may_not_do(client, company, follow_ups):
    client.force_login(company.rep)
    teammate = follow_ups["teammate_customer"]
    assert client.post(f"/analytics/follow-ups/{teammate.pk}/done/").status_code == 403
    west = follow_ups["west_customer"]
    assert client.post(f"/analytics/follow-ups/{west.pk}/done/").status_code == 404
    assert client.post("/analytics/follow-ups/12345/done/").status_code == 404
    assert client.get(f"/analytics/follow-ups/{teammate.pk}/done/").status_code == 405
    assert not ChurnFollowUp.objects.filter(done_at__isnull=False).exists()
    assert not AuditEvent.objects.exists()


def test_the_dashboard_links_to_the_follow_ups_with_a_count(client, company, follow_ups):
    client.force_login(company.rep)
    html = client.get("/analytics/").content.decode()
    assert 'href="/analytics/follow-ups/"' in html
    assert 'title="Open follow-ups">2</span>' in html
