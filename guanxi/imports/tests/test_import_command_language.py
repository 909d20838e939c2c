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
from guanxi.imports.tests.files import damaged_xlsx
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


# --- the command's own report, in the language it runs in ---------------------------------

# Two people, one of them twice (a sure duplicate, merged), a row without a name and one with a
# phone number that is none (both rejected), and a column no field takes.
PEOPLE = (
    "name,phone,email,nickname\n"
    "张三,13812340001,zhang@example.com,小张\n"
    "李四,999,,\n"
    "张三,13812340001,zhang@example.com,\n"
    "王五,13812340005,wang@example.com,\n"
    ",13812340002,,\n"
)
# 张三 again without the email, for --dedup review to create and queue as a likely duplicate.
MORE = "name,phone,email\n张三,13812340001,\n钱七,13812340008,\n"

REPORTS = {
    "en": [
        [
            "Columns not imported (no field of that name; --mapping can map them): nickname.",
            "Imported people.csv: 5 rows read — 2 created, 0 updated, 1 merged, 2 rejected.",
            "2 rejected rows written to {errors} with the reasons.",
        ],
        [
            "Columns not imported (no field of that name; --mapping can map them): nickname.",
            "Imported people.csv: 5 rows read — 0 created, 0 updated, 3 merged, 2 rejected.",
            "3 of the updated or merged rows changed nothing (already there).",
            "2 rejected rows written to {errors} with the reasons.",
        ],
        [
            "Imported more.csv: 2 rows read — 2 created, 0 updated, 0 merged, 0 rejected.",
            "1 likely duplicates are waiting for review (the Duplicates page).",
        ],
        [
            "Would import more.csv: 2 rows read — 0 created, 0 updated, 2 merged, 0 rejected.",
            "2 of the updated or merged rows changed nothing (already there).",
        ],
    ],
    "zh-hans": [
        [
            "未导入的列（没有同名字段；可用 --mapping 映射）：nickname。",
            "已导入 people.csv：读取 5 行——新建 2 行，更新 0 行，合并 1 行，拒绝 2 行。",
            "2 个被拒绝的行已连同原因写入 {errors}。",
        ],
        [
            "未导入的列（没有同名字段；可用 --mapping 映射）：nickname。",
            "已导入 people.csv：读取 5 行——新建 0 行，更新 0 行，合并 3 行，拒绝 2 行。",
            "更新或合并的行中有 3 行没有任何变化（内容已存在）。",
            "2 个被拒绝的行已连同原因写入 {errors}。",
        ],
        [
            "已导入 more.csv：读取 2 行——新建 2 行，更新 0 行，合并 0 行，拒绝 0 行。",
            "1 个疑似重复客户等待审核（见“重复客户”页面）。",
        ],
        [
            "试运行 more.csv：读取 2 行——将新建 0 行，更新 0 行，合并 2 行，拒绝 0 行。",
            "更新或合并的行中有 2 行没有任何变化（内容已存在）。",
        ],
    ],
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_report_is_in_the_language_the_command_runs_in(
    company, tmp_path, back_to_english, language
):
    # The user's own language is the other one: it decides the error file's reasons only.
    User.objects.filter(pk=company.admin.pk).update(
        language="en" if language == "zh-hans" else "zh-hans"
    )
    people, more = tmp_path / "people.csv", tmp_path / "more.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    more.write_text(MORE, encoding="utf-8")
    errors = tmp_path / "rejected.csv"
    runs = [
        [people],  # new people, a duplicate merged, two rows rejected
        [people],  # the same again: what is there changes nothing
        [more, "--dedup", "review"],  # a likely duplicate queued
        [more, "--dry-run"],
    ]
    for args, expected in zip(runs, REPORTS[language], strict=True):
        out, err = StringIO(), StringIO()
        with translation.override(language):
            call_command(
                "import", "customers", *map(str, args), "--user", "admin",
                "--errors", str(errors), stdout=out, stderr=err,
            )  # fmt: skip
        assert out.getvalue().splitlines() == [line.format(errors=errors) for line in expected]
        assert err.getvalue() == ""


def test_resuming_says_so_in_chinese_with_the_numbers_grouped(company, tmp_path):
    path, name = _file(tmp_path, "customers", 2)
    job = import_job_create(actor=company.admin, path=path, filename=name, kind="customers")
    # As a job that stopped after 1,500 rows of a longer file leaves it: nothing is left to read
    # of this one, and the report counts what the job counted before.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.INTERRUPTED, last_row=1500, rows_read=1500, created=1500
    )
    out, err = StringIO(), StringIO()
    with translation.override("zh-hans"):
        call_command(
            "import", "customers", str(path), "--resume", "--user", "admin",
            stdout=out, stderr=err,
        )  # fmt: skip
    assert out.getvalue().splitlines() == [
        f"从第 1500 行之后继续导入 #{job.pk}（已写入 1,500 行）。",
        "已导入 customers.csv：读取 1,500 行——新建 1,500 行，更新 0 行，合并 0 行，拒绝 0 行。",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--user", "nobody"], "没有名为 'nobody' 的在职用户。"),
        (["--user", "admin", "--resume"], "此文件没有可继续的未完成导入。"),
        (["--user", "admin", "--batch-size", "0"], "--batch-size 不能小于 1。"),
    ],
)
def test_the_commands_refusals_are_in_chinese(company, tmp_path, args, expected):
    path, _name = _file(tmp_path, "customers", 2)
    with translation.override("zh-hans"), pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(path), *args)
    assert str(refusal.value) == expected
    assert refusal.value.returncode == 2


def test_a_missing_file_is_refused_in_chinese(company, tmp_path):
    missing = tmp_path / "missing.csv"
    with translation.override("zh-hans"), pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(missing), "--user", "admin")
    assert str(refusal.value) == f"{missing}：文件不存在。"
    with translation.override("zh-hans"), pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(tmp_path), "--user", "admin")
    assert str(refusal.value) == f"{tmp_path} 是目录，不是文件。"


# --- a file or mapping the import refuses, named in the user's language -------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "姓名,备注,电话,备注\n张三,VIP客户,13812340001,老客户\n",
            "列映射：文件中有多列使用了相同的标题：“备注”。列是按标题对应字段的，请在文件中给"
            "每一列起不同的名称，然后重新导入。",
        ),
        (damaged_xlsx(), "文件：此 XLSX 工作簿已损坏，无法完整读取（"),
    ],
)
def test_a_refused_file_or_mapping_is_named_in_chinese(company, tmp_path, content, expected):
    # The field is named by its label, as the web names it, not by its key in the code.
    User.objects.filter(pk=company.admin.pk).update(language="zh-hans")
    path = tmp_path / ("people.csv" if isinstance(content, str) else "people.xlsx")
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
        mapping = tmp_path / "mapping.json"
        mapping.write_text('{"姓名": "name", "备注": "notes", "电话": "phone"}', encoding="utf-8")
        args = ["--mapping", str(mapping)]
    else:
        path.write_bytes(content)
        args = []
    with translation.override("zh-hans"), pytest.raises(CommandError) as refusal:
        call_command("import", "customers", str(path), "--user", "admin", *args)
    assert str(refusal.value).startswith(expected), str(refusal.value)
    assert refusal.value.returncode == 2
