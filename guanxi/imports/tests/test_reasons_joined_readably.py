"""A row rejected for several reasons reads as one list in the reader's language: English
reasons separated by "; ", Chinese ones by a full-width "；", neither with a sentence's full
stop before the separator, instead of "…电话号码。; 邮箱 (email): …" running together."""

import pytest

from guanxi.imports.services import import_job_create, import_job_run
from guanxi.imports.tests.test_reasons_in_readers_language import _read_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "手机 (phone): “12345” is not a valid phone number; "
            "邮箱 (email): “wang@@example” is not a valid email address.",
        ),
        (
            "zh-hans",
            "手机 (phone)：“12345”不是有效的电话号码；"
            "邮箱 (email)：“wang@@example”不是有效的邮箱地址。",
        ),
    ],
)
def test_several_reasons_of_a_row_read_as_a_list(client, company, tmp_path, language, expected):
    path = tmp_path / "客户.csv"
    path.write_text("姓名,手机,邮箱\n李四,12345,wang@@example\n")
    job = import_job_create(
        actor=company.rep,
        path=path,
        filename="客户.csv",
        kind="customers",
        mapping={"姓名": "name", "手机": "phone", "邮箱": "email"},
    )
    job = import_job_run(job=job)
    _page, in_file = _read_in(client, company.admin, job, language)
    assert in_file == [expected]
