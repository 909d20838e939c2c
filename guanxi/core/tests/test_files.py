"""Output files written whole: beside the destination, then renamed over it."""

import os
import stat
from pathlib import Path

import pytest
from django.utils import translation

from guanxi.core import files
from guanxi.core.files import check_output_path, replaced_on_success


def test_the_file_is_written_whole_with_the_mode_open_would_give(tmp_path, monkeypatch):
    # The umask is not changed to read it: another thread (the importer's) may create files.
    def umask(_mask):
        raise AssertionError("the process umask was changed")

    monkeypatch.setattr(os, "umask", umask)
    path = tmp_path / "out.csv"
    with replaced_on_success(path) as handle:
        handle.write("a,b\n")
    assert path.read_text() == "a,b\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~files.UMASK


def test_a_failed_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("before\n")
    with pytest.raises(RuntimeError), replaced_on_success(path) as handle:
        handle.write("half")
        raise RuntimeError("stopped")
    assert path.read_text() == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_symlink_keeps_pointing_at_the_file_it_names(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.csv"
    target.write_text("before\n")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    with replaced_on_success(link) as handle:
        handle.write("after\n")
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text() == "after\n"


def test_what_is_not_a_regular_file_is_written_as_it_is(tmp_path, monkeypatch):
    # A pipe (as /dev/stdout is when the output is piped): there is no file to rename over it.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with replaced_on_success(fifo) as handle:
            handle.write("a,b\n")
        assert os.read(reader, 100) == b"a,b\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]
    # Nothing is written beside it, so its directory need not be writable.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real_access(p, mode))
    assert check_output_path(fifo, "--output") is None
    assert check_output_path(tmp_path / "new.csv", "--output") is not None


def test_a_symlinked_destination_needs_its_target_directory_writable(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.csv"
    target.write_text("")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real_access(p, mode))
    assert check_output_path(link, "--output") is None


def test_the_commands_say_in_chinese_why_an_output_file_cannot_be_written(tmp_path):
    # The import, dedup and analytics commands give the reason as it is, in the language they
    # run in.
    missing = tmp_path / "gone" / "out.csv"
    with translation.override("zh-hans"):
        assert check_output_path(tmp_path, "--output") == f"--output {tmp_path} 是目录，不是文件。"
        assert check_output_path(missing, "--errors") == (
            f"--errors {missing}：目录 {missing.parent} 不存在。"
        )
