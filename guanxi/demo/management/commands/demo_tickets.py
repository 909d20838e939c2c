"""``guanxi demo-tickets --total N [--seed S] [--as-of MOMENT]``: N open service tickets.

Replaces every ticket (with its history, messages, notifications and survey) with ``N`` open
tickets of the customers already in the database, drawn by :mod:`guanxi.demo.tickets`, as
they stand at ``--as-of`` (default: now), in one transaction. A database that already holds
exactly ``N`` tickets is left as it is (``--replace`` loads again anyway).

Each ticket gets the service-level policy the service itself would choose
(:func:`guanxi.service.routing.policy_for`, with the customer's tier from the current analytics
run if there is one), a status-history row per status step, its deadlines and next check
computed from that history by the service's clock code, and — recorded as a sweep running every
minute would have left them, already emailed — the warnings and breaches whose moment had come
by then. So the first sweep after the load finds due only what fell due since. The clocks run
in worker processes (``--workers``, default one per CPU). Not written: messages, in-app notices
and audit rows.

The benchmark uses it to put a million open tickets in front of the service-level sweep and the
ticket list; ``--total 2000`` makes a desk to click through.
"""

import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from guanxi.accounts.models import Team, User
from guanxi.accounts.roles import Role
from guanxi.core.bulk import indexes_suspended
from guanxi.core.languages import chinese_if_written_in_it
from guanxi.customers.models import Customer
from guanxi.demo import tickets as draw
from guanxi.demo.loading import _made_ahead, _PostgresWriter, _SqliteWriter, _table
from guanxi.service.calendar import MAX_SPAN
from guanxi.service.models import (
    SlaNotification,
    SlaPolicy,
    Ticket,
    TicketCategory,
    TicketStatusChange,
)
from guanxi.service.routing import active_policies, policy_for
from guanxi.service.services import _search_text, policy_targets
from guanxi.service.sla import TARGETS
from guanxi.service.sweep import _recipients_for, _roles_for

BLOCK = 10_000  # tickets per block of clock work and of writing
# Times are written as naive UTC datetimes, as the other demo loaders write them.
_EPOCH = dt.datetime(1970, 1, 1)
TICKET_COLUMNS = (
    "id",
    "type",
    "subject",
    "description",
    "customer_id",
    "category_id",
    "area",
    "priority",
    "channel",
    "status",
    "assignee_id",
    "owner_id",
    "team_id",
    "merged_into_id",
    "continues_id",
    "requester_email",
    "sender_unverified",
    "sla_policy_id",
    "first_response_due",
    "next_response_due",
    "resolution_due",
    "sla_check_at",
    "first_responded_at",
    "first_response_met",
    "resolution_met",
    "waiting_since",
    "resolved_at",
    "closed_at",
    "reopened_count",
    "created_at",
    "created_by_id",
    "updated_at",
    "version",
    "search_text",
    "language",
)
STATUS_COLUMNS = ("id", "ticket_id", "at", "from_status", "to_status", "by_id")
NOTE_COLUMNS = (
    "id",
    "ticket_id",
    "target",
    "clock_started_at",
    "due_at",
    "percent",
    "recipients",
    "created_at",
    "emailed_at",
)
MODELS = {"ticket": Ticket, "status": TicketStatusChange, "note": SlaNotification}
COLUMNS = {"ticket": TICKET_COLUMNS, "status": STATUS_COLUMNS, "note": NOTE_COLUMNS}


class Command(BaseCommand):
    help = "Replace every ticket with N generated open tickets of the customers."

    def add_arguments(self, parser):
        parser.add_argument("--total", type=int, required=True, help="how many tickets")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same tickets"
        )
        parser.add_argument(
            "--as-of",
            help="the moment the desk stands at (ISO 8601; without an offset, in the "
            "configured time zone); default now",
        )
        parser.add_argument(
            "--replace", action="store_true", help="load even if N tickets are there already"
        )
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="processes for the clocks"
        )

    def handle(self, *args, total: int, seed: int, verbosity: int, **options):
        if total < 0:
            raise CommandError("--total cannot be negative.")
        as_of = _read_moment(options["as_of"]) if options["as_of"] else timezone.now()
        as_of = as_of.replace(microsecond=0)  # tickets are created in whole seconds
        existing = Ticket.objects.count()
        if existing == total and not options["replace"]:
            newest = Ticket.objects.aggregate(newest=Max("created_at"))["newest"]
            shown = timezone.localtime(newest).isoformat() if newest else "-"
            self.stdout.write(f"Reusing the {existing:,} tickets already there (as of {shown}).")
            return
        started = time.monotonic()
        summary = load_tickets(
            total=total,
            seed=seed,
            as_of=as_of,
            workers=max(1, options["workers"]),
            progress=verbosity > 0,
        )
        elapsed = time.monotonic() - started
        rate = summary["ticket"] / elapsed if elapsed else 0
        self.stdout.write(
            f"Loaded {summary['ticket']:,} tickets, {summary['status']:,} status changes and "
            f"{summary['note']:,} recorded service-level notifications in {elapsed:.1f} s "
            f"({rate:,.0f} tickets/s), as of {timezone.localtime(as_of).isoformat()}: "
            f"new / open / pending customer {summary['statuses']}, "
            f"{summary['unassigned']:,} unassigned, {summary['customers']:,} customers with "
            f"tickets."
        )


