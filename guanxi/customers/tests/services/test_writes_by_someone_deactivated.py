"""Creating or restoring a customer as someone deactivated since they signed in (or since their
request was authenticated). They were refused without a word, as if they lacked a right they
could ask for; every write refuses them saying their account has been deactivated."""

import pytest

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.locking import ActorDeactivated
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_restore

pytestmark = pytest.mark.django_db

DEACTIVATED = "Your account has been deactivated: nothing was changed."


def _deactivated_since(user: User) -> User:
    """``user`` as read before their deactivation, which has committed since."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    return user


def test_a_customer_created_by_someone_deactivated_since_is_refused_saying_so(company):
    actor = _deactivated_since(company.rep)

    with pytest.raises(ActorDeactivated) as refused:
        customer_create(actor=actor, data={"name": "西湖茶庄"})

    assert refused.value.args == (DEACTIVATED,)
    assert not Customer.objects.filter(name="西湖茶庄").exists()


def test_a_customer_restored_by_someone_deactivated_since_is_refused_saying_so(company):
    admin = UserFactory(username="admin_2", role=Role.ADMIN)
    customer = company.rep_customer
    customer_delete(actor=company.admin, customer_id=customer.pk)
    actor = _deactivated_since(admin)

    with pytest.raises(ActorDeactivated) as refused:
        customer_restore(actor=actor, customer_id=customer.pk)

    assert refused.value.args == (DEACTIVATED,)
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None
