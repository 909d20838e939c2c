"""What the app needs to know of currencies beyond their ISO 4217 codes."""

# The currencies whose amounts are not written to two decimals (ISO 4217's minor unit), by code:
# the yen and the won have no minor unit in use, the Gulf dinars three. No package the app
# depends on carries the ISO table, and its exceptions are few and seldom change, so they are
# listed here rather than adding a dependency for them; every other currency has two.
DECIMALS_NOT_TWO = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


def currency_decimals(code: str) -> int:
    """The decimals amounts in the currency ``code`` are written to: 0 for JPY, 3 for KWD, 2 for
    CNY and any currency not listed."""
    return DECIMALS_NOT_TWO.get((code or "").strip().upper(), 2)