def _read_moment(text: str) -> dt.datetime:
    try:
        moment = parse_datetime(text)
    except ValueError:  # well formed but no such moment (2026-02-30T10:00)
        moment = None
    if moment is None:
        raise CommandError(f"--as-of: expected an ISO 8601 moment, got {text!r}.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    # The service-level clocks handle spans up to a century; a mistyped year beyond that
    # failed in their arithmetic with a traceback.
    if abs(moment - timezone.now()) > MAX_SPAN:
        raise CommandError(f"--as-of: {text} is more than a century away from now.")
    return moment


# --- emptying --------------------------------------------------------------------------------


def _reverse_relations(model: type[models.Model]) -> Iterator:
    for relation in model._meta.get_fields(include_hidden=True):
        reverse = relation.auto_created and not relation.concrete and relation.is_relation
        if reverse and (relation.one_to_many or relation.one_to_one):
            yield relation


def delete_tickets() -> None:
    """Every ticket and what belongs to it only (history, messages, attachments, notifications,
    surveys, links); rows elsewhere that point at a ticket lose the link as their foreign key
    says. On PostgreSQL the ticket tables are truncated and their ids start again at 1."""
    if connection.vendor != "postgresql":
        Ticket.objects.all().delete()
        return
    # The tables that hold nothing but tickets' rows: the ticket's own, and every one whose
    # required foreign key cascades from one of them.
    emptied: list[type[models.Model]] = [Ticket]
    elsewhere = []
    position = 0
    while position < len(emptied):
        for relation in _reverse_relations(emptied[position]):
            related, field = relation.related_model, relation.field
            if related in emptied:
                continue
            if relation.on_delete is models.CASCADE and not field.null:
                emptied.append(related)
            else:
                elsewhere.append(relation)
        position += 1
    for relation in elsewhere:
        rows = relation.related_model._base_manager.filter(
            **{f"{relation.field.name}__isnull": False}
        )
        if relation.on_delete is models.CASCADE:
            rows.delete()
        elif relation.on_delete is models.SET_NULL:
            rows.update(**{relation.field.name: None})
        elif rows.exists():
            raise CommandError(
                f"{relation.related_model._meta.label} rows point at tickets; delete them first."
            )
    tables = [model._meta.db_table for model in emptied]
    with connection.cursor() as cursor:
        # TRUNCATE refuses tables other tables' foreign keys point at, even when no row does:
        # those constraints are set aside and added back (and checked) in the same transaction.
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND confrelid = ANY(%s::regclass[])"
            " AND NOT conrelid = ANY(%s::regclass[])",
            [tables, tables],
        )
        outside = cursor.fetchall()
        connection.check_constraints()
        quote = connection.ops.quote_name
        for table, name, _definition in outside:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        cursor.execute(f"TRUNCATE {', '.join(quote(t) for t in tables)} RESTART IDENTITY")
        for table, name, definition in outside:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


# --- what the database tells the generator -------------------------------------------------


