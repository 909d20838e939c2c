"""Reads for duplicate detection, always through the visibility rule.

:func:`likely_duplicates` is the engine's entry point for one record against the database — the
new-customer form asks it while someone types, the importer for every row: candidates come from
the stored blocking keys (one indexed lookup), and are scored with the model the last scan
fitted (or the defaults before any scan).
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Case, Count, F, Q, QuerySet, When

from guanxi.core.keyset import MAX_ID
from guanxi.customers.models import Customer
from guanxi.customers.selectors import organisations_in_sight
from guanxi.customers.services import (
    SENSITIVE_FIELDS,
    WholeNumberLimitReached,
    whole_number_lookups_count,
)
from guanxi.customers.visibility import CHANGE, VIEW, customer_scope

from .customer_records import match_records_for
from .drafts import draft_record, numbers_typed_in_full
from .keys import rows_where_in, stored_match_records
from .matching.blocking import PAIRING_CODES, RULE_CODES, blocking_keys, key_hash
from .matching.engine import REVIEW_THRESHOLD, score_candidates
from .matching.model import MatchModel, default_model, score_without
from .matching.records import PERSON, MatchRecord
from .models import CustomerMerge, DuplicatePair, MatchKey, MatchModelFit

# Candidates per blocking key when one record is matched against the database: a key more
# customers share than this (a common name at one big employer) says too little to be worth
# fetching and comparing for every row of an import; the other keys (phone, email, ID number,
# name with birth date …) still find the duplicate.
MAX_CANDIDATES_PER_KEY = 30
# While typing, show candidates somewhat below the review threshold too: a person glancing at
# a hint costs nothing, a duplicate created costs a merge later.
HINT_THRESHOLD = 0.5


def current_match_model() -> tuple[MatchModel, int | None]:
    """The model of the newest scan, and how many people it counted names among (None for
    the defaults)."""
    fit = MatchModelFit.objects.order_by("-fitted_at", "-id").first()
    if fit is None:
        return default_model(), None
    return MatchModel.from_dict(fit.parameters), fit.parameters.get("people")


def candidate_ids_by_key(hashes: Iterable[int]) -> dict[int, list[int]]:
    """Customer ids sharing each pairing key hash; keys shared by more customers than
    :data:`MAX_CANDIDATES_PER_KEY` are left out. (Hashes include their rule, so asking only for
    pairing keys never finds a counting key.)"""
    hashes = list(set(hashes))
    found: dict[int, list[int]] = {}
    limit = MAX_CANDIDATES_PER_KEY + 1
    with connection.cursor() as cursor:
        for start in range(0, len(hashes), 20_000):
            chunk = hashes[start : start + 20_000]
            if connection.vendor == "postgresql":
                # At most one more customer than the limit per key, read from the index alone:
                # a key thousands share costs as little as a key two share.
                cursor.execute(
                    "SELECT k.h, m.customer_id FROM unnest(%s::bigint[]) AS k(h)"
                    " CROSS JOIN LATERAL (SELECT customer_id FROM dedup_matchkey"
                    " WHERE key_hash = k.h LIMIT %s) AS m",
                    [chunk, limit],
                )
                rows = cursor.fetchall()
            else:
                rows = rows_where_in(
                    cursor, "SELECT key_hash, customer_id FROM dedup_matchkey WHERE key_hash", chunk
                )
            for key, customer_id in rows:
                found.setdefault(key, []).append(customer_id)
    return {k: v for k, v in found.items() if len(v) <= MAX_CANDIDATES_PER_KEY}


def name_counts(records: Iterable[MatchRecord]) -> dict[str, int]:
    """How many customers have each of these people's name keys (for name rarity)."""
    keys = {r.name.key for r in records if r.party_type == PERSON and r.name.key}
    hashes = {key_hash(f"name|{k}"): k for k in keys}
    counts = dict.fromkeys(keys, 0)
    # The hash covers the rule ("name|…"), so the key hash alone picks the counting keys, and
    # counting rows rather than ids is answered from the (key_hash, customer) index alone:
    # filtering on ``rule`` or counting ``id`` made PostgreSQL visit ~150,000 table rows for a
    # batch of 2,000 imported rows (0.48 s against 0.03 s).
    matching = MatchKey.objects.filter(key_hash__in=list(hashes))
    rows = matching.values("key_hash").annotate(n=Count("*"))
    for row in rows:
        counts[hashes[row["key_hash"]]] = row["n"]
    return counts


