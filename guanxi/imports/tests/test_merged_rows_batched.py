"""Rows naming customers merged away go into the customers they were merged into (following
later merges), as one row does, with the merges of a whole batch looked up together: a file of
a thousand such rows does not ask a thousand times."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import CustomerMerge
from guanxi.dedup.selectors import merge_successor, merge_successors
from guanxi.dedup.services import customer_merge_undo, customers_merge
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def _merged_pairs(actor, count: int, start: int = 0) -> list[tuple[Customer, Customer]]:
    """``count`` customers (external ids M…) each merged into another (K…)."""
    pairs = []
    for i in range(start, start + count):
        kept = customer_create(
            actor=actor,
            data={"name": f"留{i}", "external_id": f"K{i}", "phones": [f"1391234{i:04d}"]},
        )
        merged = customer_create(
            actor=actor,
            data={"name": f"并{i}", "external_id": f"M{i}", "phones": [f"1381234{i:04d}"]},
        )
        customers_merge(actor=actor, survivor_id=kept.pk, merged_id=merged.pk)
        pairs.append((kept, merged))
    return pairs


def _run(tmp_path, actor, text, kind="customers"):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    job = import_job_create(actor=actor, path=path, filename=path.name, kind=kind)
    with CaptureQueriesContext(connection) as captured:
        job = import_job_run(job=job)
    merges = sum("dedup_customermerge" in q["sql"] for q in captured.captured_queries)
    return job, merges


def _merge_lookups(tmp_path, actor, pairs, *, by: str, kind: str = "customers"):
    if kind == "interactions":
        lines = "".join(
            f"I{merged.external_id},{merged.external_id},来电\n" for _k, merged in pairs
        )
        return _run(tmp_path, actor, "external_id,customer_external_id,subject\n" + lines, kind)
    if by == "id":
        # With the merged customer's phone, which the one it was merged into took.
        lines = "".join(
            f"{merged.pk},,改{merged.pk},1381234{merged.name[1:]:0>4}\n" for _k, merged in pairs
        )
        return _run(tmp_path, actor, "id,external_id,name,phones\n" + lines)
    lines = "".join(f"{merged.external_id},改{merged.pk}\n" for _k, merged in pairs)
    return _run(tmp_path, actor, "external_id,name\n" + lines)


@pytest.mark.parametrize(
    ("by", "kind"),
    [("external_id", "customers"), ("id", "customers"), ("external_id", "interactions")],
)
def test_a_batch_looks_the_merges_up_together(company, tmp_path, by, kind):
    pairs = _merged_pairs(company.admin, 6)
    job, few = _merge_lookups(tmp_path, company.admin, pairs[:2], by=by, kind=kind)
    assert job.rejected == 0, list(job.errors.values_list("reason", flat=True))
    job, many = _merge_lookups(tmp_path, company.admin, pairs[2:], by=by, kind=kind)
    assert job.rejected == 0, list(job.errors.values_list("reason", flat=True))
    assert many == few
    if kind == "interactions":
        for kept, merged in pairs:
            assert (
                Interaction.objects.get(external_id=f"I{merged.external_id}").customer_id == kept.pk
            )
    else:
        for kept, merged in pairs:
            kept.refresh_from_db()
            assert kept.name == f"改{merged.pk}"


def test_rows_naming_merged_customers_go_where_each_one_lives_on(company, tmp_path):
    admin = company.admin
    (b, a), (d, c), (_f, e) = _merged_pairs(admin, 3)
    # a's survivor b merged on into d: a lives on in d, as b does.
    customers_merge(actor=admin, survivor_id=d.pk, merged_id=b.pk)
    # e's merge undone: e is itself again, and no longer anyone's.
    merge_undo_of(admin, e)
    assert merge_successors([a.pk, b.pk, c.pk, d.pk, e.pk, 0, 10**20]) == {
        a.pk: d.pk,
        b.pk: d.pk,
        c.pk: d.pk,
    }
    for pk in (a.pk, b.pk, c.pk, d.pk, e.pk, 0, 10**20):
        assert merge_successor(pk) == merge_successors([pk]).get(pk)
    job, _merges = _run(
        tmp_path, admin, f"external_id,name\n{a.external_id},改甲\n{c.external_id},改丙\n"
    )
    assert (job.updated, job.rejected) == (2, 0), list(job.errors.values_list("reason", flat=True))
    d.refresh_from_db()
    assert d.name == "改丙"  # the second row, after the first changed it to 改甲


def merge_undo_of(actor, customer):
    merge = CustomerMerge.objects.get(merged_id=customer.pk, undone_at__isnull=True)
    customer_merge_undo(actor=actor, merge_id=merge.pk)
