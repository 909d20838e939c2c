"""A contact logged while its customer is being merged into another. The merge moves the
customer's contacts to the kept customer; one logged meanwhile must not be left behind on the
customer the merge puts in the recycle bin, where nobody sees it. Real concurrency needs
PostgreSQL."""

import datetime as dt

from django.utils import timezone

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log

pytestmark = CONCURRENT


def test_a_contact_logged_while_its_customer_is_merged_away_is_not_lost(company, monkeypatch):
    kept, other = customers_to_merge(company.manager, {"name": "孙丽"})
    results = write_while_merging(
        monkeypatch,
        lambda: interaction_log(
            actor=company.manager,
            customer_id=other.pk,
            data={
                "channel": "phone",
                "subject": "回电",
                "occurred_at": timezone.now() - dt.timedelta(minutes=1),
            },
        ),
        actor=company.manager,
        kept=kept,
        other=other,
        key="log",
    )
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results["log"][0] == "error", results["log"]
    assert isinstance(results["log"][1], Customer.DoesNotExist), results["log"][-1]
    assert not Interaction.objects.filter(customer_id=other.pk).exists()
