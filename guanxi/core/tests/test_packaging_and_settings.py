"""The product as an operator installs and runs it: the wheel, the console command, and the
production settings."""

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from guanxi.core.testing.mail import running_mail_server

REPO = Path(__file__).resolve().parents[3]
GUANXI = [sys.executable, "-m", "guanxi"]


def _production_env(**extra: str) -> dict[str, str]:
    # Only what an operator would set: nothing from the test run (the browser tests, for
    # instance, relax Django's async-safety check in this process).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUANXI_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="guanxi.settings.production",
        GUANXI_SECRET_KEY="a-production-secret-from-the-environment-" + "x" * 40,
        GUANXI_FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        GUANXI_ALLOWED_HOSTS="crm.example.com",
        **extra,
    )
    return env


def _guanxi_in_production(*args: str, **environment: str) -> subprocess.CompletedProcess:
    """``guanxi ARGS`` run as an operator would, with the production settings and
    ``environment`` besides."""
    return subprocess.run(
        [*GUANXI, *args],
        env=_production_env(**environment),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checklist():
    result = _guanxi_in_production("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_its_secrets():
    env = _production_env()
    del env["GUANXI_SECRET_KEY"]
    result = subprocess.run(
        [*GUANXI, "check"], env=env, capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode != 0
    assert "GUANXI_SECRET_KEY" in result.stderr


def test_wheel_carries_templates_static_translations_migrations_and_the_command(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("guanxi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "guanxi/locale/zh_Hans/LC_MESSAGES/django.mo" in names
    assert "guanxi/customers/migrations/0001_initial.py" in names
    assert any(n.startswith("guanxi/web/static/") for n in names)
    assert any(n.startswith("guanxi/customers/templates/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "guanxi = guanxi.__main__:main" in text


@pytest.mark.parametrize(
    ("variable", "values"),
    [
        ("GUANXI_EXPORT_BACKGROUND_ROWS", ("20k", "-5", "1.5")),
        ("GUANXI_IMPORT_UPLOAD_RETENTION_DAYS", ("7d", "-1")),
    ],
)
def test_a_number_setting_that_is_no_number_stops_start_up_naming_the_variable(variable, values):
    # The operator's typo must name itself, not end in a bare int() error from the settings.
    for value in values:
        result = _guanxi_in_production("check", **{variable: value})
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        expected = f"{variable} must be a whole number of at least 0; it is {value!r}"
        assert expected in result.stderr


def test_a_number_setting_is_read_when_it_is_a_whole_number(monkeypatch):
    from guanxi.settings.base import env_int

    monkeypatch.setenv("GUANXI_EXAMPLE_ROWS", " 500 ")
    assert env_int("GUANXI_EXAMPLE_ROWS", 20000) == 500
    monkeypatch.setenv("GUANXI_EXAMPLE_ROWS", "")
    assert env_int("GUANXI_EXAMPLE_ROWS", 20000) == 20000
    monkeypatch.delenv("GUANXI_EXAMPLE_ROWS")
    assert env_int("GUANXI_EXAMPLE_ROWS", 20000) == 20000


def test_production_sends_mail_through_the_server_its_environment_names():
    with running_mail_server() as server:
        result = _guanxi_in_production(
            "sendtestemail",
            "ops@example.com",
            GUANXI_EMAIL_HOST="127.0.0.1",
            GUANXI_EMAIL_PORT=str(server.server_address[1]),
        )
    assert result.returncode == 0, result.stderr
    assert server.delivered == [["ops@example.com"]]


def test_a_mail_server_that_hangs_is_given_up_after_the_timeout():
    # It takes the connection and never greets: without a timeout the send waits for ever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        result = _guanxi_in_production(
            "sendtestemail",
            "ops@example.com",
            GUANXI_EMAIL_HOST="127.0.0.1",
            GUANXI_EMAIL_PORT=str(silent.getsockname()[1]),
            GUANXI_EMAIL_TIMEOUT="1",
        )
    assert result.returncode != 0
    assert "timed out" in result.stderr


def test_starttls_and_tls_from_the_start_are_refused_together():
    result = _guanxi_in_production("check", GUANXI_EMAIL_USE_TLS="1", GUANXI_EMAIL_USE_SSL="1")
    assert result.returncode != 0
    assert "GUANXI_EMAIL_USE_TLS" in result.stderr and "exclude each other" in result.stderr
