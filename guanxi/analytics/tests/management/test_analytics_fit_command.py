"""``guanxi analytics fit``: on real files, through Django's command machinery and as a real
process, with no database.

These tests carry no ``django_db`` mark, so pytest-django refuses any database query they
might make: the command passing here is itself proof that it does not touch the database.
"""

import csv
import json
import os
import subprocess
import sys
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from guanxi.analytics.tests import cdnow

JSON_KEYS = {"bgnbd", "gamma_gamma", "spend_model", "customers", "seconds"}


@pytest.fixture(scope="module")
def orders_file(tmp_path_factory):
    """The CDNOW sample as an orders CSV (customer_id, date, amount)."""
    ids, dates, amounts = cdnow.load_transactions()
    path = tmp_path_factory.mktemp("cdnow") / "orders.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount"])
        writer.writerows(
            zip(ids.tolist(), dates.astype(str).tolist(), amounts.tolist(), strict=True)
        )
    return path


@pytest.fixture(scope="module")
def summary_file(tmp_path_factory):
    data = cdnow.load_summary()
    path = tmp_path_factory.mktemp("cdnow") / "summary.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        names = ["customer_id", "frequency", "recency", "T", "monetary_value"]
        writer.writerow(names)
        writer.writerows(zip(*(data[name].tolist() for name in names), strict=True))
    return path


def run_fit(*args: str) -> str:
    out = StringIO()
    call_command("analytics", "fit", *args, stdout=out)
    return out.getvalue()


