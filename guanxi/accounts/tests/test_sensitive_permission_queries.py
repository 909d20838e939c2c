"""Whether someone may see sensitive data is read in one query, their own permissions and their
groups' together, and answers as Django's own permission check does."""

import pytest
from django.contrib.auth.models import Group, Permission

from guanxi.accounts.models import User

pytestmark = pytest.mark.django_db


def _permission(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def _fresh(user) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def groups():
    sensitive = Group.objects.create(name="Sensitive data")
    sensitive.permissions.add(_permission("view_sensitive_data"))
    tags = Group.objects.create(name="Tag editors")
    tags.permissions.add(_permission("change_tag"), _permission("view_tag"))
    return sensitive, tags


@pytest.mark.parametrize(
    "how, expected",
    [("own", True), ("group", True), ("other group", False), ("none", False)],
)
def test_one_query_answers_as_django_does(
    company, groups, how, expected, django_assert_num_queries
):
    sensitive, tags = groups
    user = company.rep
    user.user_permissions.add(_permission("view_customer"))
    user.groups.add(tags)
    if how == "own":
        user.user_permissions.add(_permission("view_sensitive_data"))
    elif how == "group":
        user.groups.add(sensitive)
    user = _fresh(user)
    with django_assert_num_queries(1):
        assert user.may_view_sensitive() is expected
        # Every other permission is answered from what that one query read.
        assert user.has_perm("customers.change_tag")
        assert user.has_perm("customers.view_customer")
        assert not user.has_perm("customers.delete_customer")
    assert user.get_all_permissions() == _fresh(user).get_all_permissions()