def _customers() -> tuple[draw.DeskCustomers, np.ndarray]:
    """The customers as arrays, and each one's tier in the current analytics run ("" without)."""
    from guanxi.analytics.models import CustomerValue

    reps = set(
        User.objects.filter(role=Role.SALES_REP, is_active=True).values_list("pk", flat=True)
    )
    rows = list(
        Customer.objects.filter(deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "owner_id", "party_type")
        .iterator(chunk_size=50_000)
    )
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    owner = np.fromiter(
        (r[1] if r[1] in reps else 0 for r in rows), dtype=np.int64, count=len(rows)
    )
    is_org = np.fromiter(
        (r[2] == Customer.PartyType.ORGANIZATION for r in rows), dtype=bool, count=len(rows)
    )
    tiers = np.full(len(rows), "", dtype=object)
    current = CustomerValue.objects.filter(run__is_current=True).exclude(pareto_tier="")
    for customer_id, tier in current.values_list("customer_id", "pareto_tier").iterator(
        chunk_size=50_000
    ):
        position = np.searchsorted(ids, customer_id)
        if position < len(ids) and ids[position] == customer_id:
            tiers[position] = tier
    return draw.DeskCustomers(ids=ids, owner=owner, is_organisation=is_org), tiers


def _policies(tickets: draw.DrawnTickets, tiers: np.ndarray) -> tuple[np.ndarray, list]:
    """Each ticket's policy, chosen by the service's own rule for its tier, type, priority and
    channel: an index into the returned policies, -1 for none."""
    policies: list[SlaPolicy] = []
    chosen: dict[tuple, int] = {}
    index = np.full(len(tickets), -1, dtype=np.int64)
    kinds = np.unique(tiers)
    tier_code = np.searchsorted(kinds, tiers)
    key = ((tier_code * 4 + tickets.type) * 4 + tickets.priority) * 8 + tickets.channel
    active = active_policies()  # read once, not once per combination
    for combination in np.unique(key):
        code = int(combination)
        channel, code = code % 8, code // 8
        priority, code = code % 4, code // 4
        kind, tier = code % 4, code // 4
        probe = Ticket(
            type=draw.TYPES[kind],
            priority=draw.PRIORITIES[priority],
            channel=draw.CHANNELS[channel],
        )
        policy = policy_for(probe, tier=str(kinds[tier]), policies=active)
        if policy is None:
            continue
        if policy.pk not in chosen:
            chosen[policy.pk] = len(policies)
            policies.append(policy)
        index[key == combination] = chosen[policy.pk]
    return index, policies


class _Recipients:
    """Who the sweep would have told of a step, as its ``_recipients_for`` decides; the same
    few combinations of assignee, owner, team and policy recur, so each is worked out once."""

    def __init__(self, policies: list[SlaPolicy]):
        self.users = {u.pk: u for u in User.objects.all()}
        # The administrators a step nobody holds goes to, read here with the users: the rows are
        # made while the writer holds the tables, where SQLite lets no other query read them.
        admins = [
            u
            for u in self.users.values()
            if u.is_active and (u.is_superuser or u.role == Role.ADMIN)
        ]
        self.administrators = lambda: sorted(admins, key=lambda u: u.pk)
        self.teams = {t.pk: t for t in Team.objects.select_related("lead", "department__manager")}
        self.policies = policies
        self.known: dict[tuple, str] = {}

    def __call__(self, assignee: int, owner: int, team: int, policy: int, percent: int) -> str:
        key = (assignee, owner, team, policy, percent)
        if key not in self.known:
            sla_policy = self.policies[policy]
            probe = Ticket(
                assignee=self.users.get(assignee),
                owner=self.users.get(owner),
                team=self.teams.get(team),
                sla_policy=sla_policy,
            )
            roles = _roles_for(sla_policy, percent, sla_policy.warn_percent)
            people = _recipients_for(probe, roles, administrators=self.administrators).people
            self.known[key] = json.dumps([person.pk for person in people])
        return self.known[key]


# --- writing ---------------------------------------------------------------------------------


def _times(microseconds: np.ndarray) -> list:
    """Naive UTC datetimes (what the other demo loaders write), ``None`` for -1."""
    values = microseconds.astype("datetime64[us]")
    values[microseconds < 0] = np.datetime64("NaT")
    return values.tolist()


def _ids(values: np.ndarray) -> list:
    out = values.astype(object)
    out[values == 0] = None
    return out.tolist()


