"""``guanxi demo-orders --total N [--seed S]``: replace every order with N generated ones.

Deletes every order, order line, invoice and payment, then loads exactly ``N`` orders with their
invoices and payments for the customers already in the database, drawn as ``guanxi demo-data``
draws them (:mod:`guanxi.demo.orders`), in one transaction. The benchmark uses it to give its
million customers ten million orders without making the customer load slower.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from guanxi.demo.loading import load_orders


class Command(BaseCommand):
    help = "Replace every order, invoice and payment with N generated orders for the customers."

    def add_arguments(self, parser):
        parser.add_argument("--total", type=int, required=True, help="how many orders")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same orders"
        )

    def handle(self, *args, total: int, seed: int, verbosity: int, **options):
        if total < 0:
            raise CommandError("--total cannot be negative.")
        started = time.monotonic()
        written = load_orders(total=total, seed=seed, replace=True, progress=verbosity > 0)
        elapsed = time.monotonic() - started
        rate = written["order"] / elapsed if elapsed else 0
        self.stdout.write(
            f"Loaded {written['order']:,} orders, {written['invoice']:,} invoices and "
            f"{written['payment']:,} payments in {elapsed:.1f} s ({rate:,.0f} orders/s)."
        )
