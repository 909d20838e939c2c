"""The decimals amounts of a currency are written to, as ISO 4217 gives them."""

import pytest

from guanxi.core.currencies import currency_decimals


@pytest.mark.parametrize(
    ("code", "decimals"),
    [("CNY", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("XYZ", 2), ("", 2)],
)
def test_currency_decimals(code, decimals):
    assert currency_decimals(code) == decimals
