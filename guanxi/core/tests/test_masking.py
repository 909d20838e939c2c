import pytest

from guanxi.core.masking import mask_id_number, mask_phone


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


def test_id_number_masking_never_shows_more_than_half():
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    short = mask_id_number("G1234567")
    assert short.count("*") >= len(short) // 2
