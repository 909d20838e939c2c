"""``guanxi sla deadline|elapsed``: in-process for the answers, and as the installed command with
an unreachable database for exit statuses and messages."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

GUANXI = [sys.executable, "-m", "guanxi"]

SHANGHAI = {
    "timezone": "Asia/Shanghai",
    "hours": {
        day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
    },
    "holidays": [{"date": "2026-10-01"}, {"date": "2026-12-24", "from": "13:00", "to": "18:00"}],
}


@pytest.fixture
def calendar_file(tmp_path) -> Path:
    path = tmp_path / "shanghai.json"
    path.write_text(json.dumps(SHANGHAI), encoding="utf-8")
    return path


def sla(*args) -> str:
    out = StringIO()
    call_command("sla", *[str(arg) for arg in args], stdout=out)
    return out.getvalue().strip()


def sla_error(*args) -> CommandError:
    with pytest.raises(CommandError) as caught:
        sla(*args)
    return caught.value


def test_deadline_prints_iso_8601_in_the_calendar_zone(calendar_file):
    # 11:30-12:00 and 13:00-13:30.
    start = "2026-03-02T11:30+08:00"
    assert sla("deadline", "--calendar", calendar_file, "--start", start, "--minutes", 60) == (
        "2026-03-02T13:30:00+08:00"
    )
    # The same moment given in UTC; the answer is still in Shanghai time.
    start = "2026-03-02T03:30Z"
    assert sla("deadline", "--calendar", calendar_file, "--start", start, "--minutes", 60) == (
        "2026-03-02T13:30:00+08:00"
    )


def test_a_start_without_offset_is_read_in_the_calendar_zone(calendar_file):
    # Wednesday 17:00 in Shanghai; 1 October is a holiday.
    args = ("--calendar", calendar_file, "--start", "2026-09-30T17:00", "--minutes", "120")
    assert sla("deadline", *args) == "2026-10-02T10:00:00+08:00"
    assert sla("deadline", *args[:3], "2026-09-30", "--minutes", "1") == "2026-09-30T09:01:00+08:00"


def test_decimal_minutes(calendar_file):
    args = ("--calendar", calendar_file, "--start", "2026-03-02T09:00+08:00")
    assert sla("deadline", *args, "--minutes", "1.5") == "2026-03-02T09:01:30+08:00"
    assert sla("deadline", *args, "--minutes", "0.25") == "2026-03-02T09:00:15+08:00"


def test_elapsed_prints_whole_minutes_without_decimals(calendar_file):
    args = ("--calendar", calendar_file, "--start", "2026-12-24T11:00+08:00")
    # Christmas Eve closes at 13:00: 60 that day, 60 on Friday morning.
    assert sla("elapsed", *args, "--end", "2026-12-25T10:00+08:00") == "120"
    assert sla("elapsed", *args, "--end", "2026-12-24T11:00:30+08:00") == "0.5"
    assert sla("elapsed", *args, "--end", "2026-12-24T11:00:20+08:00") == repr(20 / 60)


def test_pauses_leave_their_time_out(calendar_file):
    args = ("--calendar", calendar_file, "--start", "2026-03-02T10:00")
    pause = ("--pause", "2026-03-02T11:00/2026-03-02T15:00")
    assert sla("deadline", *args, "--minutes", "240", *pause) == "2026-03-02T18:00:00+08:00"
    assert sla("elapsed", *args, "--end", "2026-03-02T16:00", *pause) == "120"
    second = ("--pause", "2026-03-02T16:00+08:00/2026-03-02T17:00+08:00")
    # 10:00-11:00, 15:00-16:00 and 17:00-18:00.
    assert sla("elapsed", *args, "--end", "2026-03-02T18:00", *pause, *second) == "180"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "tomorrow", "--minutes", "5"), "--start: expected an ISO 8601 moment"),
        (("--start", "2026-03-02", "--minutes", "lots"), "--minutes: expected a number"),
        (("--start", "2026-03-02", "--minutes", "-5"), "--minutes: cannot be negative"),
        (("--start", "2026-03-02", "--minutes", "nan"), "--minutes: expected a finite number"),
        (("--start", "2026-03-02", "--minutes", "1e30"), "--minutes: 1e+30 is longer"),
        (("--start", "9999-12-31T12:00", "--minutes", "5"), "--start: 9999-12-31T12:00:00 is out"),
        (
            ("--start", "2026-03-02", "--minutes", "5", "--pause", "2026-03-02T10:00"),
            "--pause: expected FROM/TO",
        ),
        (
            (
                "--start",
                "2026-03-02",
                "--minutes",
                "5",
                "--pause",
                "2026-03-02T11:00/2026-03-02T10:00",
            ),
            "--pause[0]: ends before it starts",
        ),
    ],
)
def test_bad_deadline_input_is_a_clear_message_with_status_2(calendar_file, args, message):
    error = sla_error("deadline", "--calendar", calendar_file, *args)
    assert str(error).startswith(message)
    assert error.returncode == 2


def test_an_end_before_the_start_is_refused(calendar_file):
    args = ("--calendar", calendar_file, "--start", "2026-03-03", "--end", "2026-03-02")
    error = sla_error("elapsed", *args)
    assert str(error) == "--end: is before the start"
    assert error.returncode == 2


def test_calendar_file_problems(tmp_path):
    missing = tmp_path / "missing.json"
    error = sla_error("deadline", "--calendar", missing, "--start", "2026-03-02", "--minutes", "5")
    assert str(error) == f"--calendar: cannot read {missing}: No such file or directory"

    broken = tmp_path / "broken.json"
    broken.write_text('{"timezone": "Asia/Shanghai",', encoding="utf-8")
    error = sla_error("deadline", "--calendar", broken, "--start", "2026-03-02", "--minutes", "5")
    assert str(error).startswith(f"--calendar: {broken} is not valid JSON: ")

    invalid = tmp_path / "invalid.json"
    invalid.write_text(
        json.dumps({"timezone": "Asia/Shanghai", "hours": {"mon": [["13:00", "12:00"]]}}),
        encoding="utf-8",
    )
    error = sla_error("deadline", "--calendar", invalid, "--start", "2026-03-02", "--minutes", "5")
    assert f"{invalid} is not a valid calendar" in str(error)
    assert 'hours.mon[0]: "13:00-12:00" ends before it starts' in str(error)
    assert error.returncode == 2


# -- as installed, with no database to be had --------------------------------------------------


def run_guanxi(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GUANXI_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="guanxi.settings.local",
        GUANXI_DATA_DIR=str(data_dir),
        # Nothing listens on port 9: any attempt to use the database fails at once.
        DATABASE_URL="postgres://nobody@127.0.0.1:9/unreachable",
    )
    return subprocess.run(
        [*GUANXI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_runs_without_a_database(calendar_file, tmp_path):
    result = run_guanxi(
        "sla",
        "deadline",
        "--calendar",
        str(calendar_file),
        "--start",
        "2026-03-02T11:30",
        "--minutes",
        "60",
        data_dir=tmp_path,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "2026-03-02T13:30:00+08:00\n",
        "",
    )
    result = run_guanxi(
        "sla",
        "elapsed",
        "--calendar",
        str(calendar_file),
        "--start",
        "2026-03-02T11:30",
        "--end",
        "2026-03-03T10:00",
        data_dir=tmp_path,
    )
    # 11:30-12:00, 13:00-18:00, then 09:00-10:00.
    assert (result.returncode, result.stdout) == (0, "390\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deadline", "--start", "2026-03-02", "--minutes", "x"), "--minutes: expected a number"),
        (("deadline", "--start", "2026-03-02"), "the following arguments are required: --minutes"),
        (("elapsed", "--start", "2026-03-02", "--end", "2026-02-30"), "--end: expected an ISO"),
    ],
)
def test_bad_input_exits_with_status_2_and_no_traceback(calendar_file, tmp_path, args, message):
    action, *rest = args
    result = run_guanxi("sla", action, "--calendar", str(calendar_file), *rest, data_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
