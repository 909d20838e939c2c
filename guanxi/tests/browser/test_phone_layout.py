"""On a phone the page itself gets the screen: the top bar, which wraps to several lines there,
scrolls away with the page instead of staying over a quarter of it."""

import pytest

from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_top_bar_scrolls_away_on_a_phone(browser, live_server, company):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, "rep")
        page.goto(f"/customers/{company.rep_customer.pk}/")
        bar_height = page.locator(".topbar").bounding_box()["height"]
        assert bar_height > 844 / 5  # the menu, the search and the user wrap to four lines
        page.locator("#log-contact").scroll_into_view_if_needed()
        page.mouse.wheel(0, 600)
        page.wait_for_function("window.scrollY > 300")
        box = page.locator(".topbar").bounding_box()
        assert box["y"] + box["height"] <= 0, box
    finally:
        context.close()


def test_the_top_bar_stays_at_the_top_on_a_wide_screen(page, company):
    # On a wide screen it takes a small part of the page, and the search stays at hand.
    sign_in(page, "rep")
    page.goto(f"/customers/{company.rep_customer.pk}/")
    page.mouse.wheel(0, 600)
    page.wait_for_function("window.scrollY > 300")
    assert page.locator(".topbar").bounding_box()["y"] == 0
