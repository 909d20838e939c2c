"""Writes to the knowledge base.

Staff who write to customer records (``accounts.roles.WRITING_ROLES``) write articles; analysts
read them. Every service takes the acting user, checks, writes and records the audit row in one
transaction. An article written from a ticket carries the ticket's customer in its audit rows,
so it shows in that customer's history. An edit names the version it was based on: a stale
version is refused rather than overwriting another person's change.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.accounts.roles import WRITING_ROLES
from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record, diff_values
from guanxi.audit.summaries import Summary
from guanxi.service.models import Ticket, TicketCategory

from .models import Article
from .search import build_search_text
from .selectors import (
    MAX_TEXT,
    article_draft_from_ticket,
    article_get_for_user,
    ticket_for_article,
)

FIELDS = ("title", "problem", "cause", "solution", "category_id", "is_published")
REQUIRED = ("title", "problem", "solution")
TEXT_FIELDS = ("title", "problem", "cause", "solution")
MAX_TITLE = 200
# The audit row keeps the start of each long text, as it does for ticket replies.
AUDIT_TEXT = 500


class StaleArticleError(Exception):
    """The article changed since the caller read it."""

    def __init__(self, current_version: int):
        super().__init__(
            f"The article was changed by someone else; it is now at version {current_version}."
        )
        self.current_version = current_version


def may_write_articles(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active) and (
        user.is_superuser or user.role in WRITING_ROLES
    )


def _require_writer(actor) -> None:
    if not may_write_articles(actor):
        raise PermissionDenied(_("Only service and sales staff may write articles."))


def require_finished(ticket: Ticket) -> None:
    """An article is written from a ticket whose answer is known: resolved or closed, and not
    merged away (its conversation moved to the ticket it was merged into)."""
    if ticket.status not in Ticket.DONE_STATUSES:
        raise ValidationError(
            {
                "status": _(
                    "%(number)s is %(status)s: only a resolved or closed ticket can become an "
                    "article."
                )
                % {"number": ticket.number, "status": ticket.get_status_display()}
            }
        )
    if ticket.merged_into_id:
        raise ValidationError(
            {
                "source_ticket": _(
                    "%(number)s was merged into another ticket; write the article from that one."
                )
                % {"number": ticket.number}
            }
        )


def _clean(data: Mapping[str, Any], *, current: Article | None = None) -> dict[str, Any]:
    """The given fields, checked; ``current`` is the article being edited (None for a new
    one, which must have every required field)."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(FIELDS)):
        errors.setdefault(name, []).append(_("Unknown field."))
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name not in data:
            if current is None and name in REQUIRED:
                errors.setdefault(name, []).append(_("This field is required."))
            continue
        value = str(data[name] or "").strip()
        if name in REQUIRED and not value:
            errors.setdefault(name, []).append(_("This field is required."))
        elif len(value) > (MAX_TITLE if name == "title" else MAX_TEXT):
            errors.setdefault(name, []).append(
                _("At most %(count)d characters.")
                % {"count": MAX_TITLE if name == "title" else MAX_TEXT}
            )
        values[name] = value
    if "category_id" in data:
        category_id = data["category_id"]
        if category_id in (None, ""):
            values["category_id"] = None
        else:
            try:
                category_id = int(category_id)
            except (TypeError, ValueError):
                category_id = None
            # An article may keep a category that has since been retired.
            unchanged = current is not None and category_id == current.category_id
            if category_id is None or not (
                unchanged or TicketCategory.objects.filter(pk=category_id, is_active=True).exists()
            ):
                errors.setdefault("category_id", []).append(_("No such category."))
            else:
                values["category_id"] = category_id
    if "is_published" in data:
        if not isinstance(data["is_published"], bool):
            errors.setdefault("is_published", []).append(_("Give true or false."))
        else:
            values["is_published"] = data["is_published"]
    if errors:
        raise ValidationError(errors)
    return values


