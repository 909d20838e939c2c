"""A dry run killed outright on SQLite (``kill -9``) leaves its copy of the database beside it;
the next dry run removes it, and never the copy of a dry run still running.

The copies are made by real processes through ``dry_run_database`` against a database file,
and killed with SIGKILL, so what is left behind is what such a kill leaves."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from guanxi.imports.dry_run import (
    COPY_PREFIX,
    IN_USE,
    UNLOCKED_GRACE_SECONDS,
    fcntl,
    remove_abandoned_copies,
)
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

REPO = Path(__file__).resolve().parents[3]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's copy of the database"),
    pytest.mark.skipif(fcntl is None, reason="no flock here"),
]

# A process that starts a dry run's copy of the database at argv[1], says where, and waits.
DRY_RUN_PROCESS = """
import sys, time
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}}
)
django.setup()
from guanxi.imports.dry_run import dry_run_database

with dry_run_database():
    from django.db import connection

    print(connection.settings_dict["NAME"], flush=True)
    time.sleep(600)
"""


@pytest.fixture
def database(tmp_path) -> Path:
    """A database file of its own, beside which the processes' dry runs put their copies."""
    import sqlite3

    path = tmp_path / "guanxi.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customer (name TEXT)")
        db.execute("INSERT INTO customer VALUES ('张伟')")
    db.close()
    return path


@pytest.fixture
def dry_runs():
    """Start processes in the middle of a dry run; each is killed at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(database: Path) -> tuple[subprocess.Popen, Path]:
        process = subprocess.Popen(
            [sys.executable, "-c", DRY_RUN_PROCESS, str(database)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        )
        started.append(process)
        copy = Path(process.stdout.readline().strip())
        assert copy.name == "copy.sqlite3" and copy.exists(), copy
        return process, copy.parent

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()


def _killed(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


def test_a_later_dry_run_removes_the_copy_of_one_killed_but_not_of_one_running(
    company, tmp_path, database, dry_runs, monkeypatch
):
    killed, left_behind = dry_runs(database)
    _killed(killed)
    assert (left_behind / "copy.sqlite3").exists()  # what kill -9 leaves
    _running, in_use = dry_runs(database)

    # The test suite's own database is in memory: its dry runs make their copies in the
    # temporary directory, here the one beside the database file.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(database.parent))
    path = tmp_path / "customers.csv"
    path.write_text("name,mobile\n李娜,13800001111\n", encoding="utf-8")
    job = import_job_create(
        actor=company.admin, path=path, filename=path.name, kind="customers", dry_run=True
    )
    job = import_job_run(job=job)
    assert job.status == ImportJob.Status.FINISHED

    assert not left_behind.exists()
    assert (in_use / "copy.sqlite3").exists()
    assert sorted(p.name for p in database.parent.iterdir() if p.name.startswith(COPY_PREFIX)) == [
        in_use.name
    ]


def test_a_dry_run_of_the_database_file_removes_what_a_killed_one_left(database, dry_runs):
    killed, left_behind = dry_runs(database)
    _killed(killed)
    # The next dry run of the same database, in a process of its own, removes it as it starts.
    _running, copy = dry_runs(database)
    assert not left_behind.exists()
    assert copy.exists()


def test_two_dry_runs_running_side_by_side_keep_their_copies(database, dry_runs):
    _first, first = dry_runs(database)
    _second, second = dry_runs(database)
    assert remove_abandoned_copies(database.parent) == []
    assert (first / "copy.sqlite3").exists() and (second / "copy.sqlite3").exists()


def test_a_copy_without_its_lock_file_is_removed_only_once_it_is_old(tmp_path):
    # Left by a version that took no lock, or being made this instant by a dry run starting.
    old, new = tmp_path / f"{COPY_PREFIX}old", tmp_path / f"{COPY_PREFIX}new"
    for directory in (old, new):
        directory.mkdir()
        (directory / "copy.sqlite3").write_bytes(b"SQLite format 3\x00")
    long_ago = time.time() - UNLOCKED_GRACE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    (tmp_path / "not-a-copy").mkdir()
    assert remove_abandoned_copies(tmp_path) == [old]
    assert not old.exists() and new.exists() and (tmp_path / "not-a-copy").exists()
    assert not (new / IN_USE).exists()