def guanxi(*args: str, database_url="postgres://nobody@127.0.0.1:9/unreachable"):
    """The real console command in a fresh process, pointed at a database that is not there."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guanxi.settings.test",
        "DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "guanxi", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_from_a_summary_reproduces_the_published_estimates(summary_file):
    report = json.loads(run_fit("--summary", str(summary_file), "--time-unit", "week", "--json"))
    assert set(report) == JSON_KEYS
    assert set(report["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood", "converged"}
    assert set(report["gamma_gamma"]) == {"p", "q", "v", "log_likelihood", "converged"}
    assert report["customers"] == 2357
    assert report["bgnbd"]["converged"] is True and report["gamma_gamma"]["converged"] is True
    rounded = {k: float(f"{v:.2e}") for k, v in report["bgnbd"].items() if k in "r alpha a b"}
    assert rounded == {"r": 0.243, "alpha": 4.41, "a": 0.793, "b": 2.43}
    assert round(report["bgnbd"]["log_likelihood"], 1) == -9582.4
    spend = {k: float(f"{report['gamma_gamma'][k]:.2e}") for k in "pqv"}
    assert spend == {"p": 6.25, "q": 3.74, "v": 15.4}
    assert report["spend_model"] == "gamma_gamma"
    assert 0 < report["seconds"] < 60


def test_orders_by_day_with_predictions(orders_file, tmp_path):
    output = tmp_path / "predictions.csv"
    report = json.loads(
        run_fit(
            str(orders_file),
            "--calibration-end",
            "1997-09-30",
            "--json",
            "--output",
            str(output),
            "--horizon",
            "6",
            "--discount-rate",
            "0.02",
        )
    )
    assert report["customers"] == 2357
    assert float(f"{report['bgnbd']['alpha'] / 7:.2e}") == 4.41
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2357
    assert list(rows[0]) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "probability_alive",
        "expected_purchases",
        "expected_average_spend",
        "clv",
    ]
    first = rows[0]
    assert first["customer_id"] == "1"
    assert (float(first["frequency"]), float(first["recency"]), float(first["T"])) == (2, 213, 272)
    values = np.array([[float(row[k]) for k in ("probability_alive", "clv")] for row in rows])
    assert np.all((values[:, 0] >= 0) & (values[:, 0] <= 1))
    assert np.all(np.isfinite(values[:, 1])) and values[:, 1].sum() > 0


def test_text_report(summary_file):
    text = run_fit("--summary", str(summary_file), "--time-unit", "week")
    assert "2,357 customers, 946 with repeat purchases" in text
    assert "BG/NBD purchase model (converged" in text
    assert "Gamma-Gamma spend model (converged" in text
    assert "0.242593" in text and "4.41353" in text
    assert "Spend per purchase: the Gamma-Gamma model" in text


def test_the_active_share_counts_only_customers_who_bought_again(summary_file, tmp_path):
    """Everyone who bought once gets P(alive) = 1 from BG/NBD; counting them would report
    them as probably active, which the model cannot know."""
    output = tmp_path / "predictions.csv"
    text = run_fit("--summary", str(summary_file), "--time-unit", "week", "--output", str(output))
    with output.open() as handle:
        rows = [
            (float(r["frequency"]), float(r["probability_alive"])) for r in csv.DictReader(handle)
        ]
    repeat = [alive for frequency, alive in rows if frequency > 0]
    once = [alive for frequency, alive in rows if frequency == 0]
    assert (len(repeat), len(once)) == (946, 1411)
    assert all(alive == pytest.approx(1.0) for alive in once)
    share = sum(alive >= 0.5 for alive in repeat) / len(repeat)
    everyone = sum(alive >= 0.5 for _, alive in rows) / len(rows)
    assert f"{share:.1%} of the 946 customers who bought again are more likely active" in text
    assert "the 1,411 who bought once are not counted" in text
    assert f"{everyone:.1%}" != f"{share:.1%}"  # the old figure would read differently


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--calibration-end", "1997-09-31"], "--calibration-end: '1997-09-31' is not a date"),
        (["--calibration-end", "1990-01-01"], "no order on or before the calibration end"),
        ([], "--calibration-end is required"),
        (["--calibration-end", "1997-09-30", "--columns", "id,date"], "--columns"),
        (["--calibration-end", "1997-09-30", "--columns", "id,date,amount"], "no column 'id'"),
        (["--calibration-end", "1997-09-30", "--horizon", "0"], "--horizon"),
        (["--calibration-end", "1997-09-30", "--discount-rate", "1.5"], "--discount-rate"),
    ],
)
def test_bad_arguments_exit_with_status_2(orders_file, arguments, message):
    with pytest.raises(CommandError) as caught:
        run_fit(str(orders_file), *arguments)
    assert caught.value.returncode == 2
    assert message in str(caught.value)


def test_both_or_neither_input_is_refused(orders_file, summary_file):
    for arguments in ([], [str(orders_file), "--summary", str(summary_file)]):
        with pytest.raises(CommandError) as caught:
            run_fit(*arguments)
        assert caught.value.returncode == 2


def test_runs_as_a_process_without_a_database(summary_file, tmp_path):
    result = guanxi(
        "analytics", "fit", "--summary", str(summary_file), "--time-unit", "week", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON object, nothing else
    assert set(report) == JSON_KEYS and report["bgnbd"]["converged"]


def test_bad_input_as_a_process_gives_status_2_and_no_traceback(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,date,amount\n1,2024-01-01,5\n2,2024-01-03,-2\n")
    result = guanxi("analytics", "fit", str(orders), "--calibration-end", "2024-02-01")
    assert result.returncode == 2
    assert "line 3, column 'amount': '-2' is negative" in result.stderr
    assert "Traceback" not in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = guanxi("analytics", "fit", str(empty), "--calibration-end", "2024-02-01")
    assert result.returncode == 2 and "the file is empty" in result.stderr
    assert "Traceback" not in result.stderr
    result = guanxi("analytics")  # no action
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_model_that_cannot_converge_gives_status_1_and_says_why(tmp_path):
    """Every customer bought once and never again: BG/NBD has no maximum and Gamma-Gamma has no
    repeat purchases to learn from. The JSON still comes out, marked unconverged, and no
    predictions are written."""
    orders = tmp_path / "orders.csv"
    lines = [f"{n},2024-01-{1 + n % 28:02d},{10 + n}" for n in range(200)]
    orders.write_text("customer_id,date,amount\n" + "\n".join(lines) + "\n")
    output = tmp_path / "predictions.csv"
    result = guanxi(
        "analytics",
        "fit",
        str(orders),
        "--calibration-end",
        "2024-03-31",
        "--json",
        "--output",
        str(output),
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["bgnbd"]["converged"] is False
    assert report["gamma_gamma"] == {
        "p": None,
        "q": None,
        "v": None,
        "log_likelihood": None,
        "converged": False,
    }
    assert "did not converge" in result.stderr and "could not be fitted" in result.stderr
    assert report["spend_model"] is None
    assert not output.exists()


@pytest.fixture(scope="module")
def same_amount_orders_file(tmp_path_factory):
    """The CDNOW purchases, every one of 15 dollars: the purchase model fits as ever, but spend
    that does not differ between customers gives the Gamma-Gamma fit no maximum."""
    ids, dates, _amounts = cdnow.load_transactions()
    path = tmp_path_factory.mktemp("cdnow") / "same_amount.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount"])
        writer.writerows(
            zip(ids.tolist(), dates.astype(str).tolist(), [15] * len(ids), strict=True)
        )
    return path


def test_without_a_spend_model_purchases_are_priced_at_the_mean_and_the_fit_succeeds(
    same_amount_orders_file, tmp_path
):
    """As the refresh does: every purchase priced at the mean repeat purchase (Σx·m/Σx), the
    report naming that spend model, predictions written and status 0."""
    output = tmp_path / "predictions.csv"
    arguments = [str(same_amount_orders_file), "--calibration-end", "1997-09-30"]
    result = guanxi("analytics", "fit", *arguments, "--json", "--output", str(output))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["bgnbd"]["converged"] is True
    assert report["spend_model"] == "pooled_mean"
    assert "Gamma-Gamma" in result.stderr and "mean of all repeat purchases" in result.stderr
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2357
    repeat = [row for row in rows if float(row["frequency"]) > 0]
    x = np.array([float(row["frequency"]) for row in repeat])
    m = np.array([float(row["monetary_value"]) for row in repeat])
    mean = float((x * m).sum() / x.sum())
    assert 15 <= mean < 16  # a day with two orders is one purchase of 30
    assert {round(float(row["expected_average_spend"]), 6) for row in rows} == {round(mean, 6)}
    assert all(float(row["clv"]) >= 0 for row in rows)

    text = run_fit(*arguments)
    assert "Spend per purchase: the mean of all repeat purchases" in text


@pytest.fixture(scope="module")
def heavy_tailed_spend_summary_file(tmp_path_factory):
    """The CDNOW histories with spend drawn from a Gamma-Gamma population of q = 0.6: a few
    customers spend millions, and the fit converges, but to q ≤ 1, an infinite mean spend."""
    data = cdnow.load_summary()
    frequency = data["frequency"]
    rng = np.random.default_rng(2)
    nu = rng.gamma(0.6, 1 / 10.0, len(frequency))
    purchases = np.maximum(frequency, 1)
    spend = rng.gamma(6.0 * purchases, 1 / (nu * purchases))
    data = {**data, "monetary_value": np.where(frequency > 0, np.round(spend, 2), 0.0)}
    path = tmp_path_factory.mktemp("cdnow") / "heavy_tailed.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        names = ["customer_id", "frequency", "recency", "T", "monetary_value"]
        writer.writerow(names)
        writer.writerows(zip(*(data[name].tolist() for name in names), strict=True))
    return path


def test_a_spend_fit_to_an_infinite_mean_is_reported_as_the_refresh_records_it(
    heavy_tailed_spend_summary_file,
):
    """The refresh records a Gamma-Gamma fit that stopped at q ≤ 1 as not converged and prices
    with the mean; the file command said "converged" beside ``"spend_model": "pooled_mean"``."""
    arguments = ["--summary", str(heavy_tailed_spend_summary_file), "--time-unit", "week"]
    report = json.loads(run_fit(*arguments, "--json"))
    assert report["gamma_gamma"]["q"] <= 1  # the case itself: a maximum, at an infinite mean
    assert report["bgnbd"]["converged"] is True
    assert report["gamma_gamma"]["converged"] is False
    assert report["spend_model"] == "pooled_mean"

    text = run_fit(*arguments)
    assert "Gamma-Gamma spend model (DID NOT CONVERGE" in text
    assert "Spend per purchase: the mean of all repeat purchases" in text


def test_too_few_repeat_buyers_for_predictions_says_so_and_writes_none(tmp_path):
    """Twelve customers bought twice, a hundred once: whatever the optimiser reports, so few
    repeat histories cannot pin the models down, and no predictions are written."""
    orders = tmp_path / "orders.csv"
    lines = [f"{n},2024-01-{1 + n % 28:02d},{10 + n}" for n in range(112)]
    lines += [f"{n},2024-02-{1 + n % 28:02d},{20 + n}" for n in range(12)]
    orders.write_text("customer_id,date,amount\n" + "\n".join(lines) + "\n")
    output = tmp_path / "predictions.csv"
    with pytest.raises(CommandError) as raised:
        run_fit(str(orders), "--calibration-end", "2024-03-31", "--output", str(output))
    assert "Only 12 customers bought more than once" in str(raised.value)
    assert "at least 20" in str(raised.value)
    assert not output.exists()
