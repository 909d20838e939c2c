"""Reading numbers out of request parameters the same way on every page."""

from guanxi.core.keyset import MAX_ID

ASCII_DIGITS = frozenset("0123456789")


def int_param(raw: str | None) -> int | None:
    """``raw`` as an id or version number, or ``None`` when it is not one.

    Only ASCII digits count, for numbers a database column can hold (0 to 2**63 - 1).
    ``str.isdigit()`` is no test for this: it admits characters ``int()`` refuses ("²") and
    numbers too large to bind as a parameter, and both were server errors.
    """
    if not raw or not set(raw) <= ASCII_DIGITS or len(raw) > len(str(MAX_ID)):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def version_param(raw: str | None) -> int | None:
    """The version of a record a form was filled in against, for the optimistic check.

    ``None`` when none was sent: the write is not compared. Anything sent that is no version
    gives 0, which no record has (versions start at 1), so the write is refused as stale
    rather than let through unchecked.
    """
    if raw is None or raw == "":
        return None
    value = int_param(raw)
    return 0 if value is None else value
