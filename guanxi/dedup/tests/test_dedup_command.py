"""``guanxi dedup`` with arguments a user can get wrong: each is refused with a message naming
it and status 2 before any work; the pairs file is written whole or not at all."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair


def _dedup(*args) -> str:
    out = io.StringIO()
    call_command("dedup", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0", "1", "-5"])
def test_a_max_block_that_would_skip_every_key_is_refused(company, value):
    with pytest.raises(CommandError, match="--max-block must be at least 2") as error:
        _dedup("scan", "--max-block", value)
    assert error.value.returncode == 2


@pytest.mark.parametrize("value", ["0", "-3"])
def test_evaluate_refuses_an_empty_generated_data_set(value):
    with pytest.raises(CommandError, match="--entities must be at least 1") as error:
        _dedup("evaluate", "--dataset", "chinese", "--entities", value)
    assert error.value.returncode == 2


def test_fetch_febrl_into_a_file_is_refused(tmp_path, monkeypatch):
    def no_download(directory):
        raise AssertionError("nothing may be downloaded")

    monkeypatch.setattr("guanxi.dedup.datasets.febrl.fetch", no_download)
    target = tmp_path / "a-file"
    target.write_text("")
    with pytest.raises(CommandError, match="is a file, not a directory") as error:
        _dedup("fetch-febrl", str(target))
    assert error.value.returncode == 2


@pytest.mark.django_db
def test_a_scan_stopped_while_writing_the_pairs_leaves_the_previous_file(
    company, tmp_path, monkeypatch
):
    output = tmp_path / "pairs.csv"
    output.write_text("the previous pairs\n")

    class Interrupting:
        def __init__(self, handle):
            self.handle = handle

        def writerow(self, row):
            self.handle.write("half a line")
            raise KeyboardInterrupt

    monkeypatch.setattr("guanxi.dedup.scan.csv.writer", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        _dedup("scan", "--output", str(output), "--no-queue")
    assert output.read_text() == "the previous pairs\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.csv"]
    assert not DuplicatePair.objects.exists()


@pytest.mark.django_db
def test_the_pairs_file_quotes_external_ids_a_spreadsheet_would_evaluate(company, tmp_path):
    data = {"name": "张伟", "phones": ["13812345678"], "emails": ["zhang.wei@example.com"]}
    left = customer_create(actor=company.admin, data={**data, "external_id": "=HYPERLINK(1)"})
    right = customer_create(actor=company.admin, data={**data, "external_id": "-7"})
    output = tmp_path / "pairs.csv"
    _dedup("scan", "--output", str(output), "--no-queue")
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    [row] = [r for r in rows if {r["left_id"], r["right_id"]} == {str(left.pk), str(right.pk)}]
    externals = {row["left_external_id"], row["right_external_id"]}
    # A bare negative number is no formula; the ids and the score stay numbers.
    assert externals == {"'=HYPERLINK(1)", "-7"}
    assert float(row["score"]) > 0
