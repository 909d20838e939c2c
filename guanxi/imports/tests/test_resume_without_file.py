"""An import that stopped short keeps its uploaded file while it may be carried on; should the
file be gone all the same (the data directory cleared by hand, a backup restored without it),
the page says so plainly and offers neither to carry it on nor to run the dry run again, rather
than queueing a run that fails naming a path of the server. One queued whose file goes before
it runs fails saying the file is gone, in the language it was started in."""

from pathlib import Path

import pytest
from django.utils import translation

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_queue_again, import_job_resumable
from guanxi.imports.tasks import run_import_job
from guanxi.imports.tests.test_import_job_runs import _interrupted, _web_job

pytestmark = pytest.mark.django_db

SAID_GONE = "The uploaded file is no longer there: upload the file again."
SAID_GONE_ZH = "上传的文件已不存在：请重新上传该文件。"


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_stopped_import_whose_file_is_gone_says_so_and_is_not_queued(
    client, company, tmp_path, monkeypatch, dry_run
):
    job = _interrupted(company, tmp_path, monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(dry_run=dry_run)
    job.refresh_from_db()
    Path(job.path).unlink()
    what = "dry run" if dry_run else "import"
    again = "run again" if dry_run else "carried on"
    said = (
        f"The uploaded file of this {what} has been deleted, so it cannot be {again}: "
        "upload the file again."
    )
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'action="/imports/{job.pk}/resume/"' not in page
    assert said in page
    assert "as the import will not be carried on" not in page
    assert "who started it, can carry it on" not in page
    assert not import_job_resumable(actor=company.rep, job=job)

    # A page left open from before the file went: the click is refused, saying why.
    response = client.post(f"/imports/{job.pk}/resume/", follow=True)
    assert response.status_code == 200
    assert said in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INTERRUPTED and "Error" not in job.message
    with pytest.raises(Exception) as refusal:
        import_job_queue_again(actor=company.rep, job=job)
    assert refusal.value.message_dict == {"file": [said]}


def test_it_is_said_in_chinese(client, company, tmp_path, monkeypatch, back_to_english):
    job = _interrupted(company, tmp_path, monkeypatch)
    Path(job.path).unlink()
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "此导入上传的文件已被删除，无法继续：请重新上传该文件。" in page


@pytest.mark.parametrize(("language", "said"), [("en", SAID_GONE), ("zh-hans", SAID_GONE_ZH)])
def test_a_queued_import_whose_file_went_before_it_ran_fails_saying_so(
    client, company, uploads, tmp_path, language, said, back_to_english
):
    with translation.override(language):  # the language it was started in
        job = _web_job(company.rep, tmp_path)
    Path(job.path).unlink()
    run_import_job.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.Status.FAILED, said)
    assert job.rows_read == 0
    client.force_login(company.rep)
    client.cookies["django_language"] = language
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert said in page
    assert "Error" not in page and job.path not in page
    assert f'action="/imports/{job.pk}/resume/"' not in page