@dataclass
class LikelyDuplicate:
    customer_id: int
    score: float
    explanation: list[dict]


def score_record(
    record: MatchRecord,
    candidates: list[MatchRecord],
    *,
    model: MatchModel,
    people: int | None,
    name_count: int = 0,
) -> list[LikelyDuplicate]:
    """Score one record against candidates already found; best first. ``people`` and
    ``name_count`` (how many people have the record's name) make a rare name count for more."""
    share = max(name_count, 1) / people if people else None
    return [
        LikelyDuplicate(candidate.ref, score, model.explain(levels))
        for candidate, score, levels in score_candidates(
            record, candidates, model=model, name_share=share
        )
    ]


def scored_with_current_model(
    record: MatchRecord, candidates: list[MatchRecord]
) -> list[LikelyDuplicate]:
    """:func:`score_record` with the stored model, and the record's name counted among the
    customers (a rare one counts for more); best first."""
    model, people = current_match_model()
    count = name_counts([record]).get(record.name.key, 0) if people else 0
    return score_record(record, candidates, model=model, people=people, name_count=count)


def likely_duplicates(
    record: MatchRecord,
    *,
    visible_to=None,
    exclude_ids: Iterable[int] = (),
    threshold: float = 0.0,
    limit: int = 10,
) -> list[LikelyDuplicate]:
    """Customers that may be ``record``, scored, best first; only customers ``visible_to``
    may see when given."""
    hashes = [key_hash(k) for rule, k in blocking_keys(record) if RULE_CODES[rule] in PAIRING_CODES]
    ids = {cid for found in candidate_ids_by_key(hashes).values() for cid in found}
    ids -= set(exclude_ids)
    as_seen: dict[int, MatchRecord] = {}
    if visible_to is not None and ids:
        visible = Customer.objects.visible_to(visible_to, VIEW)
        organisations = dict(visible.filter(pk__in=list(ids)).values_list("pk", "organization_id"))
        ids = set(organisations)
        as_seen = _records_as_seen(visible, organisations, set(hashes))
        ids -= {pk for pk in as_seen if as_seen[pk] is None}
    if not ids:
        return []
    records = stored_match_records(ids - set(as_seen))
    records.update({pk: seen for pk, seen in as_seen.items() if seen is not None})
    scored = scored_with_current_model(record, list(records.values()))
    if visible_to is not None and not visible_to.may_view_sensitive():
        # As a pair's score (see pair_score_field): whoever may not see ID numbers in full is
        # told the likelihood without them.
        for found in scored:
            found.score = score_without(found.score, found.explanation)
        scored.sort(key=lambda found: -found.score)
    return [d for d in scored if d.score >= threshold][:limit]