def _clock_results(
    tickets: draw.DrawnTickets,
    policy: np.ndarray,
    policies: tuple[draw.PolicyClock, ...],
    *,
    as_of: int,
    workers: int,
) -> Iterator[tuple[draw.ClockInput, list, draw.ClockOutput]]:
    """Each block's clock input, full status histories and computed clocks, in order; the
    clocks are worked out ``workers`` blocks at a time in other processes, a few blocks ahead
    of the writing."""

    def inputs() -> Iterator[tuple[draw.ClockInput, list]]:
        for start, stop in draw.blocks(len(tickets), BLOCK):
            histories = [tickets.history(i) for i in range(start, stop)]
            block = draw.ClockInput(
                start=start,
                histories=[[(at, to) for at, _from, to, _by in h] for h in histories],
                first_reply=tickets.first_reply[start:stop],
                customer_again=tickets.customer_again[start:stop],
                second_reply=tickets.second_reply[start:stop],
                policy=policy[start:stop],
                policies=policies,
                as_of=as_of,
            )
            yield block, histories

    if workers <= 1 or len(tickets) <= BLOCK:
        for block, histories in inputs():
            yield block, histories, draw.clock_block(block)
        return
    # Spawned, not forked: a forked child would share this process's database connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque = deque()
        for block, histories in inputs():
            pending.append((block, histories, pool.submit(draw.clock_block, block)))
            if len(pending) > 2 * workers:
                block, histories, future = pending.popleft()
                yield block, histories, future.result()
        while pending:
            block, histories, future = pending.popleft()
            yield block, histories, future.result()


def _rows(
    tickets: draw.DrawnTickets,
    block: draw.ClockInput,
    clocks: draw.ClockOutput,
    *,
    ids: dict[str, int],
    policy_ids: np.ndarray,
    team_of: dict[int, int],
    search_texts: list[str],
    subject_languages: list[str],
    recipients: _Recipients,
    histories: list,
    as_of: int,
) -> dict[str, list[tuple]]:
    part = slice(block.start, block.start + len(block.histories))
    count = len(block.histories)
    ticket_ids = ids["ticket"] + np.arange(block.start, block.start + count, dtype=np.int64)
    assignee = tickets.assignee[part]
    owner = tickets.owner[part]
    team = np.fromiter((team_of.get(int(a), 0) for a in assignee), dtype=np.int64, count=count)
    second = 1_000_000
    met_values = [None if met < 0 else met == 1 for met in clocks.first_response_met.tolist()]
    created = _times(tickets.created[part] * second)
    policy = block.policy
    written = tickets.written_subject[part]
    ticket_rows = list(
        zip(
            ticket_ids.tolist(),
            [draw.TYPES[k] for k in tickets.type[part]],
            [draw.WRITTEN_SUBJECTS[s] for s in written],
            [""] * count,
            tickets.customer[part].tolist(),
            _ids(tickets.category[part]),
            ["" if a < 0 else draw.AREAS[a] for a in tickets.area[part]],
            [draw.PRIORITIES[p] for p in tickets.priority[part]],
            [draw.CHANNELS[c] for c in tickets.channel[part]],
            [draw.STATUSES[s] for s in tickets.status[part]],
            _ids(assignee),
            _ids(owner),
            _ids(team),
            [None] * count,  # merged into no other ticket
            [None] * count,  # continues no ticket of a customer in the recycle bin
            [""] * count,
            [False] * count,  # no sender to verify: opened by the desk
            _ids(np.where(policy < 0, 0, policy_ids[np.maximum(policy, 0)])),
            _times(clocks.first_response_due),
            _times(clocks.next_response_due),
            _times(clocks.resolution_due),
            _times(clocks.sla_check_at),
            _times(np.where(block.first_reply < 0, -1, block.first_reply * second)),
            met_values,
            [None] * count,
            _times(
                np.where(tickets.waiting_since[part] < 0, -1, tickets.waiting_since[part] * second)
            ),
            [None] * count,
            [None] * count,
            [0] * count,
            created,
            _ids(tickets.created_by[part]),
            _times(tickets.updated[part] * second),
            [1] * count,
            [search_texts[s] for s in written],
            [subject_languages[s] for s in written],
            strict=True,
        )
    )
    status_rows = []
    for offset, steps in enumerate(histories):
        ticket_id = int(ticket_ids[offset])
        for at, from_status, to_status, by in steps:
            moment = _EPOCH + dt.timedelta(seconds=at)
            status_rows.append(
                (ids["status"], ticket_id, moment, from_status, to_status, by or None)
            )
            ids["status"] += 1
    notes = clocks.notes
    note_rows = []
    if len(notes):
        local = notes[:, 0]
        started = _times(notes[:, 2])
        due = _times(notes[:, 4])
        recorded = _times(draw.recorded_at(notes[:, 5], as_of))
        for row, offset in enumerate(local.tolist()):
            note_rows.append(
                (ids["note"], int(ticket_ids[offset]), TARGETS[notes[row, 1]], started[row],
                 due[row], int(notes[row, 3]),
                 recipients(int(assignee[offset]), int(owner[offset]), int(team[offset]),
                            int(policy[offset]), int(notes[row, 3])),
                 recorded[row], recorded[row])
            )  # fmt: skip
            ids["note"] += 1
    return {"ticket": ticket_rows, "status": status_rows, "note": note_rows}


