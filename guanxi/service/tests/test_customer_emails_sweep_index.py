"""The every-minute sweep reads the emails to customers it may (re)try through an index of those
neither sent nor given up: the ones given up stay unsent for good, and would otherwise pile up
in the index the sweep reads every minute. The sweep's own query, as it runs, is explained on
the database the suite runs on; the planner is told to avoid a sequential scan, which it
prefers on a table of a few rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.service import services

pytestmark = pytest.mark.django_db

INDEX = "customer_email_to_send"


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_sweeps_query_reads_the_index_of_emails_to_send():
    with CaptureQueriesContext(connection) as queries:
        services.customer_emails_retry(now=timezone.now())
    [query] = [q["sql"] for q in queries.captured_queries if "customeremail" in q["sql"]]
    assert INDEX in _plan(query)


def test_the_query_of_emails_to_give_up_reads_it_too():
    with CaptureQueriesContext(connection) as queries:
        services.customer_emails_to_give_up(now=timezone.now())
    [query] = [q["sql"] for q in queries.captured_queries if "customeremail" in q["sql"]]
    assert INDEX in _plan(query)
