"""The cost to serve charges the service desk's tickets: each ticket opened up to the end of the
as_of day (the span the contacts are counted over), at the unit cost of ``ticket_handled``,
a duplicate merged into another ticket not counting; settings without that unit cost leave
them out and say so."""

import datetime as dt
import importlib

import pytest
from django.utils import translation

from guanxi.analytics.dashboard import tier_rule
from guanxi.analytics.models import TICKET_HANDLED, CustomerValue, ValueSettings
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF
from guanxi.analytics.tests.refresh.conftest import at, open_ticket
from guanxi.audit.models import AuditEvent
from guanxi.core.testing import MigrationEditor, models_at
from guanxi.service import services

migration = importlib.import_module(
    "guanxi.analytics.migrations.0008_unit_cost_of_handling_a_ticket"
)

TICKET_COST = 25.0  # the default unit cost of a ticket handled


def _value(run, customer) -> CustomerValue:
    return CustomerValue.objects.get(run=run, customer=customer)


def test_a_customer_who_only_files_tickets_costs_their_handling_and_is_lead(book_of_orders, moment):
    company = book_of_orders
    prospect = company.unowned_customer  # never bought, never contacted
    for days_before in range(6):
        open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=days_before), 10))
    # Every kind costs its handling, a praise as much as a complaint.
    open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=30), 10), kind="praise")
    # The teammate's one purchase just paid for its handling (margin 20, one order 20): one
    # inquiry makes them cost more than they bring.
    open_ticket(moment, company, company.teammate_customer, at(AS_OF, 9), kind="inquiry")

    run = analytics_refresh(as_of=AS_OF)

    prospect_value = _value(run, prospect)
    assert prospect_value.cost_to_serve == pytest.approx(7 * TICKET_COST)
    assert prospect_value.profit == pytest.approx(-7 * TICKET_COST)
    assert prospect_value.pareto_tier == "lead"
    teammate = _value(run, company.teammate_customer)
    assert teammate.cost_to_serve == pytest.approx(20 + TICKET_COST)
    assert teammate.profit == pytest.approx(-TICKET_COST)
    assert teammate.pareto_tier == "lead"
    # The others' figures are those worked out by hand in test_refresh.
    assert _value(run, company.rep_customer).cost_to_serve == pytest.approx(430)
    assert _value(run, company.agent_customer).pareto_tier == ""
    assert run.figures["activities_without_unit_cost"] == []


def test_a_duplicate_merged_into_another_ticket_is_not_charged_again(book_of_orders, moment):
    company = book_of_orders
    prospect = company.unowned_customer
    kept = open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=3), 10))
    for minutes in (5, 10):
        duplicate = open_ticket(
            moment, company, prospect, at(AS_OF - dt.timedelta(days=3), 10, minutes)
        )
        services.ticket_merge(actor=company.agent, ticket_id=duplicate.pk, into_id=kept.pk)
    open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=1), 10))

    run = analytics_refresh(as_of=AS_OF)

    # Four tickets were opened; two of them went into the first: two requests handled.
    assert _value(run, prospect).cost_to_serve == pytest.approx(2 * TICKET_COST)


def test_tickets_are_counted_up_to_the_end_of_the_as_of_day_as_the_contacts_are(
    book_of_orders, moment
):
    company = book_of_orders
    prospect = company.unowned_customer
    open_ticket(moment, company, prospect, at(AS_OF - dt.timedelta(days=800), 10))  # long ago
    open_ticket(moment, company, prospect, at(AS_OF, 23, 30))  # late on the as_of day
    open_ticket(moment, company, prospect, at(AS_OF + dt.timedelta(days=1), 0, 10))  # next day

    run = analytics_refresh(as_of=AS_OF)
    assert _value(run, prospect).cost_to_serve == pytest.approx(2 * TICKET_COST)
    # A refresh as of the day before sees neither of the last two; one as of the next day, all.
    run = analytics_refresh(as_of=AS_OF - dt.timedelta(days=1))
    assert _value(run, prospect).cost_to_serve == pytest.approx(TICKET_COST)
    run = analytics_refresh(as_of=AS_OF + dt.timedelta(days=1))
    assert _value(run, prospect).cost_to_serve == pytest.approx(3 * TICKET_COST)


