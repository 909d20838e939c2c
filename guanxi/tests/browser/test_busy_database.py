"""A contact logged from the customer page while the database is too busy: the form keeps what
was typed, and the page says to try again until a try goes through, in a real browser."""

import pytest
from django.db import OperationalError
from playwright.sync_api import expect

from guanxi.interactions import views as interaction_views
from guanxi.interactions.models import Interaction
from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_contact_logged_while_the_database_is_busy_keeps_the_form_and_says_so(
    page, company, monkeypatch
):
    logged = interaction_views.interaction_log
    answers = ["busy", "busy"]

    def busy_twice(**kwargs):
        # The first two tries find the database busy; the third goes through.
        if answers:
            answers.pop()
            raise OperationalError("database is locked")
        return logged(**kwargs)

    monkeypatch.setattr(interaction_views, "interaction_log", busy_twice)
    sign_in(page, "rep")
    page.goto(f"/customers/{company.rep_customer.pk}/")
    page.fill("#id_subject", "客户来电询价")
    page.get_by_role("button", name="Log contact").click()
    expect(page.locator("#page-alert")).to_have_text("The database is busy. Try again in a moment.")
    expect(page.locator("#id_subject")).to_have_value("客户来电询价")
    assert not Interaction.objects.exists()

    # Busy again: the sentence is said again (cleared, then filled by the second answer).
    page.get_by_role("button", name="Log contact").click()
    expect(page.locator("#page-alert")).to_have_text("The database is busy. Try again in a moment.")
    # The third try goes through, and the sentence goes.
    page.get_by_role("button", name="Log contact").click()
    expect(page.locator("#page-alert")).to_be_empty()
    expect(page.get_by_text("客户来电询价").first).to_be_visible()
    assert Interaction.objects.filter(subject="客户来电询价").exists()
