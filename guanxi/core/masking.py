"""How sensitive values look to people who may not see them in full."""


def mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    """Replace every character between the first ``keep_start`` and last ``keep_end`` with '*'.

    Short values keep less, so that masking never reveals more than half of the value.
    """
    if not value:
        return value
    length = len(value)
    if keep_start + keep_end > length // 2:
        keep_start = min(keep_start, length // 4)
        keep_end = min(keep_end, length // 4)
    hidden = length - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + (value[length - keep_end :] if keep_end else "")


def mask_phone(number: str) -> str:
    """138****1234 for a Chinese mobile; the same shape for other numbers (digits only masked)."""
    if not number:
        return number
    prefix = ""
    if number.startswith("+"):
        # Keep the country code visible; mask within the national part.
        country, _, rest = number.partition(" ")
        if rest:
            prefix, number = country + " ", rest
    digits_positions = [i for i, ch in enumerate(number) if ch.isdigit()]
    if len(digits_positions) <= 4:
        return prefix + number
    keep_start, keep_end = (3, 4) if len(digits_positions) >= 10 else (2, 2)
    masked_positions = set(digits_positions[keep_start : len(digits_positions) - keep_end])
    return prefix + "".join("*" if i in masked_positions else ch for i, ch in enumerate(number))


def mask_id_number(value: str) -> str:
    """1101**********1234-style masking: a resident ID number keeps its first and last four
    characters (province/city and check digits); the birth date and serial number are hidden."""
    return mask_middle(value, 6 if len(value) >= 15 else 2, 4 if len(value) >= 15 else 2)
