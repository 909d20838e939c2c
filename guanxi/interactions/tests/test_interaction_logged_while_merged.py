"""A contact logged while its customer is being merged into another. The merge moves the
customer's contacts to the kept customer; one logged meanwhile must not be left behind on the
customer the merge puts in the recycle bin, where nobody sees it. Real concurrency needs
PostgreSQL."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.core.testing.merging import merge_held
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def test_a_contact_logged_while_its_customer_is_merged_away_is_not_lost(company, monkeypatch):
    kept = customer_create(actor=company.manager, data={"name": "孙丽"})
    other = customer_create(actor=company.manager, data={"name": "孙丽"})
    with merge_held(
        monkeypatch, actor=company.manager, survivor_id=kept.pk, merged_id=other.pk
    ) as merge:
        merge.beside(
            lambda: interaction_log(
                actor=company.manager,
                customer_id=other.pk,
                data={
                    "channel": "phone",
                    "subject": "回电",
                    "occurred_at": timezone.now() - dt.timedelta(minutes=1),
                },
            ),
            "log",
        )
    results = merge.results
    assert results["merge"][0] == "ok", results["merge"][-1]
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results["log"][0] == "error", results["log"]
    assert isinstance(results["log"][1], Customer.DoesNotExist), results["log"][-1]
    assert not Interaction.objects.filter(customer_id=other.pk).exists()
