"""``guanxi analytics`` with arguments a user can get wrong: a predictions file that cannot be
written is refused before the fit, one stopped while it is written leaves the previous file,
and a refresh as of a day still to come is refused before anything is written."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from guanxi.analytics.models import AnalyticsRun

from .test_analytics_fit_command import summary_file  # noqa: F401 (a fixture)


def _fit(*args: str) -> str:
    out = io.StringIO()
    call_command("analytics", "fit", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("where", ["missing-directory", "directory"])
def test_predictions_that_cannot_be_written_are_refused_before_fitting(
    summary_file,  # noqa: F811
    tmp_path,
    monkeypatch,
    where,
):
    def no_fit(*args, **kwargs):
        raise AssertionError("the model may not be fitted")

    monkeypatch.setattr("guanxi.analytics.clv.bgnbd.fit", no_fit)
    output = tmp_path / "nowhere" / "p.csv" if where == "missing-directory" else tmp_path
    with pytest.raises(CommandError, match="--output") as error:
        _fit("--summary", str(summary_file), "--time-unit", "week", "--output", str(output))
    assert error.value.returncode == 2


def test_predictions_stopped_while_written_leave_the_previous_file(
    summary_file,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    output = tmp_path / "predictions.csv"
    output.write_text("the previous predictions\n")

    class Interrupting:
        def __init__(self, handle):
            self.handle = handle

        def writerow(self, row):
            self.handle.write("half a line")

        def writerows(self, rows):
            raise KeyboardInterrupt

    monkeypatch.setattr("guanxi.analytics.clv.files.csv.writer", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        _fit("--summary", str(summary_file), "--time-unit", "week", "--output", str(output))
    assert output.read_text() == "the previous predictions\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


@pytest.mark.django_db
@pytest.mark.parametrize("days", [1, None])
def test_a_refresh_as_of_a_day_still_to_come_is_refused(days):
    day = timezone.localdate() + dt.timedelta(days=days) if days else dt.date.max
    with pytest.raises(CommandError, match=r"--as-of: .* is after today") as error:
        call_command("analytics", "refresh", "--as-of", day.isoformat(), stderr=io.StringIO())
    assert error.value.returncode == 2
    assert not AnalyticsRun.objects.exists()
