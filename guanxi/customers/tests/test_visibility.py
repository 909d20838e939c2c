"""The one visibility rule, role by role."""

import pytest

from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.models import Customer
from guanxi.customers.visibility import CHANGE, INTERACT, VIEW, may_own_customers


def _names(company, queryset) -> set[str]:
    by_pk = {c.pk: name for name, c in company.customers.items()}
    return {by_pk[pk] for pk in queryset.values_list("pk", flat=True)}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_each_role_reaches_exactly_its_customers(company, username):
    user = company.users[username]
    for action, expected in zip((VIEW, INTERACT, CHANGE), EXPECTED[username], strict=True):
        assert _names(company, Customer.objects.visible_to(user, action)) == expected, action


def test_team_edit_sharing_lets_teammates_change_each_others_customers(company):
    company.team_a.customer_sharing = "edit"
    company.team_a.save()
    rep = type(company.rep).objects.get(pk=company.rep.pk)  # fresh object, no cached scope
    assert _names(company, Customer.objects.visible_to(rep, CHANGE)) == {
        "rep_customer",
        "teammate_customer",
    }


def test_deleted_customers_are_invisible_to_everyone(company):
    from django.utils import timezone

    Customer.objects.filter(pk=company.rep_customer.pk).update(deleted_at=timezone.now())
    for user in company.users.values():
        assert not Customer.objects.visible_to(user).filter(pk=company.rep_customer.pk).exists()


def test_inactive_and_anonymous_users_see_nothing(company):
    from django.contrib.auth.models import AnonymousUser

    company.admin.is_active = False
    assert not Customer.objects.visible_to(company.admin).exists()
    assert not Customer.objects.visible_to(AnonymousUser()).exists()


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_who_may_own_customers_is_who_may_change_the_customers_they_own(company, username):
    user = company.users[username]
    owned = Customer.objects.create(name=f"Owned by {username}", owner=user)
    may_change_it = Customer.objects.visible_to(user, CHANGE).filter(pk=owned.pk).exists()
    assert may_own_customers(user) is may_change_it
