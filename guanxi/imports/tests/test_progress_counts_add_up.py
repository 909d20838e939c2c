"""The counts an import's page shows add up to the rows it read, and a file of one row is said
to have "1 row"."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

FILE = "external_id,name,phone\nW1,张三,13812340001\nW2,李四,13812340002\nW3,王五,123\n"


def _outcomes(page: str) -> dict[str, int]:
    """Every number listed in the page's counts, by its label."""
    counts = re.search(r'<dl class="facts" id="import-counts">(.*?)</dl>', page, re.S).group(1)
    return {
        label: int(number)
        for label, number in re.findall(r"<dt>([^<]*)</dt>\s*<dd[^>]*>(\d+)</dd>", counts)
    }


def test_rows_already_there_are_told_as_part_of_the_updated_not_beside_them(
    client, company, tmp_path
):
    path = tmp_path / "people.csv"
    path.write_text(FILE)
    for _ in range(2):  # the second time, the two good rows are there already
        job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
        import_job_run(job=job)
    job.refresh_from_db()
    assert (job.rows_read, job.updated, job.unchanged, job.rejected) == (3, 2, 2, 1)

    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    outcomes = _outcomes(page)
    assert outcomes == {
        "Created": 0,
        "Updated": 2,
        "Merged into existing customers": 0,
        "Rejected": 1,
    }
    assert sum(outcomes.values()) == job.rows_read
    assert "Of the updated and merged rows, 2 were already there and changed nothing." in page

    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{job.pk}/")
    assert "在已更新和已合并的行中，有 2 行原本就已存在，没有任何变化。" in page.content.decode()
    # Made from it, the Traditional reads 合併 (merged), as everywhere else, not 合並.
    client.cookies["django_language"] = "zh-hant"
    page = client.get(f"/imports/{job.pk}/")
    assert "在已更新和已合併的行中，有 2 行原本就已存在，沒有任何變化。" in page.content.decode()


def test_the_mapping_and_the_check_of_one_row_say_one_row(client, company):
    client.force_login(company.rep)
    upload = SimpleUploadedFile("one.csv", "name,phone\n张三,13812340001\n".encode())
    client.post("/imports/new/", {"file": upload, "kind": "customers", "dedup": "auto"})
    job = ImportJob.objects.get()
    form = {"map_0": "name", "map_1": "phone", "action": "check"}
    report = client.post(f"/imports/{job.pk}/mapping/", form).content.decode()
    assert "1 row checked: 1 can be imported, 0 would be rejected." in report
    assert "1 row of Customers. Say which column is which" in report
