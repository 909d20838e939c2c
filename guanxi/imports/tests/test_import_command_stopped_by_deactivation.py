"""``guanxi import`` stopped because the user it runs as was deactivated meanwhile. It printed
the job's sentence followed by a second full stop, and told them to carry on with --resume,
which refuses a deactivated user and resumes only the imports of whoever started them."""

import importlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob

pytestmark = pytest.mark.django_db

command = importlib.import_module("guanxi.imports.management.commands.import")


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _deactivated_as_it_starts(company, tmp_path, monkeypatch, **leaver) -> str:
    """A file of one row, and manager_east_2 (with ``leaver``'s fields) deactivated once the
    command has found them active and made the job; returns the file's path."""
    leaver = UserFactory(
        username="manager_east_2", role=Role.MANAGER, department=company.east, **leaver
    )
    path = tmp_path / "people.csv"
    path.write_text("external_id,name\nN1,周杰\n", encoding="utf-8")
    run = command.import_job_run

    def deactivated_first(**kwargs):
        # The deactivation commits after the command found its user active and made the job.
        user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL)
        return run(**kwargs)

    monkeypatch.setattr(command, "import_job_run", deactivated_first)
    return str(path)


def test_an_import_whose_user_was_deactivated_says_so_once_and_offers_no_resume(
    company, tmp_path, monkeypatch
):
    path = _deactivated_as_it_starts(company, tmp_path, monkeypatch)

    with pytest.raises(CommandError) as stopped:
        _run("customers", path, "--user", "manager_east_2")

    message = str(stopped.value)
    assert stopped.value.returncode == command.STOPPED
    assert message == (
        "The import stopped after row 0: manager_east_2, who started this import, has been "
        "deactivated: the import stopped. Rows written so far stay. An import is resumed only "
        "by whoever started it: someone else may import the file again (rows with an external "
        "id update what is there)."
    )
    assert ".." not in message and "--resume" not in message
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED
    assert not Customer.objects.filter(external_id="N1").exists()


def test_an_import_stopped_by_a_fault_ends_its_reason_with_one_full_stop(
    company, tmp_path, monkeypatch
):
    path = tmp_path / "people.csv"
    path.write_text("external_id,name\nN1,周杰\n", encoding="utf-8")

    def fails(**kwargs):
        raise OSError("The disk is full.")

    monkeypatch.setattr(command, "import_job_run", fails)

    with pytest.raises(CommandError) as stopped:
        _run("customers", str(path), "--user", "admin")

    assert str(stopped.value) == (
        "The import stopped after row 0: The disk is full. Rows written so far stay; fix the "
        "problem and run the same command with --resume."
    )


def test_a_dry_run_stopped_by_a_fault_ends_its_reason_with_one_full_stop(
    company, tmp_path, monkeypatch
):
    path = tmp_path / "people.csv"
    path.write_text("external_id,name\nN1,周杰\n", encoding="utf-8")

    def fails(**kwargs):
        raise OSError("The disk is full.")

    monkeypatch.setattr(command, "import_job_run", fails)

    with pytest.raises(CommandError) as stopped:
        _run("customers", str(path), "--user", "admin", "--dry-run")

    assert str(stopped.value) == (
        "The dry run stopped: The disk is full. It wrote nothing; run it again."
    )


def test_an_import_stopped_by_its_users_deactivation_says_so_in_chinese(
    company, tmp_path, monkeypatch
):
    # Their own language too: the reason the job gives is in it.
    path = _deactivated_as_it_starts(company, tmp_path, monkeypatch, language="zh-hans")
    with translation.override("zh-hans"), pytest.raises(CommandError) as stopped:
        _run("customers", path, "--user", "manager_east_2")
    assert stopped.value.returncode == 1
    # The job's reason, in their language, ends with the full stop of the command's sentence.
    assert str(stopped.value) == (
        "导入在第 0 行之后停止：发起此导入的 manager_east_2 已停用：导入已停止。已写入的行保留。"
        "导入只能由发起人继续：其他人可以重新导入此文件（有外部编号的行会更新已有记录）。"
    )
