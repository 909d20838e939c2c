"""``guanxi dedup scan`` over a database of generated Chinese customers with known duplicates:
the CSV it writes, its quality, the review queue, and decisions that survive the next scan."""

import csv
import io
from itertools import combinations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models

from guanxi.dedup.datasets.chinese import generate
from guanxi.dedup.models import DuplicatePair, MatchModelFit
from guanxi.dedup.scan import CSV_COLUMNS
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def load_generated(company, tmp_path, entities: int):
    """The generated customers, through the importer (duplicates kept: dedup off)."""
    rows = generate(entities=entities, seed=5)
    path = tmp_path / "generated.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["external_id", "name", "party_type", "company", "phone", "email", "birth_date",
             "id_number", "address", "city", "region", "postcode"]
        )  # fmt: skip
        for r in rows:
            address = r.addresses[0] if r.addresses else {}
            writer.writerow(
                [r.external_id, r.name, r.party_type, r.company, ";".join(r.phones),
                 ";".join(e.strip() for e in r.emails), r.birth_date or "", r.id_number,
                 address.get("street", ""), address.get("city", ""), address.get("region", ""),
                 address.get("postcode", "")]
            )  # fmt: skip
    job = import_job_create(
        actor=company.admin, path=path, filename="generated.csv", kind="customers", dedup="off"
    )
    job = import_job_run(job=job)
    assert job.rejected == 0 and job.created == len(rows)
    return rows


def test_scan_finds_the_known_duplicates(company, tmp_path):
    rows = load_generated(company, tmp_path, entities=1500)
    entity = {r.external_id: r.entity for r in rows}
    by_entity: dict[str, list[str]] = {}
    for r in rows:
        by_entity.setdefault(r.entity, []).append(r.external_id)
    truth = {frozenset(p) for members in by_entity.values() for p in combinations(members, 2)}
    output = tmp_path / "pairs.csv"
    out = io.StringIO()
    call_command("dedup", "scan", "--output", str(output), stdout=out)
    assert "customers" in out.getvalue() and "converged" in out.getvalue()

    with output.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert tuple(next(reader)) == CSV_COLUMNS
        lines = list(reader)
    pairs = set()
    for left_id, right_id, left_external, right_external, score in lines:
        assert int(left_id) < int(right_id) and 0.8 <= float(score) <= 1.0
        pair = frozenset((left_external, right_external))
        assert pair not in pairs  # one row per unordered pair
        pairs.add(pair)
    pairs = {p for p in pairs if all(e in entity for e in p)}  # the fixture's own customers
    correct = len(pairs & truth)
    assert correct / len(pairs) >= 0.98, (correct, len(pairs))
    assert correct / len(truth) >= 0.95, (correct, len(truth))
    assert DuplicatePair.objects.filter(status="open").count() == len(lines)
    assert MatchModelFit.objects.count() == 1


def test_decisions_survive_the_next_scan(company, tmp_path):
    load_generated(company, tmp_path, entities=300)
    call_command("dedup", "scan", stdout=io.StringIO())
    rejected = DuplicatePair.objects.order_by("-score").first()
    rejected.status = DuplicatePair.Status.REJECTED
    rejected.save()
    open_before = DuplicatePair.objects.filter(status="open").count()
    out = io.StringIO()
    call_command("dedup", "scan", "--threshold", "0.8", stdout=out)
    assert "1 already decided" in out.getvalue()
    assert DuplicatePair.objects.get(pk=rejected.pk).status == DuplicatePair.Status.REJECTED
    assert DuplicatePair.objects.filter(status="open").count() == open_before


def test_a_bad_threshold_is_refused(company):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as error:
        call_command("dedup", "scan", "--threshold", "1.5", stdout=io.StringIO())
    assert error.value.returncode == 2


def test_evaluate_prints_the_quality_and_checks_the_bar():
    out = io.StringIO()
    call_command(
        "dedup", "evaluate", "--dataset", "chinese", "--entities", "800", "--check", stdout=out
    )
    text = out.getvalue()
    assert "precision" in text and "chinese" in text


def test_reindex_rebuilds_what_the_services_maintain(company):
    from guanxi.customers.services import customer_create
    from guanxi.dedup.models import MatchKey, MatchProfile

    ids = [
        customer_create(
            actor=company.rep,
            data={"name": f"王芳{i}", "phones": [f"1380000000{i}"], "emails": [f"w{i}@x.cn"]},
        ).pk
        for i in range(5)
    ]
    mine = {"customer_id__in": ids}
    kept = sorted(MatchKey.objects.filter(**mine).values_list("customer_id", "key_hash", "rule"))
    profiles = sorted(MatchProfile.objects.filter(**mine).values_list("customer_id", "profile"))
    MatchKey.objects.all().delete()
    MatchProfile.objects.filter(customer_id__in=[p[0] for p in profiles[:3]]).delete()
    out = io.StringIO()
    call_command("dedup", "reindex", stdout=out)
    assert "rebuilt" in out.getvalue()
    assert (
        sorted(MatchKey.objects.filter(**mine).values_list("customer_id", "key_hash", "rule"))
        == kept
    )
    assert sorted(MatchProfile.objects.filter(**mine).values_list("customer_id", "profile")) == (
        profiles
    )
    # Customers made without the services (the fixture's) are indexed now too.
    assert MatchProfile.objects.count() == len(ids) + len(company.customers)
    # The unique constraint is back: a key twice for one customer is refused.
    from django.db import IntegrityError, transaction

    key = MatchKey.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        MatchKey.objects.create(customer_id=key.customer_id, key_hash=key.key_hash, rule=key.rule)


@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_an_output_that_cannot_be_written_is_refused_before_scanning(tmp_path, where):
    output = tmp_path / "nope" / "pairs.csv" if where == "missing directory" else tmp_path
    with pytest.raises(CommandError) as raised:
        call_command("dedup", "scan", "--output", str(output))
    assert raised.value.returncode == 2
    assert str(output) in str(raised.value)
    assert not MatchModelFit.objects.exists()  # nothing was scanned


def test_a_merge_while_the_scan_compares_keeps_the_pairs_it_moved(company, tmp_path, monkeypatch):
    from guanxi.customers.services import customer_create
    from guanxi.dedup import scan as scan_module
    from guanxi.dedup.scan import scan_duplicates
    from guanxi.dedup.services import customers_merge

    load_generated(company, tmp_path, entities=300)
    scan_duplicates()
    pair = DuplicatePair.objects.filter(status="open").order_by("-score", "pk").first()
    elsewhere = customer_create(actor=company.admin, data={"name": "无关客户"})
    compare = scan_module.find_duplicates

    def merge_while_comparing(*args, **kwargs):
        found = compare(*args, **kwargs)  # the scan read the pair's customers before this
        customers_merge(actor=company.admin, survivor_id=elsewhere.pk, merged_id=pair.left_id)
        return found

    monkeypatch.setattr(scan_module, "find_duplicates", merge_while_comparing)
    scan_duplicates()
    moved = DuplicatePair.objects.get(pk=pair.pk)  # now between the survivor and the other
    assert moved.status == "open"
    assert {moved.left_id, moved.right_id} == {elsewhere.pk, pair.right_id}
    merged_away = DuplicatePair.objects.filter(status="open").filter(
        models.Q(left_id=pair.left_id) | models.Q(right_id=pair.left_id)
    )
    assert not merged_away.exists()
