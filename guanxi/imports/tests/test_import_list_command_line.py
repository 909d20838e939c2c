"""The list of imports shows the command line's imports for what they are: runs of
``guanxi import`` with their counts, said to come from the command line, whose pages offer
nothing to carry on from the web. A web upload not started yet leads to its columns, where it
is started; one the command made and has not begun says the command runs it, not the page."""

import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create

pytestmark = pytest.mark.django_db

ROWS = "name,phone\n张三,13812340001\n李四,13812340002\n"


def _row(page: str, job: ImportJob) -> str:
    """The list's row of ``job``."""
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    (row,) = [row for row in rows if f"/imports/{job.pk}/" in row]
    return row


def _command_line_import(company, tmp_path) -> ImportJob:
    path = tmp_path / "people.csv"
    path.write_text(ROWS, encoding="utf-8")
    call_command(
        "import", "customers", str(path), "--user", company.rep.username,
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    return ImportJob.objects.get(via="cli")


def test_a_finished_command_line_import_is_listed_as_one_with_its_counts(client, company, tmp_path):
    job = _command_line_import(company, tmp_path)
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 2)
    client.force_login(company.rep)

    row = _row(client.get("/imports/").content.decode(), job)

    assert "command line" in row
    assert f'href="/imports/{job.pk}/"' in row
    assert "Finished" in row
    assert re.search(r'data-label="Created">\s*2\s*<', row)


def test_a_draft_the_command_has_not_begun_is_not_offered_as_an_upload_to_carry_on(
    client, company, tmp_path
):
    path = tmp_path / "people.csv"
    path.write_text(ROWS, encoding="utf-8")
    # Made by the command, which stopped (or was stopped) before beginning it.
    job = import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="cli"
    )
    client.force_login(company.rep)

    row = _row(client.get("/imports/").content.decode(), job)

    assert "command line" in row
    assert "Uploaded, not started" not in row
    assert "Not begun by its command" in row
    assert f"/imports/{job.pk}/mapping/" not in row
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Uploaded, not started" not in page
    assert "the command imports the file, not this page" in page
    assert "guanxi import customers people.csv" in page
    assert 'id="discard-form"' not in page


def test_a_web_upload_not_started_leads_to_its_columns(client, company):
    client.force_login(company.rep)
    client.post(
        "/imports/new/",
        {
            "file": SimpleUploadedFile("people.csv", ROWS.encode()),
            "kind": "customers",
            "dedup": "auto",
        },
    )
    job = ImportJob.objects.get(via="web")

    row = _row(client.get("/imports/").content.decode(), job)

    assert "command line" not in row
    assert "Uploaded, not started" in row
    assert f'href="/imports/{job.pk}/mapping/"' in row


def test_the_command_lines_imports_are_said_so_in_chinese(client, company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(ROWS, encoding="utf-8")
    job = import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="cli"
    )
    client.force_login(company.rep)

    row = _row(
        client.get("/imports/", headers={"accept-language": "zh-hans"}).content.decode(), job
    )

    assert "命令行" in row and "命令尚未开始导入" in row
