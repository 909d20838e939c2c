"""Time the analytics page (``/analytics/``) in-process, for ``bench/analytics.py``.

Run with the bench environment after a refresh: renders the page through Django's test client
(no HTTP, no server) for each demo user named on the command line, ``--runs`` times each, and
prints one JSON object of seconds per user. The page draws every chart over the customers the
user may see, so the administrator's page covers all million.
"""

import argparse
import json
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings.local")
    django.setup()
    from django.conf import settings
    from django.test import Client

    from guanxi.accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    seconds: dict[str, list[float]] = {}
    for username in args.users:
        client = Client()
        client.force_login(User.objects.get(username=username))
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get("/analytics/")
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"/analytics/ answered {response.status_code} for {username}")
            seconds.setdefault(username, []).append(elapsed)
    print(json.dumps(seconds))


if __name__ == "__main__":
    main()
