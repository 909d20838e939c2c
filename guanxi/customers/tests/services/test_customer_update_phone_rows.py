"""A phone number kept through an edit stays the same row: the edit form and the API name a
masked number by its id, so the id must still name it when someone saves from what they read."""

import pytest

from guanxi.customers.models import Phone
from guanxi.customers.services import customer_create, customer_update

pytestmark = pytest.mark.django_db


def test_numbers_kept_keep_their_rows_and_only_the_changed_ones_move(company):
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "王芳",
            "phones": [
                {"number": "13800005678", "label": "mobile", "is_primary": True},
                {"number": "010 6512 3456", "label": "work"},
                {"number": "13900001111", "label": "home"},
            ],
        },
    )
    mobile, work, home = customer.phones.order_by("pk")

    updated = customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={
            "phones": [
                {"number": "13800005678", "label": "mobile", "is_primary": True},
                {"number": "+86 10 6512 3456", "label": "other"},  # the same number, relabelled
                {"number": "13700002222", "label": "mobile"},  # new; 139… removed
            ]
        },
    )

    rows = {phone.number: phone for phone in updated.phones.all()}
    assert set(rows) == {"+8613800005678", "+861065123456", "+8613700002222"}
    assert rows["+8613800005678"].pk == mobile.pk
    assert (rows["+861065123456"].pk, rows["+861065123456"].label) == (work.pk, "other")
    assert rows["+8613700002222"].pk not in {mobile.pk, work.pk, home.pk}
    assert not Phone.objects.filter(pk=home.pk).exists()
