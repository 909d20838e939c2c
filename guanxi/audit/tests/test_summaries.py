"""Audit summaries that are sentences are stored as written and as their untranslated message
with its parameters, and read back in the reader's language (the admin's list too), with the
stored text for rows without a message or whose message does not format."""

import pytest
from django.utils import translation
from django.utils.translation import gettext_noop

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.audit.summaries import Choices, Summary, prefixed, render_summary
from guanxi.core.testing.admin_forms import signed_in_administrators
from guanxi.service import services as tickets

EXPORTED = gettext_noop("%(count)d customers exported")


def test_a_summary_is_rendered_in_the_active_language():
    summary = Summary(EXPORTED, {"count": 3})
    with translation.override("en"):
        assert summary.render() == "3 customers exported"
    with translation.override("zh-hans"):
        assert summary.render() == "已导出 3 个客户"


def test_a_part_that_is_a_sentence_of_its_own_is_translated_too():
    summary = prefixed("T-000042", Summary(gettext_noop("satisfaction %(score)d/5"), {"score": 4}))
    assert summary.stored_params() == {
        "prefix": "T-000042",
        "summary": {"message": "satisfaction %(score)d/5", "params": {"score": 4}},
    }
    stored = (summary.message, summary.stored_params())
    with translation.override("zh-hans"):
        assert render_summary(*stored, fallback="") == "T-000042 满意度 4/5"
    with translation.override("en"):
        assert render_summary(*stored, fallback="") == "T-000042 satisfaction 4/5"
    assert prefixed("T-000042", "Broken box") == "T-000042 Broken box"


def test_choices_read_in_the_readers_language_with_their_codes():
    from guanxi.customers.models import Customer

    summary = Summary(
        gettext_noop("“%(value)s” is not one of %(choices)s"),
        {"value": "maybe", "choices": Choices.of(Customer.LifecycleStage)},
    )
    stored = (summary.message, summary.stored_params())
    assert stored[1]["choices"]["choices"][0] == ["suspect", "Suspect"]
    with translation.override("zh-hans"):
        assert render_summary(*stored, fallback="") == (
            "“maybe”不是以下值之一：疑似客户 (suspect), 预期 (expectation), "
            "首次购买 (first_purchase), 重复购买 (repeat_purchase), 拥护者 (advocate)"
        )
        assert "Suspect" not in render_summary(*stored, fallback="")
    with translation.override("en"):
        assert render_summary(*stored, fallback="") == (
            "“maybe” is not one of Suspect, Expectation, First purchase (first_purchase), "
            "Repeat purchase (repeat_purchase), Advocate"
        )
        assert summary.render() == render_summary(*stored, fallback="")


def test_a_choice_whose_label_has_a_context_reads_as_in_that_context():
    # A partnership (伙伴关系) is not a partner customer (合作伙伴), though both are "Partner".
    from guanxi.customers.models import Customer

    levels = Summary("%(choices)s", {"choices": Choices.of(Customer.RelationshipLevel)})
    kinds = Summary("%(choices)s", {"choices": Choices.of(Customer.Kind)})
    with translation.override("zh-hans"):
        assert "伙伴关系 (partner)" in levels.render()
        assert "合作伙伴 (partner)" in kinds.render()
        assert "伙伴关系" in render_summary(levels.message, levels.stored_params(), fallback="")
    for language in ("en", None):
        with translation.override(language):
            assert "Preferred supplier (preferred_supplier), Partner, " in levels.render()


@pytest.mark.parametrize(
    ("message", "params"),
    [
        ("", {}),
        # Choices kept otherwise than as codes with their labels, or none at all.
        ("%(c)s", {"c": {"choices": []}}),
        ("%(c)s", {"c": {"choices": "potential"}}),
        ("%(c)s", {"c": {"choices": [["potential"]]}}),
        ("%(c)s", {"c": {"choices": [[1, "Potential"]]}}),
        (None, {}),
        (EXPORTED, {}),
        (EXPORTED, {"count": "three"}),
        (EXPORTED, [3]),
        (EXPORTED, None),
        (EXPORTED, {"count": [3]}),
        (EXPORTED, {"count": {"message": EXPORTED, "params": {}}}),
        ("%(count", {"count": 3}),
        ("%(count)s", {"count": {"message": "%(a)s", "params": {"a": {"message": "%(a)s"}}}}),
        # Numbers out of range: a character code beyond Unicode, a number JSON gives as infinite
        # (1e999, which PostgreSQL's jsonb and SQLite store).
        ("%(count)c", {"count": 2**40}),
        (EXPORTED, {"count": float("inf")}),
        # A lone surrogate, which SQLite's JSON keeps: no page could send it as UTF-8.
        ("%(file)s", {"file": "\udcff"}),
        ("%(a)s", {"a": {"message": "%(b)s", "params": {"b": "\udcff"}}}),
    ],
)
def test_a_message_that_does_not_format_gives_the_stored_text(message, params):
    with translation.override("zh-hans"):
        assert render_summary(message, params, fallback="as written") == "as written"


@pytest.mark.django_db
def test_the_row_keeps_the_text_as_written_and_the_message(company):
    with translation.override("zh-hans"):
        event = audit_record(
            actor=company.rep,
            action=AuditEvent.Action.EXPORT,
            object_type="customer_list",
            object_id=None,
            summary=Summary(EXPORTED, {"count": 2}),
        )
    event.refresh_from_db()
    assert (event.summary, event.summary_message, event.summary_params) == (
        "已导出 2 个客户",
        EXPORTED,
        {"count": 2},
    )
    with translation.override("en"):
        assert event.summary_text() == "2 customers exported"


@pytest.mark.django_db
def test_a_ticket_change_reads_in_the_readers_language_after_its_number(company):
    ticket = tickets.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Box"},
    )
    with translation.override("en"):
        tickets.ticket_watch(actor=company.agent, ticket_id=ticket.pk, watching=True)
    event = AuditEvent.objects.filter(object_type="ticket").latest("id")
    assert event.summary == f"{ticket.number} watching"
    with translation.override("zh-hans"):
        assert event.summary_text() == f"{ticket.number} 开始关注"


@pytest.mark.django_db
def test_the_admin_list_shows_summaries_in_the_readers_language(company):
    with translation.override("en"):
        audit_record(
            actor=company.rep,
            action=AuditEvent.Action.EXPORT,
            object_type="customer_list",
            object_id=None,
            summary=Summary(EXPORTED, {"count": 5}),
        )
    AuditEvent.objects.create(
        action="update",
        object_type="customer",
        summary="Edited by hand",
        summary_message=EXPORTED,
        summary_params={"count": "five"},
    )
    (client,) = signed_in_administrators("ann")
    client.cookies["django_language"] = "zh-hans"
    response = client.get("/admin/audit/auditevent/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "已导出 5 个客户" in page
    assert "Edited by hand" in page
    # The search finds the text as written.
    response = client.get("/admin/audit/auditevent/", {"q": "5 customers exported"})
    assert "已导出 5 个客户" in response.content.decode()
