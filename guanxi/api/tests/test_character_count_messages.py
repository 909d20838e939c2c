"""A text's limit is said with its noun in the number the limit asks for: "At most 1
character.", "At most 200 characters."; Chinese says both alike. As "At most 1 item." is for
lists (``test_item_count_messages``)."""

import pytest
from django.utils import translation
from pydantic import BaseModel, Field, ValidationError

from guanxi.api.errors import schema_message


class _Texts(BaseModel):
    letter: str = Field("", max_length=1)
    code: str = Field("", max_length=3)


CASES = [
    # (sent, English, Simplified Chinese, Traditional Chinese)
    ({"letter": "ab"}, "At most 1 character.", "最多 1 个字符。", "最多 1 個字符。"),
    ({"code": "abcd"}, "At most 3 characters.", "最多 3 个字符。", "最多 3 個字符。"),
]


@pytest.mark.parametrize(("language", "column"), [("en", 1), ("zh-hans", 2), ("zh-hant", 3)])
@pytest.mark.parametrize("case", CASES, ids=[case[1] for case in CASES])
def test_a_texts_limit_is_said_in_the_singular_or_the_plural(language, column, case):
    with pytest.raises(ValidationError) as refused:
        _Texts(**case[0])
    [error] = refused.value.errors()
    with translation.override(language):
        assert schema_message(error) == case[column]
