"""``guanxi demo-tickets --as-of`` refuses a moment the service-level clocks cannot handle (a
mistyped year) or that does not exist, with a message naming it, before writing anything."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from guanxi.service.models import Ticket


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment, message",
    [
        ("9999-12-31T00:00", "more than a century away"),
        ("1026-03-02T09:00", "more than a century away"),
        ("2026-02-30T10:00", "expected an ISO 8601 moment"),
    ],
)
def test_an_unusable_as_of_is_refused(company, moment, message):
    with pytest.raises(CommandError, match=f"--as-of: .*{message}"):
        call_command(
            "demo_tickets", "--total", "3", "--as-of", moment, "--workers", "1",
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert not Ticket.objects.exists()
