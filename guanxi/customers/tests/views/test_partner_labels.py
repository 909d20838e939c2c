"""A partner customer (kind) and a partnership (relationship level) read as two things in
Chinese, where both used to show as 合作伙伴 side by side on the customer page."""

import pytest
from django.test import Client

from guanxi.customers.services import customer_create

pytestmark = pytest.mark.django_db


def test_a_partner_with_a_partnership_shows_two_different_words(company):
    customer = customer_create(
        actor=company.admin,
        data={
            "name": "华瑞科技",
            "party_type": "organization",
            "kind": "partner",
            "relationship_level": "partner",
        },
    )
    client = Client()
    client.force_login(company.admin)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "合作伙伴" in page and "伙伴关系" in page
    client.cookies["django_language"] = "en"
    assert "Partner" in client.get(f"/customers/{customer.pk}/").content.decode()
