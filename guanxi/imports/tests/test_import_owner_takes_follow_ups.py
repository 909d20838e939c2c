"""A customer import that gives a stored customer another account manager (the owner column) is
a reassignment like the reassignment screen's or the edit form's: the customer's open churn
follow-up goes with it to the new account manager, with an audit row on the customer; one whose
customer keeps its owner stays where it is."""

import pytest

from guanxi.analytics.models import ChurnFollowUp
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.imports.tests.test_customer_import import run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def followed(company):
    """The rep's customer K1 and the teammate's K2, each with an open churn follow-up."""
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    Customer.objects.filter(pk=company.teammate_customer.pk).update(external_id="K2")
    return {
        key: ChurnFollowUp.objects.create(
            customer=customer, owner=customer.owner, reason="overdue", value_at_risk=100
        )
        for key, customer in (("K1", company.rep_customer), ("K2", company.teammate_customer))
    }


def _rows(follow_up) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="churn_follow_up", object_id=follow_up.pk))


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_new_owner_from_a_file_takes_the_open_follow_up(company, followed, tmp_path, batch_size):
    text = "external_id,name,owner\nK1,Rep Customer 张伟,teammate\nK2,Teammate Customer,teammate\n"
    job = run_import(tmp_path, text, company.manager, batch_size=batch_size)
    assert (job.updated, job.rejected) == (2, 0)
    moved, kept = (ChurnFollowUp.objects.get(pk=followed[key].pk) for key in ("K1", "K2"))
    assert (moved.owner, moved.done_at) == (company.teammate, None)
    [row] = _rows(moved)
    assert row.action == AuditEvent.Action.REASSIGN
    assert row.changes == {"owner_id": {"before": company.rep.pk, "after": company.teammate.pk}}
    assert (row.actor, row.customer_id) == (company.manager, company.rep_customer.pk)
    # The teammate's customer stays theirs, and so does its follow-up, untouched.
    assert kept.owner == company.teammate and not _rows(kept)


def test_a_dry_run_moves_nothing(company, followed, tmp_path):
    text = "external_id,name,owner\nK1,Rep Customer 张伟,teammate\n"
    assert run_import(tmp_path, text, company.manager, dry_run=True).updated == 1
    assert ChurnFollowUp.objects.get(pk=followed["K1"].pk).owner == company.rep
    assert not _rows(followed["K1"])
