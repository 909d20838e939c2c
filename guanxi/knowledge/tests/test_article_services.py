"""Writing articles: by hand, in one step from a resolved ticket, and editing them, with who may
do what and the audit rows each write leaves."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.knowledge import services
from guanxi.knowledge.models import Article
from guanxi.knowledge.selectors import articles_for_user
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_reply, ticket_set_status

from .conftest import REFUND_DESCRIPTION, REFUND_SUBJECT, open_ticket

pytestmark = pytest.mark.django_db

ARTICLE = {
    "title": "Printer jams after the firmware update",
    "problem": "The printer stops with a paper jam message although no paper is stuck.",
    "cause": "Firmware 2.1 misreads the tray sensor.",
    "solution": "Roll back to firmware 2.0 from the service menu.",
}


def test_a_resolved_complaint_becomes_an_article_in_one_step(company, refund_ticket):
    article = services.article_from_ticket(actor=company.agent, ticket_id=refund_ticket.pk)
    assert article.title == REFUND_SUBJECT
    assert article.problem == f"{REFUND_DESCRIPTION}\n\n我的退款到底什么时候到？"
    # The last reply first: it is the one that solved it. The internal note stays out.
    assert article.solution == "财务已重新发起退款，三个工作日内到账。\n\n我们正在和财务核对。"
    assert "内部" not in article.problem + article.solution
    assert article.category_id == refund_ticket.category_id
    assert article.source_ticket_id == refund_ticket.pk
    assert article.created_by == company.agent
    # The customer's own words: a draft until someone publishes it.
    assert article.is_published is False
    event = AuditEvent.objects.get(object_type="article", object_id=article.pk)
    assert event.action == AuditEvent.Action.CREATE and event.actor == company.agent
    assert event.customer_id == company.rep_customer.pk
    assert event.changes["source_ticket"] == {"before": None, "after": refund_ticket.pk}


def test_what_the_writer_gives_overrides_the_tickets_text(company, refund_ticket):
    article = services.article_from_ticket(
        actor=company.rep,
        ticket_id=refund_ticket.pk,
        data={"cause": "The bank rejected the first transfer.", "is_published": True},
    )
    assert article.cause == "The bank rejected the first transfer."
    assert article.is_published and article.problem.startswith(REFUND_DESCRIPTION)


def test_a_closed_ticket_can_become_an_article_too(company):
    ticket = open_ticket(company.agent, company.agent_customer, "Invoice address wrong")
    answer = "Corrected the address and sent a new invoice."
    ticket_reply(actor=company.agent, ticket_id=ticket.pk, body=answer, status="closed")
    article = services.article_from_ticket(actor=company.agent, ticket_id=ticket.pk)
    assert article.solution == answer
    assert article.problem == "Invoice address wrong"  # no description: the subject says it


def test_a_ticket_still_open_is_refused_naming_its_status(company):
    ticket = open_ticket(company.agent, company.rep_customer, REFUND_SUBJECT, REFUND_DESCRIPTION)
    with pytest.raises(ValidationError) as error:
        services.article_from_ticket(
            actor=company.agent, ticket_id=ticket.pk, data={"solution": "Wait."}
        )
    assert "status" in error.value.message_dict
    assert not Article.objects.exists()
    assert not AuditEvent.objects.filter(object_type="article").exists()


def test_a_ticket_without_any_reply_needs_a_solution_written(company):
    ticket = open_ticket(company.agent, company.rep_customer, "Delivery late")
    ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    with pytest.raises(ValidationError) as error:
        services.article_from_ticket(actor=company.agent, ticket_id=ticket.pk)
    assert list(error.value.message_dict) == ["solution"]
    article = services.article_from_ticket(
        actor=company.agent, ticket_id=ticket.pk, data={"solution": "Rebooked the courier."}
    )
    assert article.solution == "Rebooked the courier."


def test_only_who_sees_the_ticket_and_may_answer_its_customer_may_use_it(company, refund_ticket):
    # The west rep does not see the east rep's customer, so not the ticket either.
    with pytest.raises(Ticket.DoesNotExist):
        services.article_from_ticket(actor=company.rep_west, ticket_id=refund_ticket.pk)
    with pytest.raises(Ticket.DoesNotExist):
        services.article_from_ticket(actor=company.rep_b, ticket_id=refund_ticket.pk)
    # The analyst sees every customer but interacts with none.
    with pytest.raises(PermissionDenied):
        services.article_from_ticket(actor=company.analyst, ticket_id=refund_ticket.pk)
    with pytest.raises(Ticket.DoesNotExist):
        services.article_from_ticket(actor=company.agent, ticket_id="not a number")
    assert not Article.objects.exists()
    assert not AuditEvent.objects.filter(object_type="article").exists()


def test_writing_by_hand_is_for_staff_roles_and_checks_the_fields(company, refund_category):
    article = services.article_create(
        actor=company.manager, data={**ARTICLE, "category_id": refund_category.pk}
    )
    assert article.is_published and article.source_ticket is None
    assert "printer" in article.search_text.split()
    event = AuditEvent.objects.get(object_type="article", object_id=article.pk)
    assert event.customer_id is None and event.changes["title"]["after"] == ARTICLE["title"]
    with pytest.raises(PermissionDenied):
        services.article_create(actor=company.analyst, data=ARTICLE)
    with pytest.raises(ValidationError) as error:
        services.article_create(
            actor=company.agent,
            data={"title": "  ", "problem": "x", "category_id": 999_999, "colour": "red"},
        )
    assert set(error.value.message_dict) == {"title", "solution", "category_id", "colour"}
    assert Article.objects.count() == 1


def test_a_stale_edit_is_refused_and_changes_nothing(company):
    article = services.article_create(actor=company.agent, data=ARTICLE)
    assert article.version == 1
    edited = services.article_update(
        actor=company.rep, article_id=article.pk, expected_version=1,
        data={"solution": "Install firmware 2.2, which fixes the sensor."},
    )  # fmt: skip
    assert edited.version == 2
    with pytest.raises(services.StaleArticleError) as error:
        services.article_update(
            actor=company.manager, article_id=article.pk, expected_version=1,
            data={"solution": "Something else."},
        )  # fmt: skip
    assert error.value.current_version == 2
    assert "version 2" in str(error.value)
    saved = Article.objects.get(pk=article.pk)
    assert saved.solution.startswith("Install firmware 2.2") and saved.version == 2
    updates = AuditEvent.objects.filter(object_type="article", action=AuditEvent.Action.UPDATE)
    assert [event.actor for event in updates] == [company.rep]
    assert updates[0].changes["solution"]["before"] == ARTICLE["solution"]


def test_an_edit_rebuilds_the_search_tokens_and_an_empty_edit_writes_nothing(company):
    article = services.article_create(actor=company.agent, data=ARTICLE)
    services.article_update(
        actor=company.agent, article_id=article.pk, expected_version=1,
        data={"title": "Scanner stops after the firmware upgrade"},
    )  # fmt: skip
    assert list(articles_for_user(company.agent, query="scanner upgr")) == [article]
    assert not articles_for_user(company.agent, query="update").exists()  # the old title's
    same = services.article_update(
        actor=company.agent, article_id=article.pk, expected_version=2,
        data={"title": "Scanner stops after the firmware upgrade"},
    )  # fmt: skip
    assert same.version == 2
    assert AuditEvent.objects.filter(object_type="article").count() == 2
    with pytest.raises(PermissionDenied):
        services.article_update(
            actor=company.analyst, article_id=article.pk, expected_version=2, data={"title": "X"}
        )


def test_drafts_are_seen_by_their_author_and_administrators_only(company, refund_ticket):
    draft = services.article_from_ticket(actor=company.agent, ticket_id=refund_ticket.pk)
    published = services.article_create(actor=company.agent, data=ARTICLE)
    for user in (company.agent, company.admin):
        assert set(articles_for_user(user)) == {draft, published}
    for user in (company.rep, company.analyst, company.rep_west):
        assert list(articles_for_user(user)) == [published]
    with pytest.raises(Article.DoesNotExist):
        services.article_update(
            actor=company.rep, article_id=draft.pk, expected_version=1, data={"title": "Mine"}
        )
