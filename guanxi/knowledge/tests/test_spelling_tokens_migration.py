"""The migration that gives articles stored before the tokens of apostrophes, other spellings and
email tails, so that the knowledge base's search finds them as it finds an article saved now."""

import importlib

import pytest

from guanxi.core.testing import MigrationEditor, models_at
from guanxi.knowledge.models import Article
from guanxi.knowledge.selectors import articles_for_user
from guanxi.knowledge.services import article_create, article_update

migration = importlib.import_module(
    "guanxi.knowledge.migrations.0002_spelling_and_separator_tokens"
)
# Migration customers 0002 holds the token rules as they were before these tokens existed.
rebuild = importlib.import_module("guanxi.customers.migrations.0002_search_index")

pytestmark = pytest.mark.django_db

QUERIES = ("obrien", "mueller", "soeren", "wei_88", "rim.com", "aero")


def _models_of_the_migration():
    return models_at("knowledge", "0002_spelling_and_separator_tokens")


def _old_search_text(article: Article) -> str:
    """The article's tokens as the knowledge base made them before the new rules."""
    tokens = rebuild._Tokens()
    for text in (article.title, article.problem, article.cause, article.solution):
        tokens.add_text(rebuild._normalise(text[:4000]), pinyin_pairs=False)
    return " ".join(tokens.tokens)


def _text(pk: int) -> str:
    return Article.objects.get(pk=pk).search_text


def _found(company, query: str) -> set[int]:
    return set(articles_for_user(company.agent, query=query).values_list("pk", flat=True))


def _write(company, **data) -> Article:
    return article_create(actor=company.agent, data=data)


def test_articles_stored_before_get_the_tokens_and_are_found(company):
    article = _write(
        company,
        title="Refunds for Müller & O'Brien GmbH",
        problem="Søren asks where the refund is.",
        cause="The bank bounced it; write to li.wei_88@pacific-rim.com.",
        solution="Send it again to the account on Ærø.",
    )
    plain = _write(company, title="退款没到账怎么办", problem="退款很久没到账", solution="查询")
    expected = {a.pk: a.search_text for a in (article, plain)}
    for each in (article, plain):
        Article.objects.filter(pk=each.pk).update(search_text=_old_search_text(each))
    for query in QUERIES:
        assert not _found(company, query), query
    unchanged = _text(plain.pk)

    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    for pk, text in expected.items():
        assert set(_text(pk).split()) == set(text.split())
    assert _text(plain.pk) == unchanged  # nothing to add: not written
    for query in QUERIES:
        assert _found(company, query) == {article.pk}, query
    # Running it again changes nothing.
    after = {pk: _text(pk) for pk in expected}
    migration.add_tokens(_models_of_the_migration(), MigrationEditor())
    assert {pk: _text(pk) for pk in expected} == after


def test_an_article_changed_while_the_migration_runs_keeps_the_change(company, monkeypatch):
    article = _write(company, title="Müller GmbH", problem="Late", solution="Call")
    Article.objects.filter(pk=article.pk).update(search_text=_old_search_text(article))
    compute = migration.new_tokens

    def edited_meanwhile(*texts):
        # Someone edits the title after the migration read its batch, before it writes.
        if texts[0] == "Müller GmbH":
            current = Article.objects.get(pk=article.pk)
            article_update(
                actor=company.agent,
                article_id=article.pk,
                expected_version=current.version,
                data={"title": "Schmidt GmbH"},
            )
        return compute(*texts)

    monkeypatch.setattr(migration, "new_tokens", edited_meanwhile)
    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    stored = Article.objects.get(pk=article.pk)
    assert stored.title == "Schmidt GmbH"
    assert "schmidt" in stored.search_text.split() and "mueller" not in stored.search_text
