"""Reads of the knowledge base, and the similar cases offered while a ticket is written.

Published articles are for every signed-in user; a draft only for its author and
administrators. Tickets are only ever reached through ``service.selectors.tickets_for_user``,
so a suggestion never shows a ticket of a customer the user cannot see.
"""

import operator
from dataclasses import dataclass
from functools import reduce

from django.db.models import Case, Q, QuerySet, Value, When

from guanxi.accounts.roles import Role
from guanxi.core.masking import mask_numbers_in_text
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import INTERACT
from guanxi.service.models import Ticket, TicketMessage
from guanxi.service.selectors import ticket_get_for_user, tickets_for_user

from . import search
from .models import Article

# Texts longer than this are cut when an article is drafted from a ticket (what the services
# accept for one field).
MAX_TEXT = 20_000
# How many candidates of each kind (articles, tickets) are scored in Python.
CANDIDATES = 100
# Below this similarity a case shares too little with the text to be worth showing.
MIN_SIMILARITY = 0.05
# A case of the category the agent chose ranks as if this much more similar.
SAME_CATEGORY_BONUS = 0.05


def _is_active_user(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def articles_for_user(
    user, *, query: str = "", category_id: int | None = None, published: bool | None = None
) -> QuerySet[Article]:
    """The articles ``user`` may read: every published one, and their own drafts (all drafts
    for administrators), narrowed by a search and a category."""
    if not _is_active_user(user):
        return Article.objects.none()
    queryset = Article.objects.all()
    if not (user.is_superuser or user.role == Role.ADMIN):
        queryset = queryset.filter(Q(is_published=True) | Q(created_by=user))
    if published is not None:
        queryset = queryset.filter(is_published=published)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    query = (query or "").strip()
    if query:
        condition = search.query_matches(query)
        if condition is None:
            return Article.objects.none()
        # A scan of the articles' tokens (see ``knowledge.search``): fine for thousands.
        queryset = search.with_tokens(queryset).filter(condition)
    return queryset


def article_get_for_user(user, article_id) -> Article:
    """One article ``user`` may read; ``Article.DoesNotExist`` otherwise."""
    try:
        pk = int(article_id)
    except (TypeError, ValueError):
        raise Article.DoesNotExist from None
    return articles_for_user(user).select_related("category", "created_by").get(pk=pk)


# --- drafting from a ticket ------------------------------------------------------------------


def ticket_for_article(user, ticket_id) -> Ticket:
    """The ticket an article is to be written from: ``Ticket.DoesNotExist`` unless ``user``
    sees it, ``PermissionDenied`` unless they may also interact with its customer (the ones
    who may answer the customer may turn the answer into knowledge)."""
    ticket = ticket_get_for_user(user, ticket_id)
    access_customer(user, ticket.customer_id, INTERACT)
    return ticket


def _joined(parts, limit: int = MAX_TEXT) -> str:
    return "\n\n".join(p for p in parts if p)[:limit]


def article_draft_from_ticket(ticket: Ticket) -> dict:
    """An article's fields from a ticket: the title from its subject, the problem from its
    description and what the customer wrote, the solution from the replies to the customer, the
    last one first (it is usually the one that solved it), and its category. Internal notes are
    left out. A draft starts unpublished, because its text is the customer's own words.

    Phone and ID numbers in it are masked (:func:`mask_numbers_in_text`) whoever drafts it: an
    article is read by everyone who reads the knowledge base, not only by those who may see
    the customer's numbers in full, and no answer needs the number of the customer it came
    from."""
    description = (ticket.description or "").strip()
    customer_said, replies = [], []
    for kind, body in (
        ticket.messages.filter(kind__in=(TicketMessage.Kind.CUSTOMER, TicketMessage.Kind.REPLY))
        .order_by("created_at", "id")
        .values_list("kind", "body")
    ):
        body = (body or "").strip()
        if not body:
            continue
        if kind == TicketMessage.Kind.REPLY:
            replies.append(body)
        elif body != description:  # a request from the form repeats its description
            customer_said.append(body)
    return {
        "title": mask_numbers_in_text(ticket.subject[:200]),
        "problem": mask_numbers_in_text(_joined([description, *customer_said]) or ticket.subject),
        "cause": "",
        "solution": mask_numbers_in_text(_joined(reversed(replies))),
        "category_id": ticket.category_id,
        "is_published": False,
    }


# --- similar cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarCase:
    """An article or a past ticket like the text, with how alike they are (0 to 1, and a
    little more for the same category)."""

    kind: str  # "article" or "ticket"
    score: float
    article: Article | None = None
    ticket: Ticket | None = None


def _candidates(queryset: QuerySet, probes: list[str]) -> QuerySet:
    """The rows holding the most probe tokens, newest first among equals: a first, coarse
    ranking in the database, so only a bounded set is scored in Python."""
    queryset = search.with_tokens(queryset)
    hits = reduce(
        operator.add,
        (Case(When(search.has_token(token), then=Value(1)), default=Value(0)) for token in probes),
    )
    return (
        queryset.annotate(knowledge_hits=hits)
        .filter(knowledge_hits__gt=0)
        .order_by("-knowledge_hits", "-id")[:CANDIDATES]
    )


def _ticket_candidates(user, probes: list[str], *, exclude_ticket_id: int | None) -> QuerySet:
    """:func:`_candidates` among the resolved and closed tickets of customers ``user`` can see
    (but not merged ones, nor ``exclude_ticket_id``)."""
    tickets = tickets_for_user(user).filter(
        status__in=Ticket.DONE_STATUSES, merged_into__isnull=True
    )
    if exclude_ticket_id is not None:
        tickets = tickets.exclude(pk=exclude_ticket_id)
    tickets = tickets.only("id", "subject", "status", "category_id", "search_text")
    # Only a ticket holding a probe can have a hit, and on PostgreSQL the GIN index on the done
    # tickets' tokens (service migration 0005) finds those, so only they are counted and sorted
    # instead of every done ticket the user can see (100,000 done tickets: 200-400 ms a
    # suggestion). The count's "> 0" implies the condition, so the candidates and their order
    # stay the same. The index holds the DONE_STATUSES only, as the filter above states them.
    # SQLite (the demo's few tickets) has no such index and scans them all.
    return _candidates(tickets.filter(search.HoldsAnyToken(probes)), probes)


def _as_int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def similar_cases(
    *,
    user,
    text: str,
    category_id: int | None = None,
    limit: int = 5,
    exclude_ticket_id: int | None = None,
) -> list[SimilarCase]:
    """Published articles and past resolved or closed tickets (of customers ``user`` can see)
    most like ``text``, the most alike first, ranked by the overlap of their search tokens (see
    ``knowledge.search``)."""
    if not _is_active_user(user):
        return []
    return _similar_to(
        user=user,
        text=text,
        tokens=search.build_search_text(text),
        category_id=category_id,
        limit=limit,
        exclude_ticket_id=exclude_ticket_id,
    )


def _similar_to(
    *,
    user,
    text: str,
    tokens: str,
    category_id: int | None,
    limit: int,
    exclude_ticket_id: int | None,
) -> list[SimilarCase]:
    """:func:`similar_cases` for a text whose tokens (``search.build_search_text``) the caller
    already has."""
    probes = search.probe_tokens(text, tokens)
    wanted = search.features(tokens)
    if not user.may_view_sensitive():
        # Numbers are left out for whoever sees them masked: a case found by a number typed in
        # full (or by a landline's middle group) would confirm digits its page hides.
        probes = [token for token in probes if not _has_digit(token)]
        wanted = frozenset(token for token in wanted if not _has_digit(token))
    if not probes or not wanted:
        return []
    category_id = _as_int(category_id)

    def score(search_text: str, case_category_id: int | None) -> float:
        value = search.similarity(wanted, search.features(search_text))
        if value and category_id is not None and case_category_id == category_id:
            value += SAME_CATEGORY_BONUS
        return value

    cases = []
    articles = articles_for_user(user, published=True).only(
        "id", "title", "solution", "category_id", "search_text"
    )
    for article in _candidates(articles, probes):
        cases.append(
            SimilarCase("article", score(article.search_text, article.category_id), article)
        )
    for ticket in _ticket_candidates(user, probes, exclude_ticket_id=exclude_ticket_id):
        cases.append(
            SimilarCase("ticket", score(ticket.search_text, ticket.category_id), ticket=ticket)
        )
    cases = [case for case in cases if case.score >= MIN_SIMILARITY]
    # The most alike first; an article before a ticket that is as alike, since it is the
    # answer already written down.
    cases.sort(key=lambda case: (-case.score, case.kind != "article"))
    return cases[:limit]


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def similar_cases_for_ticket(*, user, ticket_id, limit: int = 5) -> list[SimilarCase]:
    """:func:`similar_cases` for a ticket ``user`` can see (``Ticket.DoesNotExist`` otherwise),
    without the ticket itself."""
    ticket = ticket_get_for_user(user, ticket_id)
    if not _is_active_user(user):
        return []
    # The ticket's stored tokens are the ones its text would give again: the service desk makes
    # them from the same subject and description by the same rule (``text_tokens``), and a
    # ticket's 200-character subject and 2,000 characters of description stay well under the
    # cut ``search.build_search_text`` makes.
    return _similar_to(
        user=user,
        text=f"{ticket.subject}\n{ticket.description[:2000]}",
        tokens=ticket.search_text,
        category_id=ticket.category_id,
        limit=limit,
        exclude_ticket_id=ticket.pk,
    )
