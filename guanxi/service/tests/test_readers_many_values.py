"""Who may see a batch's customers is asked for many people's scopes at once, and a manager's
scope names each member of their department: the scopes asked in one query must together stay
within the values SQLite takes in one query as built by default (32,766), or the SLA sweep
fails every minute for a batch whose chains name the managers of two large departments."""

import sqlite3

import pytest
from django.db import connection

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.service.selectors import customer_readers

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_sqlite_limit():
    """SQLite's limit on a query's values as a default build has it (this one may take more)."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
    yield
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def _staff(department, count: int, prefix: str) -> None:
    User.objects.bulk_create(
        User(username=f"{prefix}{i}", role=Role.SALES_REP, department=department, password="!")
        for i in range(count)
    )


def test_the_managers_of_two_large_departments_are_asked_about_together(
    company, default_sqlite_limit
):
    _staff(company.east, 17_000, "east")
    _staff(company.west, 17_000, "west")
    east, west = company.manager, company.manager_west
    readers = customer_readers(
        [company.rep_customer.pk, company.west_customer.pk, company.agent_customer.pk],
        [east, west, company.agent],
    )
    assert readers == {
        company.rep_customer.pk: [east, company.agent],
        company.west_customer.pk: [west, company.agent],
        company.agent_customer.pk: [company.agent],
    }
