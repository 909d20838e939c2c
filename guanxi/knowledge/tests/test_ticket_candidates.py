"""The past tickets a similar case is looked for among: those holding the most probe tokens,
newest first among equals. On PostgreSQL they are found through the GIN index on the done
tickets' tokens (service migration 0005), which must change nothing but the speed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.knowledge import search, selectors
from guanxi.service.models import Ticket
from guanxi.service.selectors import tickets_for_user

from .conftest import open_ticket, resolve

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's token index"
)

TEXTS = [
    "退款一直没到账",
    "退款申请被拒绝",
    "退款到账很慢，客户着急",
    "安装师傅迟到",
    "安装后设备无法使用，申请退款",
    "Refund not received",
    "Refund refused, parcel lost",
    "Parcel lost in transit",
    "设备 parcel 退款",
]
QUERIES = ["客户申请退款，还没到账", "parcel lost, refund please", "安装师傅", "设备无法使用"]


@pytest.fixture
def done_tickets(company):
    """Resolved tickets sharing tokens in many ways (so that counts tie and the limit cuts
    among equals), of customers different users see; one still open, one with stray spaces in
    its tokens."""
    customers = [company.rep_customer, company.west_customer, company.agent_customer]
    tickets = []
    for number, text in enumerate(TEXTS):
        customer = customers[number % len(customers)]
        tickets.append(resolve(company.agent, open_ticket(company.agent, customer, text), "好"))
    Ticket.objects.filter(pk=tickets[0].pk).update(
        search_text="  " + tickets[0].search_text.replace(" ", "  ") + " "
    )
    open_ticket(company.agent, company.rep_customer, "退款没到账")
    return tickets


def _counted(user, probes) -> list[tuple[int, int]]:
    """(id, hits) of the candidates, worked out in Python from every done ticket."""
    rows = tickets_for_user(user).filter(status__in=Ticket.DONE_STATUSES, merged_into__isnull=True)
    counted = []
    for pk, text in rows.values_list("pk", "search_text"):
        tokens = set(text.split())
        hits = sum(probe in tokens for probe in probes)
        if hits:
            counted.append((pk, hits))
    counted.sort(key=lambda row: (-row[1], -row[0]))
    return counted[: selectors.CANDIDATES]


@pytest.mark.parametrize("username", ["admin", "agent", "manager", "rep"])
def test_the_candidates_are_the_done_tickets_holding_the_most_probes(
    company, done_tickets, monkeypatch, username
):
    monkeypatch.setattr(selectors, "CANDIDATES", 3)  # so that the limit cuts among equals
    user = company.users[username]
    sizes = []
    for text in QUERIES + TEXTS:
        probes = search.probe_tokens(text)
        found = selectors._ticket_candidates(user, probes, exclude_ticket_id=None)
        assert [(t.pk, t.knowledge_hits) for t in found] == _counted(user, probes), text
        sizes.append(len(found))
    if username in ("admin", "agent"):  # who sees every customer's tickets
        assert max(sizes) == 3


@postgresql_only
@pytest.mark.parametrize("username", ["admin", "agent", "manager"])
def test_the_index_condition_gives_what_the_scan_gives(
    company, done_tickets, monkeypatch, username
):
    monkeypatch.setattr(selectors, "CANDIDATES", 3)
    user = company.users[username]
    scanned = tickets_for_user(user).filter(
        status__in=Ticket.DONE_STATUSES, merged_into__isnull=True
    )
    found = 0
    for ticket in done_tickets:
        probes = search.probe_tokens(ticket.subject, ticket.search_text)
        indexed = selectors._ticket_candidates(user, probes, exclude_ticket_id=ticket.pk)
        scan = selectors._candidates(scanned.exclude(pk=ticket.pk), probes)
        candidates = [(t.pk, t.knowledge_hits) for t in indexed]
        assert candidates == [(t.pk, t.knowledge_hits) for t in scan], ticket.subject
        found += len(candidates)
    assert found


@postgresql_only
def test_on_postgresql_the_done_tickets_are_found_through_the_token_index(company, done_tickets):
    with CaptureQueriesContext(connection) as queries:
        selectors.similar_cases(user=company.agent, text="退款 parcel")
    (sql,) = [q["sql"] for q in queries if 'FROM "service_ticket"' in q["sql"]]
    # The customers' search expression, whole tokens (no prefix), quoted as lexemes.
    assert search.POSTGRES_DOCUMENT.format('"service_ticket"."search_text"') in sql
    assert "@@ '''退款'' | ''parcel'''::tsquery" in sql
    # And the planner answers it from the partial index on the done tickets, once there are
    # enough tickets for an index to be worth reading (half of them done, none with a probe).
    Ticket.objects.bulk_create(
        Ticket(
            type="inquiry",
            subject="Filler",
            customer=company.agent_customer,
            status="resolved" if number % 2 else "new",
            search_text=f"filler word{number}",
        )
        for number in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE service_ticket")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_search_tokens" in plan, plan


@postgresql_only
def test_tokens_are_quoted_so_nothing_in_them_is_parsed():
    tokens = ["退款", "o'neil", "a\\b", "x:*", "!&|"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_to_tsvector(%s) @@ %s::tsquery, array_to_tsvector(%s) @@ %s::tsquery",
            [
                tokens[1:2],
                search.postgres_any_token(tokens),
                ["x"],
                search.postgres_any_token(tokens),
            ],
        )
        assert cursor.fetchone() == (True, False)
        cursor.execute(
            "SELECT array_to_tsvector(%s) @@ %s::tsquery",
            [["a\\b", "x:*", "!&|"], search.postgres_any_token(["a\\b"])],
        )
        assert cursor.fetchone() == (True,)
