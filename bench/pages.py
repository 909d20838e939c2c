"""Time the orders, analytics, service desk, knowledge and import pages and API lists
in-process, as every role: ``python bench/pages.py`` with the bench environment pointed at a
copy of the bench database that holds orders, tickets, articles and imports (bench/README.md,
"Orders, tickets, knowledge and imports at a million customers", says how that copy was made).

Each page is requested through Django's test client (no HTTP, no server) once as a warm-up and
then ``--runs`` times; the median is printed in milliseconds, one line per page and role, and
``--json FILE`` writes them all. ``--only WORD`` times only the pages whose label holds WORD,
``--skip WORD,…`` leaves out those holding any of the words.
Requests only read: nothing is written to the database.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROLES = ("admin", "manager", "rep", "agent", "analyst")


def pages_for(user) -> list[tuple[str, str, dict]]:
    """(label, path, extra headers) of everything timed for ``user``."""
    from guanxi.customers.models import Customer
    from guanxi.imports.models import ImportJob
    from guanxi.knowledge.models import Article
    from guanxi.orders.models import Order
    from guanxi.service.models import Ticket

    visible = Customer.objects.visible_to(user)
    # A customer with orders (the card shows some) and a ticket the user can see.
    order = Order.objects.filter(customer__in=visible.values("pk")).order_by("-id").first()
    customer_id = order.customer_id if order else visible.order_by("pk").first().pk
    ticket = Ticket.objects.filter(customer__in=visible.values("pk")).order_by("-id").first()
    article = Article.objects.order_by("-id").first()
    job = ImportJob.objects.filter(started_by=user).order_by("-id").first()
    htmx = {"HTTP_HX_REQUEST": "true"}
    pages = [
        ("orders page", "/orders/", {}),
        ("orders page, refunded", "/orders/?status=refunded", {}),
        ("orders page, one month", "/orders/?ordered_from=2024-01-01&ordered_to=2024-01-31", {}),
        ("orders page, one customer", f"/orders/?customer_id={customer_id}", {}),
        ("orders API", "/api/v1/orders", {}),
        ("orders API, refunded", "/api/v1/orders?status=refunded", {}),
        (
            "orders API, one month",
            "/api/v1/orders?ordered_from=2024-01-01&ordered_to=2024-01-31",
            {},
        ),
        ("orders API, one customer", f"/api/v1/orders?customer_id={customer_id}", {}),
        ("invoices API", "/api/v1/invoices", {}),
        ("invoices API, open", "/api/v1/invoices?status=open", {}),
        ("invoices API, one customer", f"/api/v1/invoices?customer_id={customer_id}", {}),
        ("customer page (orders card)", f"/customers/{customer_id}/", {}),
        ("analytics dashboard", "/analytics/", {}),
        ("ticket queue", "/service/tickets/", {}),
        ("ticket queue, open", "/service/tickets/?status=open_any", {}),
        ("ticket queue, mine", "/service/tickets/?status=open_any&mine=on", {}),
        ("ticket queue, unassigned", "/service/tickets/?status=open_any&unassigned=on", {}),
        ("ticket queue, overdue", "/service/tickets/?breached=on", {}),
        ("ticket queue, urgent complaints", "/service/tickets/?type=complaint&priority=urgent", {}),
        ("ticket queue, one customer", f"/service/tickets/?customer_id={customer_id}", {}),
        ("tickets API", "/api/v1/tickets", {}),
        ("knowledge list", "/knowledge/", {}),
        ("knowledge search", "/knowledge/?q=退款", {}),
        ("knowledge search, pinyin", "/knowledge/?q=fapiao", {}),
        ("suggestions while writing", "/knowledge/suggest/?subject=发票开错了需要重开", htmx),
        ("imports list", "/imports/", {}),
    ]
    if ticket is not None:
        pages += [
            ("ticket page", f"/service/tickets/{ticket.pk}/", {}),
            ("suggestions beside a ticket", f"/knowledge/suggest/?ticket_id={ticket.pk}", htmx),
        ]
    if article is not None:
        pages.append(("knowledge article", f"/knowledge/{article.pk}/", {}))
    if job is not None:
        pages.append(("import page", f"/imports/{job.pk}/", {}))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--only", default="", help="only the pages whose label holds this")
    parser.add_argument("--skip", default="", help="comma-separated words: pages to leave out")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings.local")
    django.setup()
    from django.conf import settings
    from django.test import Client

    from guanxi.accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    logging.disable(logging.CRITICAL)  # the 4xx warnings and tracebacks of failed pages
    results = []
    for username in args.roles.split(","):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        for label, path, headers in pages_for(user):
            if args.only and args.only not in label:
                continue
            if any(word and word in label for word in args.skip.split(",")):
                continue
            seconds = []
            for attempt in range(args.runs + 1):
                started = time.perf_counter()
                try:
                    response = client.get(path, **headers)
                except Exception as error:  # a schema this copy lacks: reported, not timed
                    print(f"{username:<8} {label:<34} failed: {error!r:.120}")
                    break
                elapsed = time.perf_counter() - started
                if attempt:
                    seconds.append(elapsed)
            if not seconds:
                continue
            median = statistics.median(seconds) * 1000
            results.append(
                {
                    "role": username,
                    "page": label,
                    "path": path,
                    "status": response.status_code,
                    "median_ms": round(median, 1),
                }
            )
            print(f"{username:<8} {label:<34} {response.status_code} {median:8.1f} ms", flush=True)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
