"""``guanxi service_mail fetch`` refuses numbers it cannot use before connecting: an interval
that cannot be waited and a port out of range (reported as a refused connection before)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.parametrize(
    "arguments, option",
    [
        (["--interval", "inf"], "--interval"),
        (["--port", "99999"], "--port"),
        (["--port", "0"], "--port"),
    ],
)
def test_unusable_numbers_are_refused_before_connecting(arguments, option, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")

    def connect(*args, **kwargs):
        raise AssertionError("no connection may be made")

    monkeypatch.setattr("guanxi.service.management.commands.service_mail._connect", connect)
    with pytest.raises(CommandError, match=f"argument {option}"):
        call_command(
            "service_mail", "fetch", "--host", "imap.example.com", "--user", "desk",
            "--password-env", "TEST_IMAP_PASSWORD", *arguments,
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
