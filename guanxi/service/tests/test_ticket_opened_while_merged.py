"""A ticket opened while its customer is being merged into another. The merge moves the
customer's tickets to the kept customer; one opened meanwhile must not be left behind on the
customer the merge puts in the recycle bin, where nobody sees it. Real concurrency needs
PostgreSQL."""

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer
from guanxi.service.intake import request_from_customer
from guanxi.service.models import Ticket
from guanxi.service.services import ticket_create

pytestmark = CONCURRENT


def _while_merging(company, monkeypatch, write):
    """Merge a second 吴刚 into the first, and run ``write(kept, other)`` while the merge holds
    both customers, having moved their tickets. Returns (kept, other, results)."""
    kept, other = customers_to_merge(
        company.manager,
        {"name": "吴刚", "emails": [{"address": "wu.gang@example.com"}]},
        {"name": "吴刚"},
    )
    # The other holds the address only, so a request from it finds only the other.
    kept.emails.all().delete()
    other.emails.create(address="wu.gang@example.com", is_primary=True)
    results = write_while_merging(
        monkeypatch, lambda: write(kept, other), actor=company.manager, kept=kept, other=other
    )
    return kept, other, results


def test_a_ticket_opened_by_staff_while_its_customer_is_merged_away_is_refused(
    company, monkeypatch
):
    def write(kept, other):
        return ticket_create(
            actor=company.manager,
            customer_id=other.pk,
            data={"type": "inquiry", "subject": "发票什么时候开"},
        )

    _kept, other, results = _while_merging(company, monkeypatch, write)
    # Refused as for any customer gone (a 404), never written to the one in the recycle bin.
    assert results["write"][0] == "error", results["write"]
    assert isinstance(results["write"][1], Customer.DoesNotExist), results["write"][-1]
    assert not Ticket.objects.filter(customer_id=other.pk).exists()


def test_a_request_from_a_customer_being_merged_away_goes_to_the_kept_one(company, monkeypatch):
    def write(kept, other):
        return request_from_customer(
            name="吴刚",
            email="wu.gang@example.com",
            data={"type": "inquiry", "subject": "发票什么时候开"},
            channel=Ticket.Channel.WEB_FORM,
            acknowledge=False,
        )

    kept, other, results = _while_merging(company, monkeypatch, write)
    assert results["write"][0] == "ok", results["write"][-1]
    ticket = results["write"][1]
    # The merge copied the address to the kept customer, who is found by it the second time.
    assert ticket.customer_id == kept.pk
    assert not Ticket.objects.filter(customer_id=other.pk).exists()
    assert Customer.objects.filter(deleted_at__isnull=True, name="吴刚").count() == 1
