"""``guanxi serve`` refuses a port, worker or thread count it could not serve with, before it
starts the helpers or prints where to sign in."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--port", "99999"], "--port must be from 1 to 65535"),
        (["--port", "-1"], "--port must be from 1 to 65535"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_unusable_numbers_are_refused_before_serving(arguments, message, monkeypatch):
    def started(*args, **kwargs):
        raise AssertionError("nothing may be started")

    monkeypatch.setattr("guanxi.demo.management.commands.serve.subprocess.Popen", started)
    monkeypatch.setattr("guanxi.demo.management.commands.serve.GuanxiServer", started)
    out = StringIO()
    with pytest.raises(CommandError, match=message) as error:
        call_command("serve", *arguments, stdout=out, stderr=StringIO())
    assert error.value.returncode == 2
    assert out.getvalue() == ""
