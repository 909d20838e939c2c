"""``guanxi serve [--port P] [--host H]``: serve Guanxi with gunicorn, as ``make demo`` does.

Two worker processes with a few threads each, the access log on standard output, static files
from ``collectstatic``'s output through WhiteNoise. Beside them run one background worker
(``guanxi db_worker``) for the jobs the pages queue, such as imports of large files, and the
scheduler (``guanxi scheduler``), which queues the periodic jobs such as the nightly analytics
refresh; both stop with the server (``--no-background-worker`` leaves them out, for a deployment
that runs its own).
Before serving, it prints the address to open and, when the demo company exists, the demo users
and their passwords.
"""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from guanxi.core.arguments import at_least, port_number
from guanxi.demo.credentials import format_credentials, read_credentials
from guanxi.demo.server import GuanxiServer


class Command(BaseCommand):
    help = "Serve Guanxi with gunicorn (the demo server)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
        parser.add_argument("--threads", type=int, default=4, help="threads each (default 4)")
        parser.add_argument(
            "--no-background-worker",
            action="store_true",
            help="start neither `guanxi db_worker` nor `guanxi scheduler`",
        )

    def handle(self, *args, port: int, host: str, workers: int, threads: int, **options):
        # Checked before the helpers start and the sign-in address is printed: gunicorn would
        # fail with a traceback on a port out of range, and serve nothing with no workers.
        port_number("--port", port)
        at_least("--workers", workers, 1)
        at_least("--threads", threads, 1)
        # The links Guanxi writes into its emails and pages (a ticket's status page, a survey)
        # start with GUANXI_BASE_URL; unset, they would name port 8000 whatever port this serves.
        # The workers fork from this process; the helpers read it from their environment.
        if "GUANXI_BASE_URL" not in os.environ:
            os.environ["GUANXI_BASE_URL"] = settings.GUANXI_BASE_URL = _served_url(host, port)
        helpers: list[subprocess.Popen] = []
        if not options["no_background_worker"]:
            for command in (["db_worker", "--interval", "1"], ["scheduler"]):
                helper = subprocess.Popen(  # the same Python and settings as this process
                    [sys.executable, "-m", "guanxi", *command]
                )
                helpers.append(helper)
                self.stderr.write(f"Started `guanxi {command[0]}` (process {helper.pid}).")
        try:
            self._serve(port=port, host=host, workers=workers, threads=threads)
        finally:
            for helper in helpers:
                helper.terminate()
            for helper in helpers:
                try:
                    helper.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    helper.kill()

    def _serve(self, *, port: int, host: str, workers: int, threads: int) -> None:
        self.stdout.write(format_credentials(read_credentials(), url=_served_url(host, port) + "/"))
        if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
            self.stderr.write(
                "Static files are not collected yet: run `guanxi collectstatic` first, or pages "
                "will fail to render."
            )
        self.stdout.flush()
        # The workers open their own connections; none may be inherited across the fork.
        connections.close_all()
        GuanxiServer(
            {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "accesslog": "-",
                "errorlog": "-",
                "proc_name": "guanxi",
            }
        ).run()


def _served_url(host: str, port: int) -> str:
    """The address to open in a browser on this machine, without a trailing slash."""
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    return f"http://{shown_host}:{port}"