def _records_as_seen(
    visible: QuerySet[Customer], organisations: dict[int, int | None], hashes: set[int]
) -> dict[int, MatchRecord | None]:
    """For the candidates (``organisations``: id -> their organisation's id) whose organisation
    is out of the user's sight (not in ``visible``), their records as if it did not exist: with
    the person's own company text, as their pages show them (``Customer.company_in_sight``);
    None for one that then shares no pairing key (``hashes``) with the record looked for.

    Compared by their organisation's name, a hint shown, or scored higher, for a company typed
    as that name would confirm the name of an organisation the user may not see, and a person
    found only through it (the same name and employer) would tell which of the people they see
    work there. Two queries whatever the number of candidates."""
    linked = {org for org in organisations.values() if org}
    if not linked:
        return {}
    in_sight = set(visible.filter(pk__in=list(linked)).values_list("pk", flat=True))
    hidden = [pk for pk, org in organisations.items() if org and org not in in_sight]
    if not hidden:
        return {}
    records = match_records_for(hidden, organisations=False)
    as_seen: dict[int, MatchRecord | None] = dict.fromkeys(hidden)
    for pk, seen in records.items():
        keys = {key_hash(k) for rule, k in blocking_keys(seen) if RULE_CODES[rule] in PAIRING_CODES}
        if keys & hashes:
            as_seen[pk] = seen
    return as_seen


def pair_score_field(user) -> str:
    """The score of a pair that ``user`` is shown, and by which their pairs are listed,
    filtered and sorted.

    Whoever may not see ID numbers in full gets the score without the ID numbers' evidence:
    the score itself tells whether two customers' numbers agree (two different names with one
    number score 100 %, a disagreeing number lowers it), so typing a guessed number on one's
    own customer and waiting for the next scan would confirm or rule it out. A pair that is
    likely only by its ID numbers is not theirs to see (see :func:`_blind_pairs`)."""
    return "score" if user.may_view_sensitive() else "score_without_id_number"


def pair_score_for_user(user, pair: DuplicatePair) -> float:
    """The score of ``pair`` that ``user`` is shown (see :func:`pair_score_field`)."""
    return getattr(pair, pair_score_field(user))


def _blind_pairs(user, pairs: QuerySet) -> QuerySet:
    """``pairs`` less those that whoever may not see ID numbers may not see: the ones below the
    review threshold without the ID numbers, which only their numbers put in the queue."""
    if user.may_view_sensitive():
        return pairs
    return pairs.filter(score_without_id_number__gte=REVIEW_THRESHOLD)


def pairs_hidden_from(user, customer_ids: Iterable[int]) -> QuerySet | None:
    """The ids of the possible duplicates of ``customer_ids``, open or decided, that ``user``
    may not see (see :func:`_blind_pairs`), as a query to nest in another (the customer page
    reads them inside its history query, not in one of their own); None for whoever sees them
    all. Their customers' histories leave out the decisions on them, which would tell that the
    pair was queued (for one the public request form queued, that the number typed on it is the
    other customer's)."""
    if user.may_view_sensitive():
        return None
    ids = list(customer_ids)
    return (
        DuplicatePair.objects.filter(Q(left_id__in=ids) | Q(right_id__in=ids))
        .filter(score_without_id_number__lt=REVIEW_THRESHOLD)
        .values("pk")
    )


def duplicate_pairs_for_user(user, *, status: str = DuplicatePair.Status.OPEN) -> QuerySet:
    """Possible duplicates whose two customers ``user`` may both see, best first by the score
    they are shown (``shown_score``, see :func:`pair_score_field`). Of a merged pair one
    customer is in the recycle bin for good: the pair is listed for those who may see the one
    that was kept, into which everything of the other went."""
    visible = Customer.objects.visible_to(user, VIEW).values("pk")
    if status == DuplicatePair.Status.MERGED:
        seen = Q(left__in=visible) | Q(right__in=visible)
    else:
        seen = Q(left__in=visible, right__in=visible)
    return (
        _blind_pairs(user, DuplicatePair.objects.filter(seen, status=status))
        .annotate(shown_score=F(pair_score_field(user)))
        .select_related("left", "right", "left__owner", "right__owner", "decided_by")
        .order_by(f"-{pair_score_field(user)}", "id")
    )


