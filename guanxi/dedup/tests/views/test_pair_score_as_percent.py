"""A pair's score reads as a percentage on its own page, as on the list of duplicates, in
either language, instead of the list saying "99%" and the pair page "likelihood 0.99"."""

import pytest

from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(company):
    first = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    second = customer_create(actor=company.rep, data={"name": "張偉", "phones": ["13812345679"]})
    return DuplicatePair.objects.create(
        left_id=first.pk, right_id=second.pk, score=0.87, source="scan", details={"fields": []}
    )


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "likelihood 87%"), ("zh-hans", "重复可能性 87%")]
)
def test_the_pair_page_and_the_list_show_the_same_percentage(
    client, company, pair, language, expected
):
    company.admin.language = language
    company.admin.save(update_fields=["language"])
    client.force_login(company.admin)
    listing = client.get("/duplicates/").content.decode()
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert "87%" in listing
    assert expected in page
    assert "0.87" not in page.replace("--score:0.87", "")
