"""What every PostgreSQL session of the application asks of the server (guanxi/settings/base.py)."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own settings"),
]


def _show(setting: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {setting}")
        return cursor.fetchone()[0]


def test_the_server_notices_a_vanished_client_within_minutes():
    # A session whose client's machine vanished holds its locks (an import runner's job lock)
    # until the server notices; by default the server asks after two hours.
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_addr() IS NULL")
        if cursor.fetchone()[0]:
            pytest.skip("over a Unix socket, where TCP keepalives do not apply")
    assert (
        _show("tcp_keepalives_idle"),
        _show("tcp_keepalives_interval"),
        _show("tcp_keepalives_count"),
    ) == ("60", "10", "6")


def test_the_planner_settings_are_those_the_searches_were_measured_with():
    assert (_show("random_page_cost"), _show("jit")) == ("1.1", "off")
