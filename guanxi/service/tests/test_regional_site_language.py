"""A site whose default language (``LANGUAGE_CODE``) names a regional variant Django accepts,
``zh-cn`` or ``en-us``, writes to users who chose no language of their own in the site's
language it matches: the desk's mail about a ticket reaches them, in it, and in one email with
those who chose that language."""

import pytest
from django.core import mail as outbox
from django.test import TestCase
from django.utils import translation

from guanxi.core.languages import in_language, language_of, site_language
from guanxi.service import services
from guanxi.service.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_mail_settings")]


def _watched_complaint(company, desk, *, chose: str):
    """A complaint held by the company's agent, who keeps the site default, and watched by the
    second agent, who chose ``chose``; the customer then writes."""
    desk.second.language = chose
    desk.second.save(update_fields=["language"])
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Parcel"},
    )
    if ticket.assignee != company.agent:
        services.ticket_assign(
            actor=company.admin, ticket_id=ticket.pk, assignee_id=company.agent.pk
        )
    services.ticket_watch(actor=desk.second, ticket_id=ticket.pk, watching=True)
    outbox.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.customer_message(ticket_id=ticket.pk, body="still waiting")
    return ticket


@pytest.mark.parametrize(
    ("regional", "chose", "said"),
    [("zh-cn", "zh-hans", "客户来信"), ("zh-sg", "zh-hans", "客户来信"), ("en-us", "en", "wrote")],
)
def test_staff_with_no_language_are_emailed_in_the_regional_defaults_language(
    company, desk, settings, regional, chose, said
):
    settings.LANGUAGE_CODE = regional
    ticket = _watched_complaint(company, desk, chose=chose)

    [email] = [m for m in outbox.outbox if company.agent.email in m.to]
    assert said in email.subject
    # One email for the one language both read.
    assert sorted(email.to) == sorted([company.agent.email, desk.second.email])
    texts = set(Notification.objects.filter(ticket=ticket).values_list("text", flat=True))
    assert texts and all(said in text for text in texts)


@pytest.mark.parametrize(
    ("regional", "matched"),
    [
        ("zh-cn", "zh-hans"),
        ("zh-sg", "zh-hans"),
        ("zh-tw", "zh-hant"),
        ("zh-hk", "zh-hant"),
        ("zh-mo", "zh-hant"),
        ("zh-Hant-TW", "zh-hant"),
        ("en-us", "en"),
        ("en-gb", "en"),
        ("en", "en"),
        ("zh-hans", "zh-hans"),
    ],
)
def test_a_regional_default_is_read_as_the_site_language_it_names(
    settings, company, regional, matched
):
    settings.LANGUAGE_CODE = regional
    assert matched == settings.LANGUAGE_CODE
    assert site_language() == matched
    assert language_of(company.agent) == matched  # who chose none
    with in_language(""):
        assert translation.get_language() == matched
    with in_language(regional):
        assert translation.get_language() == matched
