"""A mail server timeout (``GUANXI_EMAIL_TIMEOUT``) so long that a sending could outlast its claim
is refused by a system check naming the setting: past 24 minutes, sixty times the timeout is
longer than the most a claim holds (the day the sweep tries an email), and the sweep would take
over an email a slow sending may still deliver, sending it twice."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from guanxi.service.checks import LONGEST_EMAIL_TIMEOUT, email_timeout_outlasts_the_claim
from guanxi.service.models import CLAIM_HOLDS_TIMEOUTS, RETRY_FOR, claim_holds_for


def test_every_timeout_the_check_lets_through_is_outlasted_by_its_claim(settings):
    for timeout in (1, 10, 60, LONGEST_EMAIL_TIMEOUT):
        settings.EMAIL_TIMEOUT = timeout
        assert email_timeout_outlasts_the_claim() == []
        assert claim_holds_for() >= timedelta(seconds=timeout * CLAIM_HOLDS_TIMEOUTS)
    assert LONGEST_EMAIL_TIMEOUT == 24 * 60


@pytest.mark.parametrize("timeout", [LONGEST_EMAIL_TIMEOUT + 1, 3600, 10**10])
def test_a_timeout_a_sending_could_outlast_its_claim_by_is_an_error_naming_the_setting(
    settings, timeout
):
    settings.EMAIL_TIMEOUT = timeout
    # The claim cannot follow such a timeout: it holds no longer than the sweep tries.
    assert claim_holds_for() <= RETRY_FOR < timedelta(seconds=timeout * CLAIM_HOLDS_TIMEOUTS)
    [error] = email_timeout_outlasts_the_claim()
    assert error.id == "service.E001" and error.is_serious()
    assert "GUANXI_EMAIL_TIMEOUT" in error.msg and str(timeout) in error.msg
    assert error.hint == "Set GUANXI_EMAIL_TIMEOUT to at most 1440 seconds."


def test_commands_refuse_to_start_with_such_a_timeout(settings):
    settings.EMAIL_TIMEOUT = 1500
    with pytest.raises(SystemCheckError, match="GUANXI_EMAIL_TIMEOUT"):
        call_command("check")
    settings.EMAIL_TIMEOUT = 10
    call_command("check")