def reasons_for_user(user, reasons: Iterable[dict] | None) -> list[dict]:
    """The field comparisons of a pair or a likely duplicate that ``user`` may read.

    Whoever may not see ID numbers in full is not told how two customers' ID numbers compare:
    they see each masked beside the birth date and an address, and "same ID number" would
    confirm a number they guessed and gave one of the two ("different" would rule it out).
    Any other wording of it, "identity document matches", confirms just the same, so the
    comparison is left out. The score still counts it, as it counts everything."""
    reasons = list(reasons or [])
    if user.may_view_sensitive():
        return reasons
    return [reason for reason in reasons if reason.get("field") not in SENSITIVE_FIELDS]


def duplicate_hints_for_user(user, data: Mapping[str, Any]) -> dict:
    """What ``dedup/_hints.html`` shows for the customer typed into the new-customer form
    (``data``, its draft service data): the likely duplicates ``user`` can see, or why they were
    not looked for. Asked as the user types, and by the new-customer form sent back with a
    mistake, which shows them with the page (also without JavaScript) rather than losing the
    warning seen before sending.

    The whole phone numbers typed count towards the user's limit of whole-number lookups, as
    every search naming one does (the count is its own transaction): the hints would otherwise
    be a way round the limit."""
    found = []
    if (data.get("name") or "").strip():
        try:
            whole_number_lookups_count(
                actor=user, numbers=numbers_typed_in_full(data), field="phones"
            )
        except WholeNumberLimitReached as refusal:
            # htmx swaps in only a successful answer, so the refusal is one.
            return {"refused": refusal.message()}
        record = draft_record(data, actor=user)
        found = likely_duplicates(record, visible_to=user, threshold=HINT_THRESHOLD, limit=5)
    # The ids come from likely_duplicates, which found them through the user's scope.
    customers = Customer.objects.select_related("owner").prefetch_related(
        organisations_in_sight(user), "phones", "emails"
    )
    by_id = customers.in_bulk([d.customer_id for d in found])
    hints = [
        {
            "customer": by_id[d.customer_id],
            "score": d.score,
            "likely": d.score >= REVIEW_THRESHOLD,
            "reasons": [r for r in reasons_for_user(user, d.explanation) if r["weight"] > 0][:4],
        }
        for d in found
        if d.customer_id in by_id
    ]
    return {"hints": hints}


def access_duplicate_pair(user, pair_id) -> DuplicatePair:
    """One pair whose customers ``user`` may both see, and which they may see (see
    :func:`pair_score_field`), else ``DoesNotExist``."""
    try:
        pk = int(pair_id)
    except (TypeError, ValueError):
        raise DuplicatePair.DoesNotExist from None
    visible = Customer.objects.visible_to(user, VIEW).values("pk")
    return (
        _blind_pairs(user, DuplicatePair.objects.filter(left__in=visible, right__in=visible))
        .select_related("left", "right")
        .get(pk=pk)
    )


def open_pairs_of_customer_for_user(user, customer: Customer) -> QuerySet[DuplicatePair]:
    """Open possible duplicates of a customer whose other customer ``user`` may see too, and
    which they may see, best first by the score they are shown (``shown_score``, see
    :func:`pair_score_field`)."""
    visible = Customer.objects.visible_to(user, VIEW).values("pk")
    # The other customer is named once, so its visibility is a plain semi-join on its key:
    # written as (left = c and right visible) or (right = c and left visible), PostgreSQL
    # read every visible customer (a rep's team has 150,000) to hash them for each page.
    pairs = (
        DuplicatePair.objects.filter(Q(left=customer) | Q(right=customer))
        .filter(status=DuplicatePair.Status.OPEN)
        .alias(other=Case(When(left=customer, then=F("right_id")), default=F("left_id")))
        .filter(other__in=visible)
    )
    return (
        _blind_pairs(user, pairs)
        .annotate(shown_score=F(pair_score_field(user)))
        .select_related("left", "right")
        .order_by(f"-{pair_score_field(user)}", "id")
    )