def test_settings_without_a_unit_cost_for_tickets_leave_them_out_and_say_so(book_of_orders, moment):
    company = book_of_orders
    value_settings = ValueSettings.load()
    value_settings.unit_costs = {
        name: cost for name, cost in value_settings.unit_costs.items() if name != TICKET_HANDLED
    }
    value_settings.save()
    open_ticket(moment, company, company.unowned_customer, at(AS_OF, 10))

    run = analytics_refresh(as_of=AS_OF)

    assert _value(run, company.unowned_customer).cost_to_serve == 0
    assert _value(run, company.unowned_customer).pareto_tier == ""
    assert run.figures["activities_without_unit_cost"] == [TICKET_HANDLED]


def test_the_tier_caption_names_what_the_run_charged_those_who_never_bought(book_of_orders, moment):
    company = book_of_orders
    # west_customer never bought: a cancelled order and a call make them lead.
    run = analytics_refresh(as_of=AS_OF)
    assert _value(run, company.west_customer).pareto_tier == "lead"
    with translation.override("en"):
        caption = tier_rule(run)
    assert (
        "Customers who never bought are lead when serving them (contacts, service tickets, "
        "orders cancelled or refunded) has cost something, and otherwise not tiered." in caption
    )

    # Settings pricing no ticket: a run made with them charged none, whatever the settings
    # say by the time its caption is read.
    value_settings = ValueSettings.load()
    priced = dict(value_settings.unit_costs)
    value_settings.unit_costs = {n: c for n, c in priced.items() if n != TICKET_HANDLED}
    value_settings.save()
    open_ticket(moment, company, company.unowned_customer, at(AS_OF, 10))
    run = analytics_refresh(as_of=AS_OF)
    assert _value(run, company.unowned_customer).pareto_tier == ""
    value_settings.unit_costs = priced
    value_settings.save()
    captions = {
        "en": "Customers who never bought are lead when serving them (contacts, orders "
        "cancelled or refunded) has cost something, and otherwise not tiered.",
        "zh-hans": "从未购买的客户若服务他们（联系、已取消或已退款的订单）已产生成本则为铅，"
        "否则不分层。",
        "zh-hant": "從未購買的客戶若服務他們（聯繫、已取消或已退款的訂單）已產生成本則爲鉛，"
        "否則不分層。",
    }
    for language, expected in captions.items():
        with translation.override(language):
            caption = tier_rule(run)
        assert expected in caption
        assert "service tickets" not in caption and "工单" not in caption and "工單" not in caption


# --- the migration -------------------------------------------------------------------------


def _run_the_migration() -> None:
    migration.price_tickets_where_the_defaults_are_kept(
        models_at("analytics", "0008_unit_cost_of_handling_a_ticket"), MigrationEditor()
    )


def test_the_default_unit_costs_are_the_old_ones_and_a_ticket():
    assert ValueSettings().unit_costs == {
        **migration.OLD_DEFAULT_UNIT_COSTS,
        migration.TICKET_HANDLED: migration.TICKET_HANDLED_DEFAULT,
    }
    assert migration.TICKET_HANDLED == TICKET_HANDLED


@pytest.mark.django_db
def test_the_migration_prices_tickets_where_the_old_defaults_are_kept():
    ValueSettings.objects.create(pk=1, unit_costs=dict(migration.OLD_DEFAULT_UNIT_COSTS))

    _run_the_migration()

    value_settings = ValueSettings.objects.get(pk=1)
    assert value_settings.unit_costs[TICKET_HANDLED] == migration.TICKET_HANDLED_DEFAULT
    assert value_settings.version == 2  # a settings page opened before cannot save over it
    event = AuditEvent.objects.get(object_type="value_settings")
    assert event.changes["unit_costs"]["before"] == migration.OLD_DEFAULT_UNIT_COSTS
    assert event.changes["unit_costs"]["after"] == value_settings.unit_costs


@pytest.mark.django_db
def test_the_migration_leaves_unit_costs_someone_set_alone():
    own = {**migration.OLD_DEFAULT_UNIT_COSTS, "visit": 500}
    ValueSettings.objects.create(pk=1, unit_costs=own)

    _run_the_migration()

    value_settings = ValueSettings.objects.get(pk=1)
    assert value_settings.unit_costs == own and value_settings.version == 1
    assert not AuditEvent.objects.filter(object_type="value_settings").exists()
