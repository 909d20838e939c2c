"""In Chinese, an import's rejected rows read with the full-width colon the rest of the Chinese
interface uses ("第 3 行：手机 (phone)：…"), on the job's page, the mapping page's check of the
first rows and in the error file, instead of an ASCII one ("第 3 行: 手机 (phone): …"); and the
catalogue's row reasons that begin with a field ("ordered_on: 必填") put one after the field
too. English reads as it did ("Row 3: phone: …")."""

import csv
import io
import re
from pathlib import Path

import pytest

from guanxi.imports.tests.test_dry_run_pages import FORM, _draft, _dry_run

pytestmark = pytest.mark.django_db

CATALOGUE = Path(__file__).parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _in_chinese(user) -> None:
    user.language = "zh-hans"
    user.save(update_fields=["language"])


def test_the_rejected_rows_read_with_a_full_width_colon_in_chinese(client, company, uploads):
    _in_chinese(company.rep)
    job = _dry_run(client, company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "第 3 行：手机 (phone)：" in page
    assert "行: " not in page and "(phone): " not in page
    errors = client.get(f"/imports/{job.pk}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert rows[0]["import_error"].startswith("手机 (phone)：")


def test_the_check_of_the_first_rows_reads_with_a_full_width_colon_in_chinese(
    client, company, uploads
):
    _in_chinese(company.rep)
    job = _draft(client, company.rep)
    page = client.post(f"/imports/{job.pk}/mapping/", {**FORM, "action": "check"})
    page = page.content.decode()
    assert "第 3 行：" in page and "行: " not in page


def test_english_reads_as_it_did(client, company, uploads):
    job = _dry_run(client, company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Row 3: 手机 (phone): " in page


def _entries() -> list[tuple[str, str]]:
    text = CATALOGUE.read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n"):
        found = re.search(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', block, re.M)
        if found:
            msgid, msgstr = ("".join(re.findall(r'"(.*)"', part)) for part in found.groups())
            entries.append((msgid, msgstr))
    return entries


def test_the_catalogues_field_reasons_put_a_full_width_colon_after_the_field():
    # A reason about a field begins with its key ("ordered_on: …") or its column, as the
    # importer names it; an option of a command ("--folder: …") is no such reason.
    field_first = re.compile(r"^(?:[a-z_]+|%\(column\)s): ")
    wrong = [
        (msgid, msgstr)
        for msgid, msgstr in _entries()
        if field_first.match(msgid) and field_first.match(msgstr)
    ]
    assert wrong == []
