"""A customer put on the blacklist while being merged into another. The merge moves the
customer's blacklist entry to the kept customer; an entry added meanwhile must not be left
behind on the customer the merge puts in the recycle bin, where it stops no order. Real
concurrency needs PostgreSQL."""

from guanxi.analytics.models import Blacklist
from guanxi.analytics.services import blacklist_add
from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer

pytestmark = CONCURRENT


def test_a_customer_blacklisted_while_merged_away_is_refused(company, monkeypatch):
    kept, other = customers_to_merge(company.manager, {"name": "陈静"})
    results = write_while_merging(
        monkeypatch,
        lambda: blacklist_add(actor=company.manager, customer_id=other.pk, reason="拒付"),
        actor=company.manager,
        kept=kept,
        other=other,
        key="add",
    )
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results["add"][0] == "error", results["add"]
    assert isinstance(results["add"][1], Customer.DoesNotExist), results["add"][-1]
    assert not Blacklist.objects.filter(customer_id=other.pk).exists()
