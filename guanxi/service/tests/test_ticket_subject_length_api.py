"""A ticket's subject is held to its column's length as it is stored, collapsed onto one line:
the API does not refuse a subject for the line breaks and runs of spaces the service would
collapse (a subject pasted from an email split over two lines), and still refuses one too long
once collapsed, in the words of every other limit."""

import pytest

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.service.models import Ticket

LIMIT = Ticket._meta.get_field("subject").max_length


@pytest.fixture
def agent(api_as, desk, clock):  # noqa: F811
    return api_as("agent")


def _subject_pasted_over_two_lines(length: int) -> tuple[str, str]:
    """(as sent, as stored): ``length`` characters once collapsed, more as sent."""
    first = "退" * (length // 2)
    second = "款" * (length - len(first) - 1)
    return f"{first}\r\n   {second}  ", f"{first} {second}"


def test_a_subject_that_fits_once_on_one_line_is_taken_when_opened_and_changed(agent, company):
    sent, stored = _subject_pasted_over_two_lines(LIMIT)
    assert len(sent) > LIMIT and len(stored) == LIMIT
    opened = agent.post(
        "/tickets", {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": sent}
    )
    assert opened.status_code == 201, opened.json()
    assert opened.json()["subject"] == stored
    changed = agent.patch(
        f"/tickets/{opened.json()['id']}",
        {"version": opened.json()["version"], "subject": sent.replace("退", "催")},
    )
    assert changed.status_code == 200, changed.json()
    assert Ticket.objects.get().subject == stored.replace("退", "催")


@pytest.mark.parametrize(
    ("language", "message"), [("en", "At most %d characters."), ("zh-hans", "最多 %d 个字符。")]
)
def test_a_subject_too_long_once_on_one_line_is_refused_naming_it(
    agent, company, language, message
):
    sent, stored = _subject_pasted_over_two_lines(LIMIT + 1)
    assert len(stored) == LIMIT + 1
    refused = agent.post(
        "/tickets",
        {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": sent},
        headers={"Accept-Language": language},
    )
    assert refused.status_code == 422, refused.json()
    assert refused.json()["errors"] == [{"field": "subject", "message": message % LIMIT}]
    assert not Ticket.objects.exists()


def test_a_subject_of_white_space_alone_is_refused_as_empty(agent, company):
    refused = agent.post(
        "/tickets",
        {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": " \r\n\t "},
    )
    assert refused.status_code == 422, refused.json()
    assert refused.json()["errors"] == [
        {"field": "subject", "message": "This field cannot be empty."}
    ]
