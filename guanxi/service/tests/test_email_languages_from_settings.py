"""The languages a customer may be emailed in are the site's own (``settings.LANGUAGES``): a
language added there is offered on the forms, taken by the service and the API and valid for the
model, without a migration. A ticket's stored or guessed language is read as the offered language
of the same code first, and by its primary language only when none has the same code, never as the
other script of Chinese."""

import pytest
from django.core import mail as outbox
from django.core.management import call_command
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.service import mail, services
from guanxi.service.forms import TicketChangeForm, TicketForm
from guanxi.service.models import Ticket, email_languages, site_languages

pytestmark = pytest.mark.django_db

WITH_TRADITIONAL = override_settings(
    LANGUAGES=[
        ("en", _("English")),
        ("zh-hans", _("Simplified Chinese")),
        ("zh-hant", _("Traditional Chinese")),
    ]
)

# A site that offers one Chinese only, as Guanxi did before Traditional Chinese was added.
WITHOUT_TRADITIONAL = override_settings(
    LANGUAGES=[("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
)


def _ticket(company, **data) -> Ticket:
    return services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "inquiry", "subject": "Invoice", **data},
    )


# --- which languages are offered -------------------------------------------------------------


@WITHOUT_TRADITIONAL
def test_a_site_offering_one_chinese_calls_it_chinese():
    assert dict(email_languages()) == {"en": "English", "zh-hans": "中文"}


@WITH_TRADITIONAL
def test_a_language_added_to_the_settings_is_offered_named_in_itself():
    # Beside another script, each Chinese says which it is.
    assert dict(email_languages()) == {
        "en": "English",
        "zh-hans": "简体中文",
        "zh-hant": "繁體中文",
    }


@WITH_TRADITIONAL
def test_the_forms_offer_a_language_added_to_the_settings(company):
    ticket = _ticket(company)
    for form in (TicketForm(), TicketChangeForm(ticket=ticket)):
        assert ("zh-hant", "繁體中文") in list(form.fields["language"].choices)
    page = TicketForm().as_div()
    assert '<option value="zh-hant" lang="zh-hant">繁體中文</option>' in page


@WITH_TRADITIONAL
def test_the_service_and_the_model_take_a_language_added_to_the_settings(company):
    ticket = _ticket(company, language="zh-hant")
    assert ticket.language == "zh-hant"
    ticket.full_clean()  # the model's choices follow the settings too
    changed = services.ticket_update(
        actor=company.agent,
        ticket_id=ticket.pk,
        expected_version=ticket.version,
        data={"language": "zh-hans"},
    )
    assert changed.language == "zh-hans"


@WITH_TRADITIONAL
def test_the_api_takes_a_language_added_to_the_settings(api_as, company):  # noqa: F811
    agent = api_as("agent")
    ticket = _ticket(company)
    answer = agent.patch(
        f"/tickets/{ticket.pk}", {"version": ticket.version, "language": "zh-hant"}
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["language"] == "zh-hant"
    refused = agent.patch(
        f"/tickets/{ticket.pk}", {"version": ticket.version + 1, "language": "fr"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "language", "message": "Choose one of: en, zh-hans, zh-hant."}
    ]


@WITHOUT_TRADITIONAL
def test_a_language_the_settings_do_not_offer_is_refused_by_the_api(api_as, company):  # noqa: F811
    ticket = _ticket(company)
    answer = api_as("agent").patch(
        f"/tickets/{ticket.pk}", {"version": ticket.version, "language": "zh-hant"}
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["language"]


def test_a_language_added_to_the_settings_needs_no_migration():
    # The migration names the function that reads the settings, not the languages it returned
    # the day it was written, so a language added there changes nothing to migrate.
    field = Ticket._meta.get_field("language")
    assert field.deconstruct()[3]["choices"] is site_languages
    call_command("makemigrations", "service", check=True, dry_run=True, verbosity=0)


# --- how a stored or guessed language is read ------------------------------------------------


@WITH_TRADITIONAL
@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("zh-hant", "zh-hant"),
        ("zh-hans", "zh-hans"),
        ("zh-tw", "zh-hant"),
        ("zh-hk", "zh-hant"),
        ("zh-mo", "zh-hant"),
        ("zh-cn", "zh-hans"),
        ("zh-sg", "zh-hans"),
        ("ZH-Hant", "zh-hant"),
        ("en-us", "en"),
        ("en", "en"),
    ],
)
def test_a_stored_language_is_read_exactly_first_then_by_its_script(stored, read):
    assert Ticket(language=stored).email_language == read


@WITHOUT_TRADITIONAL
@pytest.mark.parametrize("stored", ["zh-hant", "zh-tw", "zh-hk"])
def test_traditional_chinese_is_never_read_as_simplified(stored):
    # Not offered: the customer is written to in the site default, which is what a catalogue
    # of another script would have given them anyway, rather than in the other script.
    ticket = Ticket(language=stored)
    assert ticket.email_language == "en"
    assert ticket.email_language_label == "English"


@override_settings(
    LANGUAGES=[("en", _("English")), ("zh-hant", _("Traditional Chinese"))],
    LANGUAGE_CODE="en",
)
@pytest.mark.parametrize("stored", ["zh-hans", "zh-cn"])
def test_simplified_chinese_is_never_read_as_traditional(stored):
    assert Ticket(language=stored).email_language == "en"


@override_settings(LANGUAGE_CODE="zh-cn")
def test_a_ticket_without_a_language_follows_the_site_default_read_the_same_way():
    ticket = Ticket(language="")
    assert ticket.email_language == "zh-hans"
    assert ticket.email_language_label == "简体中文"


# --- a stored language the settings no longer offer ------------------------------------------

WITHOUT_SIMPLIFIED = override_settings(
    LANGUAGES=[("en", _("English")), ("zh-hant", _("Traditional Chinese"))]
)


def test_a_language_no_longer_offered_is_written_in_as_the_ticket_reads(company, desk):
    # The desk page and the API say such a ticket is emailed in the site default; the survey
    # must go in it too, not in the stored language whose catalogue is still on disk, or an
    # agent who sets the language read (English) changes nothing and the customer is still
    # written to in Chinese.
    ticket = _ticket(company, language="zh-hans", requester_email="zw@example.com")
    with WITHOUT_SIMPLIFIED:
        assert ticket.email_language == "en"
        outbox.outbox.clear()
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.ticket_set_status(actor=company.agent, ticket_id=ticket.pk, status="resolved")
    [survey] = outbox.outbox
    assert survey.body.startswith(f"Your request {ticket.number} has been resolved.")


def test_the_status_page_of_a_language_no_longer_offered_speaks_as_the_ticket_reads(
    client, company
):
    ticket = _ticket(company, language="zh-hans")
    url = reverse("service:public_status", args=[mail.status_link_token(ticket.pk)])
    with WITHOUT_SIMPLIFIED:
        response = client.get(url, headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert "状态" not in response.content.decode()


def test_the_ticket_page_and_api_of_a_language_no_longer_offered_answer(
    client,
    api_as,  # noqa: F811
    company,
):
    ticket = _ticket(company, language="zh-hans")
    with WITHOUT_SIMPLIFIED:
        client.force_login(company.agent)
        page = client.get(reverse("service:detail", args=[ticket.pk]))
        assert page.status_code == 200
        assert 'id="email-language" lang="en">English<' in page.content.decode()
        answer = api_as("agent").get(f"/tickets/{ticket.pk}")
        assert answer.status_code == 200
        assert answer.json()["language"] == "en"
