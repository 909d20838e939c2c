"""``guanxi demo-tickets`` against the real database (SQLite or PostgreSQL): the tickets it
writes carry the policy, deadlines and next check the service itself would give them."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from guanxi.service.calendar import add_business_minutes
from guanxi.service.models import SlaNotification, Ticket, TicketStatusChange
from guanxi.service.routing import policy_for
from guanxi.service.services import recompute_deadlines
from guanxi.service.sweep import sla_sweep

pytestmark = pytest.mark.django_db

# A Wednesday morning in Beijing, when both the office-hours and the round-the-clock
# calendars run.
AS_OF = dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC)
DEADLINES = ("first_response_due", "next_response_due", "resolution_due", "sla_check_at")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def demo_tickets(*args: str) -> str:
    out = StringIO()
    call_command(
        "demo_tickets", *args, "--as-of", AS_OF.isoformat(), "--verbosity", "0", stdout=out
    )
    return out.getvalue()


@pytest.fixture
def customers():
    call_command(
        "demo_data",
        "--customers",
        "200",
        "--orders-per-customer",
        "0",
        "--no-duplicate-index",
        "--verbosity",
        "0",
        stdout=StringIO(),
    )


def test_deadlines_are_what_the_service_computes(customers):
    output = demo_tickets("--total", "300", "--seed", "3")
    assert output.startswith("Loaded 300 tickets")
    tickets = list(
        Ticket.objects.select_related("sla_policy__calendar")
        .order_by("id")
        .prefetch_related("status_changes")
    )
    assert len(tickets) == 300
    assert max(t.created_at for t in tickets) == AS_OF
    assert min(t.created_at for t in tickets) > AS_OF - dt.timedelta(days=31)
    assert {t.status for t in tickets} == {"new", "open", "pending_customer"}
    assert 0.3 < sum(t.type == "complaint" for t in tickets) / 300 < 0.5
    assert any(t.assignee_id is None for t in tickets)
    assert any(t.waiting_since is not None for t in tickets)
    for ticket in tickets:
        history = list(ticket.status_changes.all())
        assert (history[0].from_status, history[0].to_status) == ("", "new")
        assert history[0].at == ticket.created_at
        assert history[-1].to_status == ticket.status
        assert ticket.sla_policy == policy_for(ticket, tier="")
        if ticket.first_responded_at is not None:
            # The first response's verdict, against the deadline it had before the reply.
            policy = ticket.sla_policy
            due = add_business_minutes(
                policy.calendar.calendar, ticket.created_at, policy.first_response_minutes
            )
            assert ticket.first_response_met == (ticket.first_responded_at <= due)
        else:
            assert ticket.first_response_met is None
        stored = [getattr(ticket, name) for name in DEADLINES]
        recompute_deadlines(ticket, now=AS_OF)
        assert [getattr(ticket, name) for name in DEADLINES] == stored, ticket.pk

    # What had come due was recorded (and emailed) as a sweep every minute would have done:
    # a sweep at the moment of the load finds nothing new; a day later it does.
    recorded = SlaNotification.objects.count()
    assert recorded > 0
    assert not SlaNotification.objects.filter(emailed_at__isnull=True).exists()
    assert not SlaNotification.objects.filter(created_at__gt=AS_OF).exists()
    assert sla_sweep(now=AS_OF).notifications == 0
    assert SlaNotification.objects.count() == recorded
    later = sla_sweep(now=AS_OF + dt.timedelta(days=1))
    assert later.tickets > 0 and later.notifications > 0


def test_the_same_total_is_reused_and_another_replaces_them(customers):
    demo_tickets("--total", "120")
    first_ids = list(Ticket.objects.order_by("id").values_list("id", flat=True))
    assert demo_tickets("--total", "120").startswith("Reusing the 120 tickets")
    assert list(Ticket.objects.order_by("id").values_list("id", flat=True)) == first_ids
    demo_tickets("--total", "80", "--seed", "2")
    assert Ticket.objects.count() == 80
    histories = Ticket.objects.annotate(steps=Count("status_changes")).values_list(
        "steps", flat=True
    )
    assert min(histories) >= 1
    assert TicketStatusChange.objects.count() == sum(histories)


def test_a_total_of_zero_empties_the_desk(customers):
    demo_tickets("--total", "50")
    assert demo_tickets("--total", "0").startswith("Loaded 0 tickets")
    assert not Ticket.objects.exists() and not SlaNotification.objects.exists()


def test_tickets_are_marked_with_the_language_they_are_written_in(customers):
    # As the service marks a ticket it opens, so mail about a Chinese one goes out in Chinese,
    # in Traditional Chinese to the customers who write Traditional characters.
    from guanxi.demo.tickets import SUBJECT_TEXTS, TRADITIONAL_SUBJECTS

    demo_tickets("--total", "200", "--seed", "3")
    tickets = list(Ticket.objects.only("subject", "language", "customer_id"))
    assert len(tickets) == 200
    traditional = set(TRADITIONAL_SUBJECTS.values())
    for ticket in tickets:
        assert ticket.subject in traditional or ticket.subject in SUBJECT_TEXTS
        expected = "zh-hant" if ticket.subject in traditional else "zh-hans"
        assert ticket.language == expected, ticket.subject
    written_in = {ticket.language for ticket in tickets}
    assert written_in == {"zh-hans", "zh-hant"}
    # A customer writes all their requests in the one script.
    by_customer: dict[int, set[str]] = {}
    for ticket in tickets:
        by_customer.setdefault(ticket.customer_id, set()).add(ticket.language)
    assert all(len(languages) == 1 for languages in by_customer.values())
