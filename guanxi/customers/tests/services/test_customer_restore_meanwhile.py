"""Restoring a customer after the company moved on while it was in the recycle bin: its
account manager left, or someone else was entered with its address or number since."""

import pytest

from guanxi.accounts.services import user_deactivate
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create, customer_delete, customer_restore
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db


def test_a_customer_whose_account_manager_left_meanwhile_comes_back_to_the_unowned_pool(company):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=company.teammate.pk)

    restored = customer_restore(actor=company.admin, customer_id=customer.pk)

    assert restored.owner_id is None
    event = AuditEvent.objects.filter(customer_id=customer.pk).latest("id")
    assert event.changes == {
        "deleted": {"before": True, "after": False},
        "owner_id": {"before": company.rep.pk, "after": None},
    }
    # Where the managers hand customers out, instead of with a user nobody signs in as.
    assert (
        customer_list_for_user(company.manager, filters={"q": "张伟"})
        .filter(pk=customer.pk, owner__isnull=True)
        .exists()
    )


def test_a_customer_whose_account_manager_is_still_here_keeps_them(company):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)

    assert customer_restore(actor=company.admin, customer_id=customer.pk).owner_id == company.rep.pk


@pytest.mark.parametrize(
    ("kept", "entered_again"),
    [
        (
            {"name": "孙悦", "emails": ["sunyue@example.cn"]},
            {"name": "Yue Sun", "emails": ["sunyue@example.cn"]},
        ),
        (
            {"name": "孙悦", "phones": ["13912340001"]},
            {"name": "孙小姐", "phones": ["+86 139 1234 0001"]},
        ),
        (
            {"name": "欧阳娜娜", "phones": ["13912340002"], "emails": ["nana@example.cn"]},
            {"name": "欧阳娜娜", "phones": ["13912340002"], "emails": ["ouyang@example.cn"]},
        ),
    ],
    ids=["same-address", "same-number", "same-name-and-number"],
)
def test_a_customer_entered_again_meanwhile_is_queued_as_a_possible_duplicate(
    company, kept, entered_again
):
    deleted = customer_create(actor=company.rep, data=kept)
    customer_delete(actor=company.admin, customer_id=deleted.pk)
    again = customer_create(actor=company.rep, data=entered_again)

    customer_restore(actor=company.admin, customer_id=deleted.pk)

    pair = DuplicatePair.objects.get(
        left_id=min(deleted.pk, again.pk), right_id=max(deleted.pk, again.pk)
    )
    assert (pair.status, pair.source) == (
        DuplicatePair.Status.OPEN,
        DuplicatePair.Source.RESTORE,
    )


def test_a_pair_decided_before_stays_decided(company):
    deleted = customer_create(actor=company.rep, data={"name": "孙悦", "phones": ["13912340003"]})
    other = customer_create(actor=company.rep, data={"name": "孙悦", "phones": ["13912340003"]})
    low, high = sorted((deleted.pk, other.pk))
    DuplicatePair.objects.create(
        left_id=low,
        right_id=high,
        score=0.9,
        source=DuplicatePair.Source.SCAN,
        status=DuplicatePair.Status.REJECTED,
    )
    customer_delete(actor=company.admin, customer_id=deleted.pk)

    customer_restore(actor=company.admin, customer_id=deleted.pk)

    pair = DuplicatePair.objects.get(left_id=low, right_id=high)
    assert pair.status == DuplicatePair.Status.REJECTED


def test_a_customer_nobody_resembles_is_queued_with_no_one(company):
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    customer_restore(actor=company.admin, customer_id=customer.pk)
    assert not DuplicatePair.objects.exists()
    assert Customer.objects.get(pk=customer.pk).deleted_at is None
