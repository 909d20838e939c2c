"""The bell in the header is drawn by the page itself (an inline SVG in the text's colour), not
an emoji, which a browser without an emoji font shows as an empty box; no stylesheet or font
is fetched for it from elsewhere."""

import re

import pytest

from guanxi.service.models import Notification

pytestmark = pytest.mark.django_db


def _bell(client, user) -> str:
    client.force_login(user)
    page = client.get("/knowledge/").content.decode()
    (bell,) = re.findall(r'<a class="notice-bell".*?</a>', page, flags=re.S)
    return bell


def test_the_bell_is_an_inline_svg_not_an_emoji(client, company):
    bell = _bell(client, company.agent)

    assert "\N{BELL}" not in bell
    assert re.search(r'<svg [^>]*aria-hidden="true"', bell)
    assert 'stroke="currentColor"' in bell
    assert "http" not in bell.split("<svg", 1)[1]


def test_the_unread_count_still_sits_on_the_bell(client, company):
    Notification.objects.create(user=company.agent, text="Escalated")

    bell = _bell(client, company.agent)

    assert '<span class="notice-count">1</span>' in bell
    assert 'aria-label="1 unread notification"' in bell
