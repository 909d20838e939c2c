"""factory_boy factories for tests. Customers made here bypass the services (fast set-up);
tests of behaviour go through the services."""

import factory
from django.contrib.auth.models import Permission

from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.roles import Role
from guanxi.customers.models import Customer
from guanxi.customers.search import build_search_text


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    department = factory.SubFactory(DepartmentFactory)
    customer_sharing = Team.Sharing.VIEW


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.SALES_REP
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def sensitive(self, create, extracted, **kwargs):
        if extracted:
            self.user_permissions.add(Permission.objects.get(codename="view_sensitive_data"))
        if create:
            self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    party_type = Customer.PartyType.PERSON
    company = ""
    search_text = factory.LazyAttribute(
        lambda c: build_search_text(
            name=c.name,
            company=c.company,
            phones=[],
            emails=[],
            tags=[],
            person=c.party_type == Customer.PartyType.PERSON,
        )
    )


def customer_with_a_long_past(company) -> Customer:
    """A customer of the company's rep with more contacts (25) and changes (22) than the
    customer page shows at first, made through the services so the history is real."""
    from datetime import timedelta

    from django.utils import timezone

    from guanxi.customers.services import customer_create, customer_update
    from guanxi.interactions.models import Interaction

    customer = customer_create(actor=company.rep, data={"name": "长历史客户"})
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            channel="phone",
            direction="outbound",
            subject=f"call {i:02d}",
            occurred_at=now - timedelta(days=i),
            staff=company.rep,
        )
        for i in range(25)
    )
    for i in range(22):
        customer = customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=customer.version,
            data={"industry": f"industry {i:02d}"},
        )
    return customer


def change_customer(actor, customer: Customer, **data) -> Customer:
    """``customer_update`` of ``data`` as ``actor``, against the customer's version as stored
    now (the instance may be older: a merge or another change since)."""
    from guanxi.customers.services import customer_update

    customer.refresh_from_db()
    return customer_update(
        actor=actor, customer_id=customer.pk, expected_version=customer.version, data=data
    )
