"""The pages a customer reaches from the ticket's emails (the status page and the survey) speak
the language the ticket's emails are written in, whatever the browser asks for, unless this
browser chose a language with the site's switcher. The desk's own pages keep the reader's."""

import pytest
from django.conf import settings
from django.urls import reverse

from guanxi.service import mail, services
from guanxi.service.models import SatisfactionSurvey, Ticket

pytestmark = pytest.mark.django_db

ENGLISH = "en"
CHINESE = "zh-hans"


def _ticket(company, language: str) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Parcel arrived damaged", "language": language},
    )


def _status_url(ticket: Ticket) -> str:
    return reverse("service:public_status", args=[mail.status_link_token(ticket.pk)])


def _survey_url(ticket: Ticket) -> str:
    SatisfactionSurvey.objects.create(ticket=ticket)
    return reverse("service:public_survey", args=[mail.survey_token(ticket.pk)])


def _speaks(response, language: str) -> bool:
    """The page says it is in ``language``, in its header and in its markup alike."""
    return (
        response["Content-Language"] == language
        and f'<html lang="{language}">' in response.content.decode()
    )


def test_a_chinese_ticket_status_page_is_chinese_in_an_english_browser(client, company):
    ticket = _ticket(company, CHINESE)

    response = client.get(_status_url(ticket), headers={"accept-language": ENGLISH})

    assert response.status_code == 200
    assert _speaks(response, CHINESE)
    assert "状态" in response.content.decode()


def test_an_english_ticket_status_page_is_english_in_a_chinese_browser(client, company):
    ticket = _ticket(company, ENGLISH)

    response = client.get(_status_url(ticket), headers={"accept-language": CHINESE})

    assert _speaks(response, ENGLISH)
    assert "Status" in response.content.decode() and "状态" not in response.content.decode()


def test_a_ticket_with_no_language_speaks_the_site_default_as_its_emails_do(client, company):
    ticket = _ticket(company, "")
    assert ticket.language == ""

    response = client.get(_status_url(ticket), headers={"accept-language": CHINESE})

    assert _speaks(response, settings.LANGUAGE_CODE)


def test_the_survey_of_a_chinese_ticket_is_chinese_in_an_english_browser(client, company):
    ticket = _ticket(company, CHINESE)

    response = client.get(_survey_url(ticket), headers={"accept-language": ENGLISH})

    assert _speaks(response, CHINESE)
    assert "我们的服务怎么样？" in response.content.decode()


def test_a_survey_sent_without_a_score_says_so_in_the_ticket_language(client, company):
    ticket = _ticket(company, CHINESE)

    response = client.post(
        _survey_url(ticket), {"comment": "太慢"}, headers={"accept-language": ENGLISH}
    )

    assert _speaks(response, CHINESE)
    assert "此字段为必填项。" in response.content.decode()
    assert "This field is required." not in response.content.decode()
    assert SatisfactionSurvey.objects.get(ticket=ticket).answered_at is None


@pytest.mark.parametrize("chosen", [ENGLISH, CHINESE])
def test_a_language_chosen_with_the_switcher_wins_over_the_ticket(client, company, chosen):
    ticket = _ticket(company, CHINESE if chosen == ENGLISH else ENGLISH)
    client.post(reverse("set_language"), {"language": chosen, "next": _status_url(ticket)})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == chosen

    status = client.get(_status_url(ticket))
    survey = client.get(_survey_url(ticket))

    assert _speaks(status, chosen) and _speaks(survey, chosen)


def test_a_cookie_naming_no_language_of_the_site_is_no_choice(client, company):
    ticket = _ticket(company, CHINESE)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"

    response = client.get(_status_url(ticket), headers={"accept-language": ENGLISH})

    assert _speaks(response, CHINESE)


def test_the_desk_page_of_a_chinese_ticket_keeps_the_agents_language(client, company):
    ticket = _ticket(company, CHINESE)
    client.force_login(company.agent)

    response = client.get(
        reverse("service:detail", args=[ticket.pk]), headers={"accept-language": ENGLISH}
    )

    assert response.status_code == 200
    assert _speaks(response, ENGLISH)
