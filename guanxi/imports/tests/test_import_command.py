"""``guanxi import``: what it prints, its exit statuses, mapping files, and Ctrl-C in the
middle of a real run (a separate process, interrupted with SIGINT) followed by --resume."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from guanxi.customers.models import Customer
from guanxi.imports import services
from guanxi.imports.customer_import import CustomerImporter
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create

from .files import damaged_xlsx

REPO = Path(__file__).resolve().parents[3]


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_summary_adds_up_and_rejected_rows_go_to_the_error_file(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "姓名,手机,编号\n张三,13812340001,X1\n,13812340002,X2\n李四,999,X3\n王五,13812340004,X4\n"
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"姓名": "name", "手机": "phone", "编号": "external_id"}))
    errors = tmp_path / "rejected.csv"
    output = _run(
        "customers", str(path), "--mapping", str(mapping), "--user", "admin",
        "--errors", str(errors),
    )  # fmt: skip
    assert "4 rows read — 2 created, 0 updated, 0 merged, 2 rejected." in output
    assert "2 rejected rows written to" in output
    with errors.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["编号"] for r in rows] == ["X2", "X3"]
    assert rows[0]["import_error"].startswith("姓名 (name): ")
    assert Customer.objects.filter(external_id__in=["X1", "X4"]).count() == 2


@pytest.mark.django_db
def test_unusable_input_exits_with_status_2_and_writes_nothing(company, tmp_path):
    good = tmp_path / "ok.csv"
    good.write_text("name\n张三\n")
    cases = [
        ("customers", str(tmp_path / "missing.csv"), "--user", "admin"),
        ("customers", str(good), "--user", "nobody"),
        ("customers", str(good), "--user", "analyst"),  # may not write customers
    ]
    bad_mapping = tmp_path / "bad.json"
    bad_mapping.write_text('{"name": "full_name"}')
    cases.append(("customers", str(good), "--user", "admin", "--mapping", str(bad_mapping)))
    no_name = tmp_path / "no-name.csv"
    no_name.write_text("phone\n13812340001\n")
    cases.append(("customers", str(no_name), "--user", "admin"))
    for args in cases:
        with pytest.raises(CommandError) as error:
            _run(*args)
        assert error.value.returncode == 2, args
    assert not ImportJob.objects.exists()
    assert Customer.objects.count() == len(company.customers)


@pytest.mark.django_db
def test_without_a_user_the_only_administrator_imports(company, tmp_path):
    from guanxi.accounts.models import User

    path = tmp_path / "ok.csv"
    path.write_text("name\n张三\n")
    with pytest.raises(CommandError):  # no superuser yet: whom to import as is unclear
        _run("customers", str(path))
    User.objects.filter(username="admin").update(is_superuser=True)
    assert "1 created" in _run("customers", str(path))
    assert Customer.objects.get(name="张三").created_by.username == "admin"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUANXI_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="guanxi.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'interrupted.sqlite3'}",
        GUANXI_DATA_DIR=str(tmp_path / "data"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _guanxi(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "guanxi", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


def _counts(database: Path) -> tuple[int, int, int, str]:
    with sqlite3.connect(database) as connection:
        customers = connection.execute(
            "SELECT count(*) FROM customers_customer WHERE external_id LIKE 'R%'"
        ).fetchone()[0]
        job = connection.execute(
            "SELECT rows_read, created + updated + merged + rejected, last_row, status"
            " FROM imports_importjob ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return customers, *(job or (0, 0, 0, ""))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_the_finished_batches_and_resume_completes(tmp_path):
    """A real interruption: SIGINT to a running ``guanxi import`` in another process."""
    env = _environment(tmp_path)
    assert _guanxi(env, "migrate", "-v0").returncode == 0
    setup = (
        "import django; django.setup(); from guanxi.accounts.models import User; "
        "User.objects.create_superuser('root', 'root@example.com', 'x', role='admin')"
    )
    subprocess.run([sys.executable, "-c", setup], env=env, cwd=REPO, check=True)
    rows = 6000
    path = tmp_path / "many.csv"
    with path.open("w") as handle:
        handle.write("external_id,name,phone,email\n")
        for i in range(rows):
            handle.write(f"R{i},客户{i:05d},{13800000000 + i},r{i}@example.com\n")
    database = tmp_path / "interrupted.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "guanxi", "import", "customers", str(path), "--batch-size", "200"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell runs a background job with SIGINT ignored, and Python keeps an inherited
        # "ignore": give the import the default handling, as a terminal would.
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            written = _counts(database)[1]
        except sqlite3.Error:
            continue  # busy or not created yet
        if written >= 600 or process.poll() is not None:
            break
    assert process.poll() is None, "the import finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "--resume" in stderr
    customers, rows_read, accounted, last_row, status = _counts(database)
    assert status == "interrupted"
    assert 600 <= rows_read < rows and rows_read % 200 == 0  # whole batches only
    assert customers == rows_read == accounted and last_row == rows_read + 1

    resumed = _guanxi(env, "import", "customers", str(path), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming import #1 after row {last_row}" in resumed.stdout
    customers, rows_read, accounted, _last_row, status = _counts(database)
    assert (customers, rows_read, accounted, status) == (rows, rows, rows, "finished")


@pytest.mark.django_db
def test_a_damaged_xlsx_exits_with_status_2_and_a_message(company, tmp_path):
    path = tmp_path / "people.xlsx"
    path.write_bytes(damaged_xlsx())
    with pytest.raises(CommandError, match="damaged") as error:
        _run("customers", str(path), "--user", "admin")
    assert error.value.returncode == 2
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_resume_refuses_the_options_it_cannot_honour(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,phone\n张三,13812340001\n李四,13812340002\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"name": "name"}')
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    # A resumed job goes on as it was started: a dry run would write, and another mapping or
    # duplicate handling would be ignored.
    for extra in (["--dry-run"], ["--mapping", str(mapping)], ["--dedup", "off"]):
        with pytest.raises(CommandError, match=f"cannot be combined with {extra[0]}") as error:
            _run("customers", str(path), "--resume", "--user", "admin", *extra)
        assert error.value.returncode == 2
    assert not Customer.objects.filter(name__in=["张三", "李四"]).exists()
    assert "2 rows read" in _run("customers", str(path), "--resume", "--user", "admin")


@pytest.mark.django_db
def test_resume_reads_the_file_given_wherever_it_was_before(company, tmp_path):
    first = tmp_path / "downloads" / "people.csv"
    first.parent.mkdir()
    first.write_text("name,phone\n张三,13812340001\n李四,13812340002\n")
    job = import_job_create(actor=company.admin, path=first, filename=first.name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    moved = tmp_path / "people.csv"
    first.rename(moved)  # the same file, moved after the interruption
    output = _run("customers", str(moved), "--resume", "--user", "admin")
    assert f"Resuming import #{job.pk}" in output and "2 rows read" in output
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and job.path == str(moved)


@pytest.mark.django_db
def test_resume_of_a_moved_file_reads_it_for_its_digest_once(company, tmp_path, monkeypatch):
    # Hashing reads the whole file, which may be large: finding the job by the file's digest
    # has checked it is the job's file already.
    first = tmp_path / "downloads" / "people.csv"
    first.parent.mkdir()
    first.write_text("name,phone\n张三,13812340001\n")
    job = import_job_create(actor=company.admin, path=first, filename=first.name, kind="customers")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED)
    moved = tmp_path / "people.csv"
    first.rename(moved)
    hashed = []
    real = services.hashlib.sha256

    def counting_sha256(*args):
        hashed.append(1)
        return real(*args)

    monkeypatch.setattr(services, "hashlib", SimpleNamespace(sha256=counting_sha256))
    assert "1 row read —" in _run("customers", str(moved), "--resume", "--user", "admin")
    assert len(hashed) == 1


@pytest.mark.django_db
def test_columns_sharing_a_header_are_refused_naming_it(company, tmp_path):
    # A mapping names columns by header: both 备注 columns would go to notes, though the user
    # may have meant only one of them.
    path = tmp_path / "people.csv"
    path.write_text("姓名,备注,电话,备注\n张三,VIP客户,13812340001,老客户\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"姓名": "name", "备注": "notes", "电话": "phone"}))
    with pytest.raises(CommandError, match="same header: “备注”") as error:
        _run("customers", str(path), "--mapping", str(mapping), "--user", "admin")
    assert error.value.returncode == 2
    assert not ImportJob.objects.exists()
    # Left out of the mapping, the repeated columns are ignored and harm nothing.
    mapping.write_text(json.dumps({"姓名": "name", "电话": "phone"}))
    assert "1 created" in _run("customers", str(path), "--mapping", str(mapping), "--user", "admin")


@pytest.mark.django_db
def test_columns_sharing_the_header_of_a_field_of_several_values_all_go_there(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,phone,phone,tags,tags\n张三,13812340001,021-62345678,VIP,展会\n")
    assert "1 created" in _run("customers", str(path), "--user", "admin")
    customer = Customer.objects.get(name="张三")
    assert sorted(customer.phones.values_list("number", flat=True)) == [
        "+8613812340001",
        "+862162345678",
    ]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "展会"]


@pytest.mark.django_db
def test_a_dry_run_that_stops_is_not_said_to_carry_on_with_resume(company, tmp_path, monkeypatch):
    # A dry run keeps nothing to carry on from, and --resume refuses to find it.
    path = tmp_path / "people.csv"
    path.write_text("name,phone\n张三,13812340001\n")

    def failing(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(CustomerImporter, "_run_batch", failing)
    with pytest.raises(CommandError) as error:
        _run("customers", str(path), "--dry-run", "--user", "admin")
    assert error.value.returncode == 1
    assert "--resume" not in str(error.value) and "run it again" in str(error.value)
    with pytest.raises(CommandError, match="no unfinished import"):
        _run("customers", str(path), "--resume", "--user", "admin")


@pytest.mark.django_db
def test_an_export_imports_again_without_a_mapping_and_columns_left_out_are_named(
    company, tmp_path
):
    # The customer export's own headers: phones and emails fill their fields without a mapping
    # (read past, an edited export imported again lost every number and address without a
    # word); its id is the Guanxi id (blank: a new customer), its dates fill none, and the
    # command says so.
    path = tmp_path / "export.csv"
    path.write_text(
        "id,external_id,name,phones,emails,created_at,电 话\n"
        ",E1,张三,+86 138 1234 0001;021-62345678,zhang@example.cn,2026-01-02,13812340009\n"
    )
    output = _run("customers", str(path), "--user", "admin")
    assert "1 created" in output
    named = "Columns not imported (no field of that name; --mapping can map them): "
    assert named + "created_at, 电 话." in output
    customer = Customer.objects.get(external_id="E1")
    assert sorted(customer.phones.values_list("number", flat=True)) == [
        "+8613812340001",
        "+862162345678",
    ]
    assert list(customer.emails.values_list("address", flat=True)) == ["zhang@example.cn"]
    # Nothing is said when every column has its field.
    path.write_text("external_id,name\nE2,李四\n")
    assert "not imported" not in _run("customers", str(path), "--user", "admin")
