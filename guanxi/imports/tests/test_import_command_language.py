"""``guanxi import … --errors``: the rejected rows' reasons are written in the language of the
user the import runs as (``--user``, as the language they chose in the top bar), as the web
gives them, not in whichever language the command happens to run in; the command's own
refusals are in the language it runs in."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from guanxi.accounts.models import User
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create
from guanxi.imports.tests.test_import_job_runs import _file, _Runner

pytestmark = pytest.mark.django_db

CONTENT = "name,phone,kind\n,13812340002,\n李四,999,\n王五,,maybe\n"

ENGLISH = [
    "name: a name is required",
    "phone: “999” is not a valid phone number.",
    "kind: “maybe” is not one of Potential, Intent,",
]
CHINESE = [
    "name：名称为必填项",
    "phone：“999”不是有效的电话号码。",
    "kind：“maybe”不是以下值之一：潜在客户 (potential), ",
]


def _reasons(tmp_path, username: str, running_in: str) -> list[str]:
    path = tmp_path / "people.csv"
    path.write_text(CONTENT, encoding="utf-8")
    errors = tmp_path / "rejected.csv"
    with translation.override(running_in):
        call_command(
            "import", "customers", str(path), "--user", username, "--errors", str(errors),
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    with errors.open(encoding="utf-8-sig") as handle:
        return [row["import_error"] for row in csv.DictReader(handle)]


@pytest.mark.parametrize(
    ("language", "running_in", "expected"),
    [("zh-hans", "en", CHINESE), ("en", "zh-hans", ENGLISH), ("", "zh-hans", ENGLISH)],
)
def test_the_error_file_is_in_the_users_language(
    company, tmp_path, back_to_english, language, running_in, expected
):
    # Blank: the site's default language (English).
    User.objects.filter(pk=company.rep.pk).update(language=language)
    reasons = _reasons(tmp_path, company.rep.username, running_in)
    assert len(reasons) == 3
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start), reason


# --- the command's own refusals of --resume, in the language it runs in -------------------


def test_resuming_an_import_another_process_runs_is_refused_in_chinese(company, tmp_path):
    path, name = _file(tmp_path, "customers", 30)
    job = import_job_create(actor=company.admin, path=path, filename=name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with (
        _Runner(job.pk),
        translation.override("zh-hans"),
        pytest.raises(CommandError) as refusal,
    ):
        call_command("import", "customers", str(path), "--resume", "--user", "admin")
    assert str(refusal.value) == (
        f"导入 #{job.pk} 正由另一个进程运行；请等其运行结束（或将其停止）后再继续。"
    )
    assert refusal.value.returncode == 2


@pytest.mark.parametrize(
    ("status", "stopped_by", "expected"),
    [
        (ImportJob.Status.CANCELLED, "rep", "已被 rep 取消"),
        (ImportJob.Status.DISCARDED, "rep", "已被 rep 放弃"),
        (ImportJob.Status.CANCELLED, None, "已被取消"),
        (ImportJob.Status.DISCARDED, None, "已被放弃"),
    ],
)
def test_resuming_an_import_that_was_stopped_for_good_is_refused_in_chinese(
    company, tmp_path, status, stopped_by, expected
):
    path, name = _file(tmp_path, "customers", 30)
    job = import_job_create(actor=company.rep, path=path, filename=name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        last_row=11,
        stopped_by=company.rep if stopped_by else None,
    )
    with translation.override("zh-hans"), pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(path), "--resume", "--user", "rep")
    assert str(refusal.value) == (
        f"此文件的导入 #{job.pk} 在第 11 行之后{expected}，不会继续；已写入的行保留。"
        "如需重新导入此文件，请不带 --resume 运行（有外部编号的行会更新已有记录）。"
    )
    assert refusal.value.returncode == 2
