"""The guess of the language a request is written in, where Traditional and Simplified Chinese
share characters and Japanese writes with Han characters too: Traditional text as Taiwan and
Hong Kong write it (台 in 台灣, 後台) is Traditional, and Japanese is no Chinese at all."""

import pytest

from guanxi.core.languages import chinese_if_written_in_it


@pytest.mark.parametrize(
    "texts",
    [
        ("我在台灣",),
        ("台灣",),
        ("台北的訂單",),
        ("後台登入不了",),
        ("Order 8812", "寄到台中門市"),
    ],
)
def test_traditional_text_written_with_its_everyday_characters_is_traditional(texts):
    # 台 is how Taiwan and Hong Kong write 臺 day to day: OpenCC's s2t turns it into 臺, but
    # it is no sign of Simplified text.
    assert chinese_if_written_in_it(*texts) == "zh-hant"


@pytest.mark.parametrize(
    "texts",
    [
        ("台风来了，发货推迟",),
        ("后台登录不了",),
        ("迈克尔・乔丹的订单",),  # a katakana middle dot between the parts of a foreign name
        ("中文", "人口"),
    ],
)
def test_simplified_text_is_still_simplified(texts):
    assert chinese_if_written_in_it(*texts) == "zh-hans"


@pytest.mark.parametrize(
    "texts",
    [
        ("注文した商品が届きません",),
        ("ご注文の件", "東京の倉庫から発送しました。"),
        ("請求書について", "お問い合わせありがとうございます。"),
    ],
)
def test_japanese_is_not_chinese(texts):
    # Japanese writes Han characters among its kana: it is written to in the site default, as
    # any other language Guanxi does not speak, not in Chinese its reader may not read.
    assert chinese_if_written_in_it(*texts) == ""
