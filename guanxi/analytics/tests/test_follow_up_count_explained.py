"""The dashboard says what its two counts of customers at risk count: the churn list every
customer the current run flags among those shown, the follow-ups the open ones only, one for
each flagged customer with an account manager, over every customer the user may see, so that
"Churn follow-ups 264" beside "278 customers look likely to leave" is explained on the page."""

import pytest

from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.selectors import follow_ups_for_user
from guanxi.analytics.tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "one for each flagged customer with an account manager, "
            "open until marked done, over all the customers you can see",
        ),
        ("zh-hans", "每位被标记且有客户经理的客户一个，标记完成前一直保留"),
    ],
)
def test_the_page_says_what_the_follow_ups_count(client, book_of_orders, language, expected):
    analytics_refresh(as_of=AS_OF)
    analyst = book_of_orders.users["admin"]
    analyst.language = language
    analyst.save(update_fields=["language"])
    client.force_login(analyst)
    html = client.get("/analytics/").content.decode()
    count = follow_ups_for_user(analyst).count()
    assert f'id="follow-ups-counted">{count} ' in html
    assert expected in html