def load_tickets(
    *, total: int, seed: int, as_of: dt.datetime, workers: int = 1, progress: bool = True
) -> dict:
    """Replace every ticket with ``total`` drawn open tickets standing at ``as_of``; return
    how many rows went into each table, with a few shares for the summary."""
    as_of_second = int(as_of.timestamp())
    tables = {key: _table(MODELS[key], COLUMNS[key]) for key in MODELS}
    written = dict.fromkeys(MODELS, 0)
    with transaction.atomic():
        delete_tickets()
        if total == 0:
            return {**written, "statuses": "-", "unassigned": 0, "customers": 0}
        customers, tiers = _customers()
        if not len(customers.ids):
            raise CommandError("There are no customers to open tickets for; load some first.")
        agents = list(
            User.objects.filter(role=Role.SERVICE_AGENT, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        categories = dict(
            TicketCategory.objects.filter(is_active=True).values_list("name", "pk").order_by("pk")
        )
        tickets = draw.draw_tickets(
            customers,
            total=total,
            seed=seed,
            as_of=as_of_second,
            agents=agents,
            categories=categories,
        )
        positions = np.searchsorted(customers.ids, tickets.customer)
        policy_index, chosen = _policies(tickets, tiers[positions])
        # With what the sweep's recipients rule reads of them, so no query happens later.
        by_pk = SlaPolicy.objects.select_related("calendar", "general_manager").in_bulk(
            [p.pk for p in chosen]
        )
        policies = [by_pk[p.pk] for p in chosen]
        policy_ids = np.array([p.pk for p in policies] or [0], dtype=np.int64)
        clock_policies = tuple(
            draw.PolicyClock(calendar=p.calendar.definition, targets=policy_targets(p))
            for p in policies
        )
        team_of = dict(User.objects.exclude(team=None).values_list("pk", "team_id"))
        search_texts = [
            _search_text(Ticket(subject=subject, description=""))
            for subject in draw.WRITTEN_SUBJECTS
        ]
        # As a ticket opened through the service would be marked: Chinese when written in it,
        # in Traditional Chinese when in Traditional characters.
        subject_languages = [chinese_if_written_in_it(s) for s in draw.WRITTEN_SUBJECTS]
        recipients = _Recipients(policies)
        with connection.cursor() as cursor:
            writer = (
                _PostgresWriter(cursor)
                if connection.vendor == "postgresql"
                else _SqliteWriter(cursor)
            )
            ids = {key: writer.first_id(table) for key, table in tables.items()}
            first_ids = dict(ids)
            blocks = (
                _rows(
                    tickets,
                    block,
                    clocks,
                    histories=histories,
                    ids=ids,
                    policy_ids=policy_ids,
                    team_of=team_of,
                    search_texts=search_texts,
                    subject_languages=subject_languages,
                    recipients=recipients,
                    as_of=as_of_second,
                )
                for block, histories, clocks in _clock_results(
                    tickets, policy_index, clock_policies, as_of=as_of_second, workers=workers
                )
            )
            # Filled from empty: indexes and foreign keys are built once, at the end.
            with ExitStack() as suspended:
                for model in MODELS.values():
                    suspended.enter_context(indexes_suspended(model))
                with tqdm(
                    total=total,
                    unit=" tickets",
                    unit_scale=True,
                    file=sys.stderr,
                    disable=not progress,
                    dynamic_ncols=True,
                ) as bar:
                    for rows in _made_ahead(blocks):
                        for key, table_rows in rows.items():
                            writer.write(tables[key], table_rows)
                            written[key] += len(table_rows)
                        bar.update(len(rows["ticket"]))
            for key, table in tables.items():
                writer.finish(table, first_ids[key] + written[key], first_ids[key])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in tables.values():
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table.name)}")
    counts = np.bincount(tickets.status, minlength=len(draw.STATUSES))
    return {
        **written,
        "statuses": " / ".join(f"{100 * c / total:.0f}%" for c in counts),
        "unassigned": int((tickets.assignee == 0).sum()),
        "customers": len(np.unique(tickets.customer)),
    }
