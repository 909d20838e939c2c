"""Traditional Chinese in the top bar's language switch: offered beside English and Simplified
Chinese, each named in itself, kept as a signed-in user's choice and spoken when they sign in
again; a browser asking for Taiwan's or Hong Kong's Chinese gets it."""

import re

import pytest

from guanxi.accounts.models import User
from guanxi.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _switch(page: str) -> dict[str, str]:
    """The switch's buttons: the language each sets, and its name."""
    form = re.search(r'<form class="langswitch".*?</form>', page, re.S).group(0)
    return dict(re.findall(r'name="language" value="([^"]+)"[^>]*>\s*([^<]+?)\s*</button>', form))


def test_the_switch_offers_every_other_language_named_in_itself(client, company):
    client.force_login(company.rep)
    english = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _switch(english) == {"zh-hans": "简体中文", "zh-hant": "繁體中文"}
    client.cookies["django_language"] = "zh-hant"
    traditional = client.get("/customers/").content.decode()
    assert _switch(traditional) == {"en": "English", "zh-hans": "简体中文"}


def test_traditional_chinese_is_kept_and_spoken_at_the_next_sign_in(client, company):
    client.force_login(company.rep)
    client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/customers/"})
    assert User.objects.get(pk=company.rep.pk).language == "zh-hant"

    client.logout()
    client.cookies.clear()
    client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    page = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hant">' in page
    assert "客戶" in page and "客户" not in page


@pytest.mark.parametrize("asked", ["zh-TW,zh;q=0.9", "zh-HK", "zh-Hant"])
def test_a_browser_asking_for_traditional_chinese_gets_it(client, company, asked):
    client.force_login(company.rep)
    page = client.get("/customers/", HTTP_ACCEPT_LANGUAGE=asked).content.decode()
    assert '<html lang="zh-hant">' in page
