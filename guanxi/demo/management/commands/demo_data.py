"""``guanxi demo-data --customers N [--orders-per-customer X] [--if-empty] [--seed S]
[--language en|zh-hans|zh-hant]``: load a synthetic demo company.

Makes departments, teams and users for every role (passwords in
``GUANXI_DATA_DIR/demo-credentials.txt``, see :mod:`guanxi.demo.credentials`), then ``N``
customers — organisations and people with phones, emails, addresses, tags, consents,
interactions and their audit history — bulk-loaded in one transaction; then, in a second one,
about ``X`` orders per customer on average with invoices and payments (see
:mod:`guanxi.demo.orders`; ``0`` leaves them out); then the open service tickets, and a knowledge
base written up from cases the desk resolved (see :mod:`guanxi.demo.knowledge`; once, while it
holds no article). The staff's names, the departments', teams' and the customers' tags are
written in ``--language``, by default the site's (``LANGUAGE_CODE``, see
:mod:`guanxi.demo.language`). The same seed gives the same company. With ``--if-empty``
nothing is loaded when any customer exists, so ``make demo`` can run it every time; the demo
users and their passwords are printed either way.
"""

import os
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max

from guanxi.core.languages import site_language
from guanxi.customers.models import Customer
from guanxi.demo.company import ensure_company
from guanxi.demo.credentials import format_credentials, read_credentials
from guanxi.demo.language import LANGUAGES
from guanxi.demo.loading import load_customers, load_orders

# Where `guanxi serve` (and so `make demo`) listens unless told another port.
# `make demo` exports PORT, the port `guanxi serve` will listen on.
LOGIN_HINT = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"


# Up to this many customers, loading also runs a first duplicate scan (seconds for a demo).
SCAN_AT_LOAD_LIMIT = 50_000
# Orders per customer on average: some 40,000 orders for the 5,000-customer demo.
DEFAULT_ORDERS_PER_CUSTOMER = 8.0


class Command(BaseCommand):
    help = "Load a synthetic demo company: staff for every role and N customers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers", type=int, default=5000, help="how many customers (default 5000)"
        )
        parser.add_argument(
            "--orders-per-customer",
            type=float,
            default=DEFAULT_ORDERS_PER_CUSTOMER,
            help="orders per customer on average, with invoices and payments "
            f"(default {DEFAULT_ORDERS_PER_CUSTOMER:g}; 0 for none)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the database already holds customers",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same data"
        )
        parser.add_argument(
            "--tickets",
            type=int,
            default=None,
            help="open service tickets to load (default: one per 20 customers, at most 2,000)",
        )
        parser.add_argument(
            "--language",
            choices=LANGUAGES,
            default=None,
            help="the language of the staff's names, the departments, teams and tags "
            "(default: the site's, LANGUAGE_CODE, set by GUANXI_LANGUAGE_CODE)",
        )
        parser.add_argument(
            "--no-duplicate-index",
            action="store_true",
            help="leave out the duplicate-detection index (build it later with "
            "`guanxi dedup reindex`; the benchmark times the two apart)",
        )

    def handle(self, *args, customers: int, if_empty: bool, seed: int, verbosity: int, **options):
        if customers < 0:
            raise CommandError("--customers cannot be negative.")
        orders_per_customer = options["orders_per_customer"]
        if not 0 <= orders_per_customer < 1000:
            raise CommandError("--orders-per-customer must be between 0 and 1000.")
        # Checked before loading: the tickets come last, after the customers are committed.
        if options["tickets"] is not None and options["tickets"] < 0:
            raise CommandError("--tickets cannot be negative.")
        if if_empty and Customer.objects.exists():
            self.stdout.write("The database already holds customers; no demo data loaded.")
            self.stdout.write(format_credentials(read_credentials(), url=LOGIN_HINT))
            return
        started = time.monotonic()
        before = Customer.objects.aggregate(top=Max("pk"))["top"] or 0
        language = site_language(options["language"])
        staff, credentials = ensure_company(customers, language=language)
        written = load_customers(
            count=customers, seed=seed, staff=staff, language=language, progress=verbosity > 0
        )
        elapsed = time.monotonic() - started
        rate = customers / elapsed if elapsed else 0
        self.stdout.write(
            f"Loaded {customers:,} customers in {elapsed:.1f} s ({rate:,.0f} customers/s): "
            + ", ".join(
                f"{count:,} {table.replace('_', ' ')} rows"
                for table, count in written.items()
                if table != "customer"
            )
        )
        if orders_per_customer and customers:
            self._load_orders(
                round(orders_per_customer * customers),
                seed=seed,
                after=before,
                progress=verbosity > 0,
            )
        tickets = options["tickets"]
        if tickets is None:
            tickets = min(customers // 20, 2000)
        if tickets:
            self._load_tickets(tickets, seed=seed)
        if customers:
            # After the open tickets: loading those replaces every ticket.
            self._load_knowledge(seed=seed)
        if not options["no_duplicate_index"]:
            self._index_duplicates(customers)
        self.stdout.write(format_credentials(credentials, url=LOGIN_HINT))

    def _load_orders(self, total: int, *, seed: int, after: int, progress: bool) -> None:
        started = time.monotonic()
        written = load_orders(total=total, seed=seed, after_customer_id=after, progress=progress)
        self.stdout.write(
            f"Loaded {written['order']:,} orders, {written['invoice']:,} invoices and "
            f"{written['payment']:,} payments in {time.monotonic() - started:.1f} s."
        )

    def _load_tickets(self, total: int, *, seed: int) -> None:
        """Open service tickets as a desk has them at any moment, routed and with their
        deadlines (see ``guanxi demo-tickets``)."""
        from django.core.management import call_command

        call_command("demo_tickets", total=total, seed=seed, workers=1, stdout=self.stdout)

    def _load_knowledge(self, *, seed: int) -> None:
        from guanxi.demo.knowledge import load_knowledge

        started = time.monotonic()
        loaded = load_knowledge(seed=seed)
        if loaded is None:
            self.stdout.write(
                "No demo articles loaded: the knowledge base holds articles already, or there is "
                "no service agent, or no customer with a phone, to write them from."
            )
            return
        self.stdout.write(
            f"Resolved {loaded.tickets} service tickets and wrote them up as knowledge-base "
            f"articles in {time.monotonic() - started:.1f} s: {loaded.published} published, "
            f"{loaded.drafts} drafts."
        )

    def _index_duplicates(self, customers: int) -> None:
        """The duplicate-detection index of the new customers (so the new-customer form and the
        importer know them), and for a demo-sized company a first scan, so the review queue
        shows the people the demo's salespeople entered twice."""
        from guanxi.dedup.keys import complete_match_index
        from guanxi.dedup.scan import scan_duplicates

        started = time.monotonic()
        indexed = complete_match_index()
        self.stdout.write(
            f"Indexed {indexed:,} customers for duplicate detection in "
            f"{time.monotonic() - started:.1f} s."
        )
        if customers <= SCAN_AT_LOAD_LIMIT:
            started = time.monotonic()
            result = scan_duplicates(queue=True)
            self.stdout.write(
                f"Found {result.pairs:,} likely duplicates in {time.monotonic() - started:.1f} s "
                "(the Duplicates page)."
            )
