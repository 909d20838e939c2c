import datetime as dt
from itertools import product

import pytest

from guanxi.core.masking import mask_id_number, mask_phone
from guanxi.customers.validation import check_id_number


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("+86 10 6234 5678", "+86 10 6*** 5678"),
        ("+1 202-555-0143", "+1 202-***-0143"),
        ("1234", "1234"),
        ("", ""),
    ],
)
def test_phone_masking_keeps_only_the_ends(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("11010519491231002X", "1****************X"),
        ("110105491231002", "1*************2"),
        ("E12345678", "E1*****78"),
        ("G1234567", "G1****67"),
        ("", ""),
    ],
)
def test_id_number_masking(raw, masked):
    assert mask_id_number(raw) == masked


def test_id_number_masking_never_shows_more_than_half():
    for raw in ("G1234567", "A1234", "C12345678", "X" * 30):
        masked = mask_id_number(raw)
        assert len(masked) == len(raw)
        assert masked.count("*") >= len(raw) // 2


def _candidates(masked: str, *, region: str, birth_date: dt.date, male: bool | None) -> list:
    """Every valid resident ID number that reads as ``masked`` and fits what a user who sees it
    also sees of the customer: the birth date, the region code their address gives away and,
    if known, their sex (the serial's last digit: odd for men)."""
    found = []
    for serial in product("0123456789", repeat=3):
        if male is not None and int(serial[2]) % 2 != male:
            continue
        body = region + birth_date.strftime("%Y%m%d") + "".join(serial)
        for check in "0123456789X":
            number = body + check
            if check_id_number(number) is None and mask_id_number(number) == masked:
                found.append(number)
    return found


@pytest.mark.parametrize(
    ("number", "male"),
    [
        ("11010519491231002X", None),
        ("11010519491231002X", False),
        ("440305198807150031", True),
        ("510107200103017849", False),
    ],
)
def test_a_masked_id_number_with_the_birth_date_and_region_leaves_many_candidates(number, male):
    """The masked number shown beside the birth date, with the six-digit region code of the
    customer's district (more than the city the address usually says) and even their sex."""
    birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    found = _candidates(mask_id_number(number), region=number[:6], birth_date=birth_date, male=male)
    assert number in found
    assert len(found) > 40


def test_the_last_four_would_give_the_number_away():
    """What the masking is chosen against: the last four characters with the birth date and
    the region code leave the number itself."""
    number = "11010519491231002X"
    last_four = number[:4] + "*" * 10 + number[-4:]
    found = [
        candidate
        for candidate in _candidates(
            "1****************X", region=number[:6], birth_date=dt.date(1949, 12, 31), male=None
        )
        if candidate[:4] + "*" * 10 + candidate[-4:] == last_four
    ]
    assert found == [number]


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002X", "110105491231002", "E12345678", "G1234567", "AB12345678901234CD", "A12"],
)
def test_an_id_number_masked_the_earlier_way_masks_to_the_same_from_its_masked_form(raw):
    """The earlier masking kept the first six (first four for 18 characters) and last four; it
    kept every character the present one keeps, so re-masking what it stored is exact."""
    earlier = _earlier_mask(raw)
    assert mask_id_number(earlier) == mask_id_number(raw)


def _earlier_mask(value: str) -> str:
    from guanxi.core.masking import mask_middle

    return mask_middle(value, 6 if len(value) >= 15 else 2, 4 if len(value) >= 15 else 2)
