"""``guanxi import`` with paths a user can get wrong: the file to read and the error file to
write. Each is refused before anything is imported, with a message naming it and status 2."""

import csv
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob


def _run(*args) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _file_with_a_rejected_row(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,phone\n张三,13812340001\n,13812340002\n")
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("resume", [False, True])
def test_a_directory_as_the_file_is_refused(company, tmp_path, resume):
    args = ["customers", str(tmp_path), "--user", "admin"] + (["--resume"] if resume else [])
    with pytest.raises(CommandError, match="is a directory, not a file") as error:
        _run(*args)
    assert error.value.returncode == 2
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(company, tmp_path):
    path = _file_with_a_rejected_row(tmp_path)
    path.chmod(0)
    with pytest.raises(CommandError, match="cannot be read") as error:
        _run("customers", str(path), "--user", "admin")
    assert error.value.returncode == 2


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["missing-directory", "directory"])
def test_an_error_file_that_cannot_be_written_is_refused_before_importing(company, tmp_path, where):
    path = _file_with_a_rejected_row(tmp_path)
    errors = tmp_path / "nowhere" / "errors.csv" if where == "missing-directory" else tmp_path
    before = Customer.objects.count()
    with pytest.raises(CommandError, match="--errors") as error:
        _run("customers", str(path), "--user", "admin", "--errors", str(errors))
    assert error.value.returncode == 2
    assert not ImportJob.objects.exists()
    assert Customer.objects.count() == before


@pytest.mark.django_db
def test_an_error_file_that_fails_at_the_end_is_reported_without_a_traceback(
    company, tmp_path, monkeypatch
):
    path = _file_with_a_rejected_row(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("guanxi.imports.management.commands.import.write_error_file", refuse)
    with pytest.raises(CommandError, match=r"could not be written to .*Permission denied") as error:
        _run("customers", str(path), "--user", "admin")
    assert error.value.returncode == 1


@pytest.mark.django_db
def test_an_error_file_interrupted_while_written_leaves_the_previous_one(
    company, tmp_path, monkeypatch
):
    path = _file_with_a_rejected_row(tmp_path)
    errors = tmp_path / "errors.csv"
    errors.write_text("the previous error file\n")

    def interrupted(job, handle):
        handle.write("half a row")
        raise KeyboardInterrupt

    monkeypatch.setattr("guanxi.imports.services.write_error_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run("customers", str(path), "--user", "admin", "--errors", str(errors))
    assert errors.read_text() == "the previous error file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors.csv", "people.csv"]


@pytest.mark.django_db
def test_the_error_file_is_written_whole(company, tmp_path):
    path = _file_with_a_rejected_row(tmp_path)
    errors = tmp_path / "errors.csv"
    output = _run("customers", str(path), "--user", "admin", "--errors", str(errors))
    assert "1 rejected row written to" in output
    with errors.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["phone"] for r in rows] == ["13812340002"]
    umask = os.umask(0)
    os.umask(umask)
    assert errors.stat().st_mode & 0o777 == 0o666 & ~umask
