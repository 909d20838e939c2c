"""Every ask for a link to set a password first deletes the counts whose window is over
(``reset_limits``), filtering on when each window started: without an index on it that reads
the whole table on every ask, whoever is asking."""

import pytest
from django.db import connection

from guanxi.accounts.models import PasswordResetCount

pytestmark = pytest.mark.django_db


def test_the_window_start_is_indexed_in_the_database():
    table = PasswordResetCount._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    leading = [c["columns"][0] for c in constraints.values() if c["index"] and c["columns"]]
    assert "window_started_at" in leading
