"""The analytics dashboard's drawings as a browser lays them out: the names and figures written
in a drawing stay inside it, in English (the longer names) as in Chinese."""

import pytest

from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF, book_of_orders  # noqa: F401 (a fixture)
from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

# Each text of each chart whose box reaches past the drawing's left or right edge (a browser
# clips it there), as "chart: text".
TEXTS_OUTSIDE = """() => [...document.querySelectorAll("svg.chart-svg")].flatMap((svg) => {
  const box = svg.viewBox.baseVal;
  return [...svg.querySelectorAll("text")]
    .filter((text) => {
      const bounds = text.getBBox();
      const right = box.x + box.width;
      return bounds.width > 0 && (bounds.x < box.x - 1 || bounds.x + bounds.width > right + 1);
    })
    .map((text) => {
      const chart = svg.closest("section").getAttribute("aria-labelledby");
      return `${chart}: ${text.textContent}`;
    });
})"""


def test_the_names_in_the_value_charts_are_not_cut_off(page, live_server, book_of_orders):  # noqa: F811
    analytics_refresh(as_of=AS_OF)
    sign_in(page, "analyst")
    page.goto("/analytics/")
    assert page.locator("svg.chart-svg").count() >= 4
    assert page.evaluate(TEXTS_OUTSIDE) == []

    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
    )
    page.goto("/analytics/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.evaluate(TEXTS_OUTSIDE) == []