def merges_of_customer_for_user(user, customer: Customer) -> QuerySet[CustomerMerge]:
    """Merges into a customer ``user`` can see (the caller fetched it through the rule).

    A standing merge's customer is part of this one, so it is named to whoever sees this one.
    An undone merge's customer is one of its own again, perhaps out of ``user``'s sight: its
    merge is listed only to who may see it, as the history names it only to them."""
    visible = Customer.objects.visible_to(user, VIEW).values("pk")
    return (
        CustomerMerge.objects.filter(survivor=customer)
        .filter(Q(undone_at__isnull=True) | Q(merged__in=visible))
        .select_related("merged", "merged_by", "undone_by")
        .order_by("-merged_at")
    )


def merged_customers_within_reach(user, merges: list[CustomerMerge]) -> set[int]:
    """Which of the merges' merged-away customers ``user`` may change, as if they were out of
    the recycle bin: undoing a merge brings its customer back, so only they may undo it."""
    ids = {merge.merged_id for merge in merges}
    if not ids:
        return set()
    return set(
        Customer.objects.filter(customer_scope(user, CHANGE, deleted=True), pk__in=ids).values_list(
            "pk", flat=True
        )
    )


def merge_successor(customer_id: int) -> int | None:
    """Where a customer merged away lives on now (following later merges), if anywhere."""
    return merge_successors([customer_id]).get(customer_id)


def merge_successors(customer_ids: Iterable[int]) -> dict[int, int]:
    """:func:`merge_successor` of many customers at once (an import's batch), for those merged
    away: one query for each step along the chains of merges, however many customers."""
    # No customer has an id out of range (one asked for in an address), and SQLite cannot
    # even bind a larger one.
    wanted = {pk for pk in customer_ids if 1 <= pk <= MAX_ID}
    # Each customer's way through the merges so far; a way that comes back on itself (merges
    # in a loop) leads nowhere, as it always has.
    ways = {pk: [pk] for pk in wanted}
    found: dict[int, int] = {}
    while ways:
        latest: dict[int, int] = {}
        merges = (
            CustomerMerge.objects.filter(
                merged_id__in={way[-1] for way in ways.values()}, undone_at__isnull=True
            )
            .order_by("-merged_at")
            .values_list("merged_id", "survivor_id")
        )
        for merged_id, survivor_id in merges:
            latest.setdefault(merged_id, survivor_id)  # the latest merge of each
        for pk, way in list(ways.items()):
            survivor = latest.get(way[-1])
            if survivor is None:
                if len(way) > 1:
                    found[pk] = way[-1]
                del ways[pk]
            elif survivor in way:
                del ways[pk]
            else:
                way.append(survivor)
    return found


@dataclass(frozen=True)
class MergedCustomer:
    """A customer merged into another, as that customer's history names it."""

    name: str
    merged_at: dt.datetime


def customers_merged_into(customer_id: int) -> dict[int, MergedCustomer]:
    """The customers merged into ``customer_id``, and those merged into them, by merges not
    undone: their pasts are part of its history. One query per step of the chain, and chains
    are short; the caller fetched the customer through the visibility rule."""
    merged: dict[int, MergedCustomer] = {}
    reached = {customer_id}
    frontier = {customer_id}
    while frontier:
        rows = CustomerMerge.objects.filter(
            survivor_id__in=frontier, undone_at__isnull=True
        ).values_list("merged_id", "merged__name", "merged_at")
        frontier = set()
        for merged_id, name, merged_at in rows:
            if merged_id == customer_id:
                continue  # brought back from the recycle bin, it took in its own survivor
            # Brought back from the recycle bin and merged again, a customer is reached twice:
            # the later merge took in its past up to then.
            earlier = merged.get(merged_id)
            if earlier is None or earlier.merged_at < merged_at:
                merged[merged_id] = MergedCustomer(name=name, merged_at=merged_at)
            if merged_id not in reached:
                reached.add(merged_id)
                frontier.add(merged_id)
    return merged
