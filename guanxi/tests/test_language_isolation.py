"""A test's language does not reach the next test: Django keeps the active language per thread,
and a request made in Chinese leaves it active after the response."""

import pytest
from django.utils import translation

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("language-isolation")]


def test_a_request_in_chinese_leaves_chinese_active_in_the_thread(client, company):
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    assert client.get("/customers/").status_code == 200
    assert translation.get_language() == "zh-hans"


def test_the_next_test_starts_in_the_default_language():
    assert translation.get_language() == "en"
