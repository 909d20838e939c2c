"""``guanxi import … --errors``: the rejected rows' reasons are written in the language of the
user the import runs as (``--user``, as the language they chose in the top bar), as the web
gives them, not in whichever language the command happens to run in."""

import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from guanxi.accounts.models import User

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
