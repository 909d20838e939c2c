"""The tier chart's caption states the rule the shown tiers were made by: the gold and lead
shares of the value settings the run used, and that money-losing customers are lead whatever
their rank, in the reader's language, instead of always "the top fifth gold"."""

import pytest

from guanxi.analytics.models import ValueSettings
from guanxi.analytics.refresh import analytics_refresh
from guanxi.analytics.tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


@pytest.fixture
def shares(book_of_orders):
    settings = ValueSettings.load()
    settings.gold_share, settings.lead_share = 0.1, 0.25
    settings.save()
    analytics_refresh(as_of=AS_OF)
    return book_of_orders


def test_the_caption_gives_the_shares_in_force(client, shares):
    client.force_login(shares.users["analyst"])
    html = client.get("/analytics/").content.decode()
    assert "top fifth" not in html
    assert "the top 10% gold, the bottom 25% lead, the rest iron" in html
    assert "costs more than they bring is lead whatever their rank" in html


def test_the_caption_is_in_chinese_for_a_chinese_reader(client, shares):
    analyst = shares.users["analyst"]
    analyst.language = "zh-hans"
    analyst.save(update_fields=["language"])
    client.force_login(analyst)
    html = client.get("/analytics/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "五分之一" not in html
    assert "前 10% 为黄金，末尾 25% 为铅，其余为钢铁" in html


def test_the_caption_follows_the_run_not_a_later_change(client, shares):
    settings = ValueSettings.load()
    settings.gold_share = 0.3
    settings.save()
    client.force_login(shares.users["analyst"])
    html = client.get("/analytics/").content.decode()
    assert "the top 10% gold" in html