def _short(value: Any) -> Any:
    return value[:AUDIT_TEXT] if isinstance(value, str) else value


def _snapshot(article: Article) -> dict[str, Any]:
    return {name: _short(getattr(article, name)) for name in FIELDS}


def _refresh_search_text(article: Article) -> None:
    article.search_text = build_search_text(
        article.title, article.problem, article.cause, article.solution
    )


def _customer_id(article: Article) -> int | None:
    if article.source_ticket_id is None:
        return None
    return (
        Ticket.objects.filter(pk=article.source_ticket_id)
        .values_list("customer_id", flat=True)
        .first()
    )


def _audit(
    actor,
    article: Article,
    action: str,
    summary: str | Summary,
    changes: Mapping,
    *,
    source_ticket: Ticket | None = None,
) -> None:
    """``source_ticket``: the article's ticket when the caller holds it already, which saves
    looking up its customer."""
    audit_record(
        actor=actor,
        action=action,
        object_type="article",
        object_id=article.pk,
        customer_id=(
            source_ticket.customer_id if source_ticket is not None else _customer_id(article)
        ),
        summary=summary,
        changes=changes,
    )


def _create(actor, values: dict[str, Any], *, source_ticket: Ticket | None = None) -> Article:
    now = timezone.now()
    article = Article(
        source_ticket=source_ticket, created_by=actor, created_at=now, updated_at=now, **values
    )
    _refresh_search_text(article)
    article.save()
    changes = diff_values({}, _snapshot(article))
    if source_ticket is not None:
        changes["source_ticket"] = {"before": None, "after": source_ticket.pk}
    _audit(
        actor,
        article,
        AuditEvent.Action.CREATE,
        article.title,
        changes,
        source_ticket=source_ticket,
    )
    return article


@transaction.atomic
def article_create(*, actor, data: Mapping[str, Any]) -> Article:
    """Write a new article (published unless ``data`` says otherwise)."""
    _require_writer(actor)
    return _create(actor, _clean(data))


@transaction.atomic
def article_from_ticket(*, actor, ticket_id: int, data: Mapping[str, Any] | None = None) -> Article:
    """Turn a resolved or closed ticket into an article in one step: the fields come from the
    ticket (``selectors.article_draft_from_ticket``: problem from the description and what the
    customer wrote, solution from the replies, the last one first, and the category), and
    ``data`` overrides any of them. ``Ticket.DoesNotExist`` when the actor cannot see the ticket,
    ``PermissionDenied`` when they may not interact with its customer or write articles."""
    ticket = ticket_for_article(actor, ticket_id)
    _require_writer(actor)
    require_finished(ticket)
    values = {**article_draft_from_ticket(ticket), **(data or {})}
    return _create(actor, _clean(values), source_ticket=ticket)


@transaction.atomic
def article_update(
    *, actor, article_id: int, expected_version: int, data: Mapping[str, Any]
) -> Article:
    """Change the given fields of an article the actor can read. ``expected_version`` is the
    version the edit was based on: if someone saved in between, :class:`StaleArticleError` is
    raised and nothing is written."""
    article = article_get_for_user(actor, article_id)
    _require_writer(actor)
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.version != expected_version:
        raise StaleArticleError(article.version)
    values = _clean(data, current=article)
    before = {name: getattr(article, name) for name in FIELDS}
    for name, value in values.items():
        setattr(article, name, value)
    changed = [name for name in FIELDS if getattr(article, name) != before[name]]
    if not changed:
        return article
    changes = {
        name: {"before": _short(before[name]), "after": _short(getattr(article, name))}
        for name in changed
    }
    _refresh_search_text(article)
    article.updated_at = timezone.now()
    article.version = F("version") + 1
    article.save()
    article.refresh_from_db(fields=["version"])
    _audit(
        actor,
        article,
        AuditEvent.Action.UPDATE,
        Summary(gettext_noop("%(title)s edited"), {"title": article.title}),
        changes,
    )
    return article
