"""A tag longer than a tag may be is refused naming the tag, on the customer form (which shows
the tags' errors together under the one box they are typed in, so a position would say
nothing), in English and Chinese. The import gives the same message under its tags column
(``guanxi/imports/tests/test_tag_reasons_name_their_column.py``); the API's own schema refuses
the tag first, naming its position (``tags[0]``, ``guanxi/api/tests/test_column_limits.py``)."""

import pytest
from django.conf import settings

from guanxi.customers.models import Customer

from .test_customer_pages import _customer_form

pytestmark = pytest.mark.django_db

LONG_TAG = "长期合作的华东区重点大客户" * 4 + "甲"  # 53 characters; a tag may have 50
# The message names it by its first 30 characters.


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "en",
            "Tag “长期合作的华东区重点大客户长期合作的华东区重点大客户长期合作…” "
            "is longer than 50 characters.",
        ),
        (
            "zh-hans",
            "标签“长期合作的华东区重点大客户长期合作的华东区重点大客户长期合作…”超过 50 个字符。",
        ),
    ],
)
def test_a_tag_too_long_is_named_in_the_error(client, company, language, message):
    client.force_login(company.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    before = Customer.objects.count()
    response = client.post("/customers/new/", _customer_form(name="周杰", tags=f"VIP, {LONG_TAG}"))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Customer.objects.count() == before
