"""A tag refused in an imported row is told under the file's tags column, as every other
field's reason is, rather than under the list position the check gave it (tags[0]), and names
the tag, as the column holds several."""

import pytest

from guanxi.imports.models import ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def test_a_tag_too_long_names_the_tags_column(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("姓名,标签\n丙三," + "长" * 60 + "\n", encoding="utf-8")
    job = import_job_create(
        actor=company.rep,
        path=path,
        filename=path.name,
        kind="customers",
        mapping={"姓名": "name", "标签": "tags"},
    )
    import_job_run(job=job)
    job.refresh_from_db()
    assert job.rejected == 1
    reason = ImportRowError.objects.get(job=job).reason_text
    # The reason names the tag, too: the tags column holds several.
    assert reason.startswith(
        "标签 (tags): Tag “" + "长" * 30 + "…” is longer than 50 characters"
    ), reason
