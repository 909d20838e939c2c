"""The web forms that open a ticket (an agent's, on a customer's page, and the public form) hold
its subject to the column's length as it is stored, collapsed onto one line, as the API does
(``test_ticket_subject_length_api``): a subject pasted with runs of spaces is not refused for
characters that would never be kept, one too long once collapsed is refused beside the field in
the words of every other limit, and the input carries no maxlength at which a browser would cut
a pasted subject short of what the column holds."""

import re

import pytest

from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db

LIMIT = Ticket._meta.get_field("subject").max_length
PUBLIC_URL = "/service/help/"


def _subject_with_runs_of_spaces(length: int) -> tuple[str, str]:
    """(as typed, as stored): ``length`` characters once collapsed, more as typed."""
    first = "退" * (length // 2)
    second = "款" * (length - len(first) - 1)
    return f"{first}\r\n   {second}  ", f"{first} {second}"


def _agents_form(client, company):
    client.force_login(company.agent)
    url = f"/service/customers/{company.rep_customer.pk}/new/"
    return url, {"type": "inquiry", "priority": "normal", "channel": "phone"}


def _public_form(client, company):
    fields = {"name": "测试", "email": "asker@example.com", "type": "inquiry"}
    return PUBLIC_URL, {**fields, "description": "请回电。"}


FORMS = {"agent's form": _agents_form, "public form": _public_form}


@pytest.mark.parametrize("opened_by", FORMS.values(), ids=FORMS.keys())
def test_a_subject_that_fits_once_on_one_line_is_taken(client, company, desk, clock, opened_by):
    typed, stored = _subject_with_runs_of_spaces(LIMIT)
    assert len(typed.strip()) > LIMIT and len(stored) == LIMIT
    url, fields = opened_by(client, company)
    response = client.post(url, {**fields, "subject": typed})
    assert response.status_code in (200, 302), response.context["form"].errors
    assert Ticket.objects.get().subject == stored


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "At most %d characters."),
        ("zh-hans", "最多 %d 个字符。"),
        ("zh-hant", "最多 %d 個字符。"),
    ],
)
@pytest.mark.parametrize("opened_by", FORMS.values(), ids=FORMS.keys())
def test_a_subject_too_long_once_on_one_line_is_refused_beside_it(
    client, company, desk, clock, opened_by, language, message
):
    typed, stored = _subject_with_runs_of_spaces(LIMIT + 1)
    assert len(stored) == LIMIT + 1
    url, fields = opened_by(client, company)
    refused = client.post(url, {**fields, "subject": typed}, headers={"Accept-Language": language})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {"subject": [message % LIMIT]}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("opened_by", FORMS.values(), ids=FORMS.keys())
def test_a_subject_of_white_space_alone_is_refused_as_required(
    client, company, desk, clock, opened_by
):
    url, fields = opened_by(client, company)
    refused = client.post(url, {**fields, "subject": " \r\n\t\u3000 "})
    assert refused.status_code == 422
    assert list(refused.context["form"].errors) == ["subject"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("opened_by", FORMS.values(), ids=FORMS.keys())
def test_the_subjects_input_has_no_maxlength_to_cut_a_pasted_subject(
    client, company, desk, clock, opened_by
):
    url, _fields = opened_by(client, company)
    page = client.get(url).content.decode()
    [subject_input] = re.findall(r'<input[^>]*name="subject"[^>]*>', page)
    assert "maxlength" not in subject_input
