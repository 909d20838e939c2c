"""A list's limit is said with its noun in the number the limit asks for: "At most 1 item.",
"At most 20 items."; Chinese says both alike."""

import pytest
from django.utils import translation
from pydantic import BaseModel, Field, ValidationError

from guanxi.api.errors import schema_message


class _Lists(BaseModel):
    one: list[int] = Field(default_factory=list, min_length=1, max_length=1)
    few: list[int] = Field(default_factory=list, min_length=2, max_length=3)


CASES = [
    # (sent, English, Simplified Chinese, Traditional Chinese)
    ({"one": []}, "At least 1 item.", "至少 1 项。", "至少 1 項。"),
    ({"one": [1, 2]}, "At most 1 item.", "最多 1 项。", "最多 1 項。"),
    ({"few": [1]}, "At least 2 items.", "至少 2 项。", "至少 2 項。"),
    ({"few": [1, 2, 3, 4]}, "At most 3 items.", "最多 3 项。", "最多 3 項。"),
]


@pytest.mark.parametrize(("language", "column"), [("en", 1), ("zh-hans", 2), ("zh-hant", 3)])
@pytest.mark.parametrize("case", CASES, ids=[case[1] for case in CASES])
def test_a_lists_limit_is_said_in_the_singular_or_the_plural(language, column, case):
    with pytest.raises(ValidationError) as refused:
        _Lists(**case[0])
    [error] = refused.value.errors()
    with translation.override(language):
        assert schema_message(error) == case[column]


@pytest.mark.parametrize(
    ("language", "message"), [("en", "At most 20 items."), ("zh-hans", "最多 20 项。")]
)
def test_too_long_a_list_in_a_body_is_refused_naming_the_limit(api_as, language, message):
    numbers = [f"1380013{n:04d}" for n in range(21)]
    answer = api_as("admin").post(
        "/customers/duplicates",
        {"name": "Many Numbers", "phones": numbers},
        headers={"Accept-Language": language},
    )
    assert answer.status_code == 422, answer.json()
    assert answer.json()["errors"] == [{"field": "phones", "message": message}]
