"""The language of a request is judged by its text as a whole: a Chinese name in an English
request leaves it English, and English words, brand names and codes in a Chinese request leave
it Chinese. The table is what ``LATIN_LETTERS_PER_HAN`` was chosen from; the counts are Latin
letters against Han characters (three letters weigh as much as one character)."""

import pytest

from guanxi.core.languages import chinese_if_written_in_it

ENGLISH = ""  # the site default: no Chinese guessed


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        # English naming Chinese people and companies.
        (("Hello, my order has not arrived. Regards, 张伟",), ENGLISH),  # 32 letters, 2
        (("Please call Mr 王建华 back",), ENGLISH),  # 16, 3
        (("Please call 欧阳建华 back",), ENGLISH),  # 14, 4: a four-character name
        (("Thank you, 李娜",), ENGLISH),  # 8, 2
        (("Meeting with 黃先生 tomorrow at 10",), ENGLISH),  # 21, 3
        (("Refund for 林志玲's order",), ENGLISH),  # 15, 3
        (
            ("Delivery for 陈小明", "The parcel was left at the gate and is gone. Please resend."),
            ENGLISH,
        ),
        (
            ("Invoice request", "Please send the invoice for order 8812 to 陳大文 in Hong Kong."),
            ENGLISH,
        ),
        (
            (
                "Missing invoice",
                "Hi, the invoice for order 8812 is missing. Could you send it again?\n"
                "Best regards,\n李娜\n华瑞贸易",  # a signature with the company's name
            ),
            ENGLISH,
        ),
        (
            (
                "张伟的订单",
                "Hi, the order for my colleague arrived broken; we would like a new one.",
            ),
            ENGLISH,
        ),
        # No Han at all.
        (("OK",), ENGLISH),
        (("Invoice 8812", "Where is it?"), ENGLISH),
        # Chinese quoting products, codes and English words: Simplified.
        (("我的 iPhone 15 Pro 订单 SO-2024-001 还没到",), "zh-hans"),  # 11 letters, 7
        (("MacBook Pro 无法开机",), "zh-hans"),  # 10, 4
        (("App 闪退",), "zh-hans"),  # 3, 2
        (("请问 Dell XPS 13 的 warranty 多久",), "zh-hans"),  # 15, 5: as heavy, still Chinese
        (("华为 Mate 60 Pro 屏幕碎了，可以保修吗",), "zh-hans"),
        (("退款", "Order ID: ORD20240315A，申请退款被拒绝"), "zh-hans"),
        (("Order 8812", "您好，上周的订单还没有收到，麻烦帮忙查一下物流。"), "zh-hans"),
        (("OK 谢谢",), "zh-hans"),
        (("ＯＫ，谢谢",), "zh-hans"),  # full-width letters, as a Chinese input method types them
        (("谢谢",), "zh-hans"),
        (("好",), "zh-hans"),  # a character both scripts write
        # The same in Traditional characters, as Taiwan and Hong Kong write.
        (("我的 iPhone 15 Pro 訂單 SO-2024-001 還沒到",), "zh-hant"),
        (("MacBook Pro 無法開機",), "zh-hant"),
        (("請問 Apple Watch 的保固多久",), "zh-hant"),  # 10, 7
        (("收據", "PayPal 付款後沒有收到 email 確認"), "zh-hant"),  # 11, 11
        (("謝謝",), "zh-hant"),
    ],
)
def test_a_request_is_in_the_language_most_of_its_text_is_written_in(texts, language):
    assert chinese_if_written_in_it(*texts) == language


def test_digits_and_punctuation_weigh_nothing():
    # An order number and a phone number say nothing of the language around them.
    assert chinese_if_written_in_it("订单 2024-0315-8812 电话 138 0013 8000 ???") == "zh-hans"
    assert chinese_if_written_in_it("Order 2024-0315-8812 for 王芳") == ENGLISH


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        # A short Chinese email above its company's English confidentiality notice.
        (
            (
                "订单查询",
                "您好，我上周的订单还没有收到，麻烦帮忙查一下物流。\n\n"
                "CONFIDENTIALITY NOTICE: This email and any attachments are confidential and "
                "intended solely for the addressee. If you have received it in error, please "
                "notify the sender and delete it.",
            ),
            "zh-hans",
        ),
        # A Chinese report quoting a long English error message.
        (
            (
                "登录时一直报错：Error 500: Internal Server Error. The server encountered an "
                "unexpected condition that prevented it from fulfilling the request.",
            ),
            "zh-hans",
        ),
        (
            (
                "登入時一直報錯：Error 500: Internal Server Error. The server encountered an "
                "unexpected condition that prevented it from fulfilling the request.",
            ),
            "zh-hant",
        ),
        # An English email signed with a Chinese company's full name stays English.
        (
            (
                "Missing invoice",
                "Hi, the invoice for order 8812 is missing. Could you send it again?\n"
                "Best regards,\nLi Na\n华瑞贸易有限公司",
            ),
            ENGLISH,
        ),
        (
            (
                "Missing invoice",
                "Hi, the invoice for order 8812 is missing. Could you send it again?\n"
                "Best regards,\nChan Tai Man\n華瑞貿易有限公司",
            ),
            ENGLISH,
        ),
    ],
)
def test_a_sentence_of_chinese_makes_the_request_chinese_whatever_english_comes_with_it(
    texts, language
):
    assert chinese_if_written_in_it(*texts) == language
