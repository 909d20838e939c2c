"""The ticket endpoints: what a client may send, and what a change does to other readers'
versions."""

import pytest
from django.core import mail as outbox
from django.test import TestCase

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.service.models import Ticket


@pytest.fixture
def agent(api_as, desk, clock):  # noqa: F811
    return api_as("agent")


def _open(client, customer, **extra):
    body = {"customer_id": customer.pk, "type": "complaint", "subject": "退款还没到账", **extra}
    return client.post("/tickets", body)


@pytest.mark.parametrize(
    "address",
    [
        "not an address",
        "zw@example.com, other@example.com",
        "zw@example.com\r\nBcc: other@example.com",
    ],
)
def test_the_requester_email_must_be_one_address(agent, company, address):
    response = _open(agent, company.rep_customer, requester_email=address)
    assert response.status_code == 422, response.json()
    assert [e["field"] for e in response.json()["errors"]] == ["requester_email"]
    assert not Ticket.objects.exists()


def test_the_requester_email_is_where_replies_go(agent, company):
    response = _open(agent, company.rep_customer, requester_email=" ZW@Example.com ")
    assert response.status_code == 201, response.json()
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = agent.post(f"/tickets/{response.json()['id']}/replies", {"body": "已经加急处理"})
    assert reply.status_code == 201, reply.json()
    [sent] = outbox.outbox
    assert sent.to == ["zw@example.com"]


def test_a_subject_is_one_line_so_that_it_can_head_the_emails(agent, company):
    response = _open(
        agent, company.rep_customer, subject="退款\r\n还没到账", requester_email="zw@example.com"
    )
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert ticket["subject"] == "退款 还没到账"
    changed = agent.patch(
        f"/tickets/{ticket['id']}", {"version": ticket["version"], "subject": "退款\n\t已到账"}
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["subject"] == "退款 已到账"
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = agent.post(
            f"/tickets/{ticket['id']}/replies",
            {"body": "已经处理", "status": "resolved", "version": changed.json()["version"]},
        )
    assert reply.status_code == 201, reply.json()
    # The reply's subject says it answers, in the ticket's language; the survey's is the subject.
    assert [m.subject.split(" ", 1)[1] for m in outbox.outbox] == [
        "回复：退款 已到账",
        "退款 已到账",
    ]


def test_a_subject_stored_with_a_line_break_still_heads_its_emails(agent, company):
    # Tickets saved before subjects were kept on one line may hold a break; their mail must go.
    ticket = _open(agent, company.rep_customer, requester_email="zw@example.com").json()
    Ticket.objects.filter(pk=ticket["id"]).update(subject="退款\r\n还没到账")
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = agent.post(f"/tickets/{ticket['id']}/replies", {"body": "已经处理"})
    assert reply.status_code == 201, reply.json()
    [sent] = outbox.outbox
    assert sent.subject.split(" ", 1)[1] == "回复：退款 还没到账"


def _merge_body(duplicate: dict, kept: dict) -> dict:
    return {"into_id": kept["id"], "version": duplicate["version"], "into_version": kept["version"]}


def test_merging_makes_a_new_version_of_the_ticket_that_remains(agent, company):
    duplicate = _open(agent, company.rep_customer).json()
    kept = _open(agent, company.rep_customer).json()
    merged = agent.post(f"/tickets/{duplicate['id']}/merge", _merge_body(duplicate, kept))
    assert merged.status_code == 200, merged.json()
    assert merged.json()["version"] == kept["version"] + 1
    # A change based on the ticket as it was before the merge would undo what the merge
    # brought (its linked orders, for one).
    stale = agent.patch(f"/tickets/{kept['id']}", {"version": kept["version"], "order_ids": []})
    assert stale.status_code == 409, stale.json()


def test_a_ticket_merged_away_cannot_be_merged_again(agent, company):
    duplicate = _open(agent, company.rep_customer).json()
    first = _open(agent, company.rep_customer).json()
    second = _open(agent, company.rep_customer).json()
    merged = agent.post(f"/tickets/{duplicate['id']}/merge", _merge_body(duplicate, first))
    assert merged.status_code == 200, merged.json()
    duplicate = agent.get(f"/tickets/{duplicate['id']}").json()
    again = agent.post(f"/tickets/{duplicate['id']}/merge", _merge_body(duplicate, second))
    assert again.status_code == 422, again.json()
    assert [e["field"] for e in again.json()["errors"]] == ["ticket_id"]
    assert Ticket.objects.get(pk=duplicate["id"]).merged_into_id == first["id"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("status", lambda ticket, company: {"status": "resolved", "version": ticket["version"]}),
        (
            "assign",
            lambda ticket, company: {"assignee_id": company.agent.pk, "version": ticket["version"]},
        ),
        (
            "merge",
            lambda ticket, company: {
                "into_id": ticket["other_id"],
                "version": ticket["version"],
                "into_version": 1,
            },
        ),
    ],
)
def test_a_retried_post_returns_the_first_answer_and_writes_once(agent, company, action, body):
    ticket = _open(agent, company.rep_customer).json()
    ticket["other_id"] = _open(agent, company.rep_customer).json()["id"]
    path = f"/tickets/{ticket['id']}/{action}"
    headers = {"Idempotency-Key": f"{action}-1"}
    first = agent.post(path, body(ticket, company), headers=headers)
    assert first.status_code == 200, first.json()
    audited = AuditEvent.objects.count()
    again = agent.post(path, body(ticket, company), headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.count() == audited


def test_a_null_clears_what_a_ticket_may_lack_and_is_refused_elsewhere(agent, company, desk):
    ticket = _open(
        agent, company.rep_customer, description="说明", category_id=desk.refund.pk
    ).json()
    cleared = agent.patch(
        f"/tickets/{ticket['id']}",
        {"version": ticket["version"], "description": None, "category_id": None},
    )
    assert cleared.status_code == 200, cleared.json()
    stored = Ticket.objects.get(pk=ticket["id"])
    assert (stored.description, stored.category_id) == ("", None)

    refused = agent.patch(
        f"/tickets/{ticket['id']}",
        {"version": cleared.json()["version"], "subject": None, "priority": None},
    )
    assert refused.status_code == 422, refused.json()
    assert sorted(e["field"] for e in refused.json()["errors"]) == ["priority", "subject"]
    assert Ticket.objects.get(pk=ticket["id"]).version == stored.version
