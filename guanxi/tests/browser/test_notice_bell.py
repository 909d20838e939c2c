"""The bell in the header is drawn on the page in a real browser, whatever fonts it has: an
inline SVG of its own size, named for screen readers by its link."""

import pytest
from playwright.sync_api import expect

from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bell_is_drawn_and_named(page, company):
    sign_in(page, "agent")
    bell = page.get_by_role("link", name="0 unread notifications")
    expect(bell).to_be_visible()
    drawing = bell.locator("svg")
    expect(drawing).to_be_visible()
    box = drawing.bounding_box()
    assert box is not None and box["width"] >= 14 and box["height"] >= 14
