"""The knowledge base's pages: the list with its search box, an article, writing one (by hand
or from a resolved ticket) and editing it; and the similar cases shown while a ticket is
written and beside a ticket (htmx fragments)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.service.models import Ticket
from guanxi.service.selectors import tickets_for_user
from guanxi.web.paging import keyset_page_context

from . import services
from .forms import ArticleEditForm, ArticleFilterForm, ArticleForm
from .models import Article
from .search import MAX_INDEXED_CHARS
from .selectors import (
    article_draft_from_ticket,
    article_get_for_user,
    articles_for_user,
    similar_cases,
    similar_cases_for_ticket,
    ticket_for_article,
)

ORDERINGS = {"-id": "id"}


def _form_errors(form, error: ValidationError) -> None:
    for name, texts in error.message_dict.items():
        form.add_error(name if name in form.fields else None, texts)


def _article_or_404(user, article_id) -> Article:
    try:
        return article_get_for_user(user, article_id)
    except Article.DoesNotExist:
        raise Http404 from None


def _require_writer(user) -> None:
    if not services.may_write_articles(user):
        raise PermissionDenied


@login_required
@require_GET
def article_list(request):
    form = ArticleFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    queryset = articles_for_user(
        request.user, query=filters.get("q") or "", category_id=filters.get("category_id")
    ).select_related("category")
    paging = keyset_page_context(request, queryset, ordering="-id", orderings=ORDERINGS)
    status = 422 if form.errors else 200
    return render(
        request,
        "knowledge/list.html",
        {"form": form, "may_write": services.may_write_articles(request.user), **paging},
        status=status,
    )


@login_required
@require_GET
def article_detail(request, article_id: int):
    article = _article_or_404(request.user, article_id)
    # The ticket is linked only for those who may open it.
    source_ticket = None
    if article.source_ticket_id:
        source_ticket = tickets_for_user(request.user).filter(pk=article.source_ticket_id).first()
    return render(
        request,
        "knowledge/detail.html",
        {
            "article": article,
            "source_ticket": source_ticket,
            "may_write": services.may_write_articles(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def article_new(request):
    """A new article; with ``?ticket=<id>`` written from that ticket, prefilled from it."""
    _require_writer(request.user)
    ticket = None
    refusal: list[str] = []  # why the ticket cannot become an article, told before writing
    if "ticket" in request.GET:
        try:
            ticket = ticket_for_article(request.user, request.GET["ticket"])
        except Ticket.DoesNotExist:
            raise Http404 from None
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                if ticket is None:
                    article = services.article_create(actor=request.user, data=form.service_data())
                else:
                    article = services.article_from_ticket(
                        actor=request.user, ticket_id=ticket.pk, data=form.service_data()
                    )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Article saved."))
                return redirect("knowledge:detail", article_id=article.pk)
    elif ticket is not None:
        form = ArticleForm(initial=article_draft_from_ticket(ticket))
        try:
            services.require_finished(ticket)
        except ValidationError as error:
            refusal = error.messages
    else:
        form = ArticleForm()
    status = 422 if form.errors or refusal else 200
    context = {"form": form, "ticket": ticket, "article": None, "refusal": refusal}
    return render(request, "knowledge/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request, article_id: int):
    article = _article_or_404(request.user, article_id)
    _require_writer(request.user)
    status = 200
    if request.method == "POST":
        form = ArticleEditForm(request.POST, article=article)
        if form.is_valid():
            try:
                article = services.article_update(
                    actor=request.user,
                    article_id=article.pk,
                    expected_version=form.cleaned_data["version"],
                    data=form.service_data(),
                )
            except services.StaleArticleError:
                form.add_error(
                    None,
                    _(
                        "Someone else saved this article while you were editing it. Nothing "
                        "was saved: open it again to see their version."
                    ),
                )
                status = 409
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Article saved."))
                return redirect("knowledge:detail", article_id=article.pk)
    else:
        form = ArticleEditForm(
            article=article,
            initial={
                "title": article.title,
                "problem": article.problem,
                "cause": article.cause,
                "solution": article.solution,
                "category_id": article.category_id,
                "is_published": article.is_published,
                "version": article.version,
            },
        )
    if form.errors and status == 200:
        status = 422
    context = {"form": form, "ticket": None, "article": article}
    return render(request, "knowledge/form.html", context, status=status)


@login_required
@require_GET
def suggest(request):
    """Similar cases as an htmx fragment: for ``ticket_id`` (the panel beside a ticket), or for
    what is being typed (``subject``, ``description`` and ``text``, with ``category_id``)."""
    params = request.GET
    if params.get("ticket_id"):
        try:
            cases = similar_cases_for_ticket(user=request.user, ticket_id=params["ticket_id"])
        except Ticket.DoesNotExist:
            raise Http404 from None
        return render(request, "knowledge/_suggestions.html", {"cases": cases, "searched": True})
    text = "\n".join(params.get(name, "") for name in ("subject", "description", "text"))
    text = text.strip()[:MAX_INDEXED_CHARS]
    cases = (
        similar_cases(user=request.user, text=text, category_id=params.get("category_id"))
        if text
        else []
    )
    return render(
        request,
        "knowledge/_suggestions.html",
        {"cases": cases, "searched": bool(text), "new_window": True},
    )
