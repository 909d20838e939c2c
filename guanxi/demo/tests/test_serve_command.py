"""``make demo`` end to end: migrate, collectstatic, demo-data and ``guanxi serve`` as separate
processes, on a fresh SQLite database in a temporary data directory, answered over real HTTP."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from guanxi.demo.credentials import read_credentials

GUANXI = [sys.executable, "-m", "guanxi"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(data_dir: Path) -> dict[str, str]:
    # A demo as a newcomer runs it: local settings, embedded SQLite, nothing from the test run.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GUANXI_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(DJANGO_SETTINGS_MODULE="guanxi.settings.local", GUANXI_DATA_DIR=str(data_dir))
    return env


def _get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


QUEUE_AN_IMPORT = """
import sys
import django
django.setup()
from pathlib import Path
from guanxi.accounts.models import User
from guanxi.imports.services import import_job_create
from guanxi.imports.tasks import run_import_job
job = import_job_create(
    actor=User.objects.get(username="admin"), path=Path(sys.argv[1]), filename="queued.csv",
    kind="customers", via="web",
)
job.status = "queued"
job.save()
run_import_job.enqueue(job.pk)
print(job.pk)
"""
JOB_STATUS = """
import sys
import django
django.setup()
from guanxi.imports.models import ImportJob
job = ImportJob.objects.get(pk=int(sys.argv[1]))
print(job.status, job.created)
"""


REFRESH_STATUS = """
import django
django.setup()
from guanxi.analytics.models import AnalyticsRun
from guanxi.scheduling.models import ScheduledRun
print(
    ",".join(
        ScheduledRun.objects.filter(name="analytics-refresh").values_list("name", flat=True)
    ),
    ",".join(AnalyticsRun.objects.filter(is_current=True).values_list("status", flat=True)),
)
"""


def _poll(env: dict, script: str, *args: str, until: str, seconds: float) -> str:
    """Run ``script`` (a Python snippet printing a status) until it prints ``until`` or
    ``seconds`` pass; returns the last status printed."""
    deadline = time.monotonic() + seconds
    status = ""
    while time.monotonic() < deadline:
        status = subprocess.run(
            [sys.executable, "-c", script, *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        if status == until:
            break
        time.sleep(0.5)
    return status


def _the_scheduler_has_the_analytics_refreshed(env: dict) -> None:
    """On its first check the scheduler queues the nightly refresh's latest occurrence (the
    demo has never run it), and the worker runs it: the dashboard has figures from the start."""
    done = "analytics-refresh succeeded"
    assert _poll(env, REFRESH_STATUS, until=done, seconds=90) == done


def _the_background_worker_runs_a_queued_import(env: dict, tmp_path: Path) -> None:
    """A job queued in the database is picked up by the worker ``guanxi serve`` started."""
    path = tmp_path / "queued.csv"
    path.write_text("name,phone\n后台导入,13812345678\n")
    queued = subprocess.run(
        [sys.executable, "-c", QUEUE_AN_IMPORT, str(path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    job_id = queued.stdout.strip().splitlines()[-1]
    assert _poll(env, JOB_STATUS, job_id, until="finished 1", seconds=60) == "finished 1"


def _the_desk_links_name_the_served_port(port: int) -> None:
    """The status link a customer is given (on the page, and in the desk's emails) is on the
    server they are talking to, not on the default port 8000."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/service/help/")
    response = connection.getresponse()
    form = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    connection.request(
        "POST",
        "/service/help/",
        body=urlencode(
            {
                "csrfmiddlewaretoken": token,
                "name": "王小明",
                "email": "xiaoming@example.com",
                "type": "complaint",
                "subject": "打印机坏了",
                "description": "送来的打印机无法开机。",
            }
        ),
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    thanks = response.read().decode()
    connection.close()
    assert response.status == 200, thanks
    assert f'href="http://127.0.0.1:{port}/service/status/' in thanks


def test_make_demo_sequence_serves_the_app_and_prints_the_credentials(tmp_path):
    env = _environment(tmp_path)
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["collectstatic", "--noinput", "-v0"],
        ["demo-data", "--customers", "20", "--if-empty", "-v0"],
    ):
        subprocess.run([*GUANXI, *command], env=env, check=True, capture_output=True, timeout=180)
    credentials = read_credentials(tmp_path / "demo-credentials.txt")
    assert {c.username for c in credentials} >= {"admin", "manager", "rep", "agent", "analyst"}

    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*GUANXI, "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = _get(port, "/api/v1/openapi.json")
                    break
                except OSError:
                    assert server.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            assert response.status == 200
            # Static files come from collectstatic's output, through WhiteNoise.
            assert _get(port, "/static/admin/css/base.css").status == 200
            _the_desk_links_name_the_served_port(port)
            _the_background_worker_runs_a_queued_import(env, tmp_path)
            _the_scheduler_has_the_analytics_refreshed(env)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    text = log.read_text()
    assert f"http://127.0.0.1:{port}/" in text
    for item in credentials:
        assert item.password in text
    assert '"GET /api/v1/openapi.json HTTP/1.1" 200' in text  # the access log
    assert text.count("Booting worker") == 2
    assert "Started `guanxi db_worker`" in text and "Started `guanxi scheduler`" in text
    assert "Queued analytics-refresh" in text
