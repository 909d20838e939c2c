"""``guanxi scheduler`` refuses an interval it could not wait, instead of checking in a busy
loop (zero or less) or failing at the first wait."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.django_db
@pytest.mark.parametrize("interval", ["0", "-1", "nan", "inf"])
def test_an_interval_that_is_not_a_positive_number_is_refused(interval):
    with pytest.raises(CommandError, match="--interval must be a positive number") as error:
        # --once, so that a refusal missing would end the test instead of looping.
        call_command(
            "scheduler", "--once", "--interval", interval, stdout=StringIO(), stderr=StringIO()
        )
    assert error.value.returncode == 2
