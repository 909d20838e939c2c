"""The migration that gives tickets stored before the tokens of apostrophes, other spellings and
email tails, so that they are suggested as similar cases as a ticket saved now is."""

import importlib

import pytest

from guanxi.core.testing import MigrationEditor, models_at
from guanxi.knowledge.selectors import similar_cases
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_create, ticket_reply, ticket_update

migration = importlib.import_module("guanxi.service.migrations.0009_spelling_and_separator_tokens")
# Migration customers 0002 holds the token rules as they were before these tokens existed.
rebuild = importlib.import_module("guanxi.customers.migrations.0002_search_index")

pytestmark = pytest.mark.django_db

QUERIES = ("obrien", "mueller", "soeren")


def _models_of_the_migration():
    return models_at("service", "0009_spelling_and_separator_tokens")


def _old_search_text(ticket: Ticket) -> str:
    """The ticket's tokens as the service made them before the new rules."""
    tokens = rebuild._Tokens()
    text = f"{ticket.subject} {ticket.description[:2000]}"
    tokens.add_text(rebuild._normalise(text), pinyin_pairs=False)
    return " ".join(tokens.tokens)


def _text(pk: int) -> str:
    return Ticket.objects.get(pk=pk).search_text


def _resolved(company, subject: str, description: str) -> Ticket:
    ticket = ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": subject, "description": description},
    )
    ticket_reply(actor=company.agent, ticket_id=ticket.pk, body="Done.", status="resolved")
    return Ticket.objects.get(pk=ticket.pk)


def _suggested(company, query: str) -> set[int]:
    cases = similar_cases(user=company.agent, text=query, limit=10)
    return {case.ticket.pk for case in cases if case.kind == "ticket"}


def test_tickets_stored_before_get_the_tokens_and_are_suggested(company):
    mueller = _resolved(
        company,
        "Müller & O'Brien GmbH: refund missing",
        "Søren wrote from li.wei_88@pacific-rim.com that the refund never arrived.",
    )
    plain = _resolved(company, "退款迟迟不到账", "客户申请退款两周了")
    expected = {t.pk: t.search_text for t in (mueller, plain)}
    for ticket in (mueller, plain):
        Ticket.objects.filter(pk=ticket.pk).update(search_text=_old_search_text(ticket))
    for query in QUERIES:
        assert mueller.pk not in _suggested(company, query), query
    assert not {"wei_88", "rim.com", "obrien", "mueller"} & set(_text(mueller.pk).split())
    unchanged = _text(plain.pk)

    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    for pk, text in expected.items():
        assert set(_text(pk).split()) == set(text.split())
    assert _text(plain.pk) == unchanged  # nothing to add: not written
    for query in QUERIES:
        assert _suggested(company, query) == {mueller.pk}, query
    # Running it again changes nothing.
    after = {pk: _text(pk) for pk in expected}
    migration.add_tokens(_models_of_the_migration(), MigrationEditor())
    assert {pk: _text(pk) for pk in expected} == after


def test_a_ticket_changed_while_the_migration_runs_keeps_the_change(company, monkeypatch):
    ticket = _resolved(company, "Müller GmbH", "")
    Ticket.objects.filter(pk=ticket.pk).update(search_text=_old_search_text(ticket))
    compute = migration.new_tokens

    def edited_meanwhile(**fields):
        # Someone edits the subject after the migration read its batch, before it writes.
        if fields["subject"] == "Müller GmbH":
            current = Ticket.objects.get(pk=ticket.pk)
            ticket_update(
                actor=company.agent,
                ticket_id=ticket.pk,
                expected_version=current.version,
                data={"subject": "Schmidt GmbH"},
            )
        return compute(**fields)

    monkeypatch.setattr(migration, "new_tokens", edited_meanwhile)
    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.subject == "Schmidt GmbH"
    assert "schmidt" in stored.search_text.split() and "mueller" not in stored.search_text
