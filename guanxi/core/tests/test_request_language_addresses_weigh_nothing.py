"""Web and email addresses in a request say nothing of the language it is written in, as an
order number says nothing: a Chinese request giving the address to send an invoice to, or the
page that fails to open, is still a Chinese request."""

import pytest

from guanxi.core.languages import chinese_if_written_in_it


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (("发票请发到 finance.department@huarui-trading.com，谢谢",), "zh-hans"),
        (("发票", "请发到finance.department@huarui-trading.com谢谢"), "zh-hans"),
        (
            ("网站打不开", "https://www.huarui-trading.com/orders/checkout?id=8812 一直显示错误"),
            "zh-hans",
        ),
        (("網站打不開 www.huarui-trading.com.tw/orders/checkout 一直顯示錯誤",), "zh-hant"),
        (("請寄到 accounts.payable@huarui-trading.com.tw",), "zh-hant"),
        # The words around the addresses still count: English naming a Chinese person is English.
        (("Please send it to 王芳 at wang.fang@example.com",), ""),
        (("Please see https://example.com/help and call 张伟",), ""),
    ],
)
def test_web_and_email_addresses_weigh_nothing(texts, language):
    assert chinese_if_written_in_it(*texts) == language
