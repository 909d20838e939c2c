import datetime as dt
from itertools import product

import pytest

from guanxi.core.masking import mask_id_number, mask_numbers_in_text, mask_phone
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


# Free text as customers and staff write it: each number in it masked as the customer's card
# masks the same number, everything else left as typed.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请拨打13890417762联系我", "请拨打138****7762联系我"),
        ("手机：138 9041 7762。", "手机：138 **** 7762。"),
        ("Call me on +86 138 9041 7762 tomorrow.", "Call me on +86 138 **** 7762 tomorrow."),
        ("+8613890417762", "+86138****7762"),
        ("(+86)13890417762", "(+86)138****7762"),
        ("Mobile 138-9041-7762, thanks", "Mobile 138-****-7762, thanks"),
        ("oddly grouped 1389041 7762", "oddly grouped 138**** 7762"),
        ("Regards,\nWang Xiaoming\n13890417762", "Regards,\nWang Xiaoming\n138****7762"),
        ("邮箱 13890417762@163.com", "邮箱 138****7762@163.com"),
        ("微信 wxm13890417762", "微信 wxm138****7762"),
        # Landlines keep the area code and the digits the card keeps (+86 21 5*** 3190).
        ("办公室电话 021-5876 3190", "办公室电话 021-5*** 3190"),
        ("(021) 5876 3190", "(021) 5*** 3190"),
        ("Office: +86 21 5876 3190", "Office: +86 21 5*** 3190"),
        ("0755-88881234转123", "0755-****1234转123"),
        ("Our US office: +1 650-253-0000", "Our US office: +1 650-***-0000"),
        # Resident ID numbers, 18 characters with the check character, and the old 15 digits.
        ("身份证号11010519491231002X，请核实", "身份证号1****************X，请核实"),
        ("ID 110105 19491231 002x please", "ID 1***** ******** ***x please"),
        ("旧身份证 110105491231002", "旧身份证 1*************2"),
        # Typed with a Chinese input method's full-width characters, the check X too.
        ("身份证１１０１０５１９４９１２３１００２Ｘ。", "身份证１****************Ｘ。"),
        ("ID １１０１０５１９４９１２３１００２ｘ", "ID １****************ｘ"),
        (
            "phone 13890417762 and ID 11010519491231002X",
            "phone 138****7762 and ID 1****************X",
        ),
    ],
)
def test_numbers_in_text_are_masked_as_the_card_masks_them(text, masked):
    assert mask_numbers_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "发货日期 2026-12-05，请查收",
        "Delivered on 2026-12-05 at 14:30",
        "2026年12月5日 下午3点",
        "12/05/2026",
        "金额 ¥13,812.00 已到账",
        "Refund of ¥13,812.00 and CNY 1,380,904.17",
        "价格 13812.00元",
        "工单 T-000123 已关闭",
        "Re: T-004817 broken kettle",
        "订单 SO-2026-000123 已发货",
        "Order #2026-000123 shipped",
        "order 1234567890 and 12345678",
        "订单号 20261205000123",
        "淘宝订单 2026120512345678901",
        "邮编200001",
        "客服热线 95588",
        # Eighteen digits whose check character is wrong, or whose birth date is no date.
        "110105194912310021",
        "123456789012345678",
        "",
        "no digits at all",
        "1****************X and 138****7762",
    ],
)
def test_text_without_numbers_to_mask_is_left_as_typed(text):
    assert mask_numbers_in_text(text) == text


# Numbers written in pieces: wrapped at the end of a line, or with separators libphonenumber
# does not read between the pieces, or beside another number.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机 138\n9041 7762", "手机 138\n**** 7762"),
        ("手机 138-9041-\n7762", "手机 138-****-\n7762"),
        ("手机 138 9041\r\n7762 请回电", "手机 138 ****\r\n7762 请回电"),
        ("+86 138\n9041 7762", "+86 138\n**** 7762"),
        ("138\t9041\t7762", "138\t****\t7762"),
        ("138、9041、7762", "138、****、7762"),
        ("138·9041·7762", "138·****·7762"),
        ("138_9041_7762", "138_****_7762"),
        ("138~9041~7762", "138~****~7762"),
        ("１３８\n９０４１ ７７６２", "１３８\n**** ７７６２"),
        ("１３８９０４１７７６２", "１３８****７７６２"),
        ("138.9041.7762", "138.****.7762"),
        ("138/9041/7762", "138/****/7762"),
        ("（138）9041-7762", "（138）****-7762"),
        ("数量 12 138 9041 7762", "数量 12 138 **** 7762"),
        # Landlines keep what the card keeps (+86 21 5*** 3190), full-width ones too.
        ("办公室 021-\n5876 3190", "办公室 021-\n5*** 3190"),
        ("办公室 021/5876/3190", "办公室 021/5***/3190"),
        ("办公室 ０２１－５８７６ ３１９０", "办公室 ０２１－５*** ３１９０"),
        ("Tel 021 5876 3190 2026", "Tel 021 5*** 3190 2026"),
    ],
)
def test_numbers_in_pieces_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        # A blank line ends a number; dates in a list are no landline (05 is no area code).
        "手机 138\n\n1234 5678",
        "2026-05-12 2026-05-13",
        "2026-12-05\n2026-12-06",
        "13,812,345,678",
        "第 12\n13 页",
    ],
)
def test_pieces_that_make_no_number_are_left_as_typed(text):
    assert mask_numbers_in_text(text) == text


# A Chinese landline written without its area code: masked to its last four digits, all that a
# card shows of any number it could be.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("座机 8765 4321", "座机 **** 4321"),
        ("8765 4321", "**** 4321"),
        ("请打 8765-4321 找王经理", "请打 ****-4321 找王经理"),
        ("家里 876 5432", "家里 *** 5432"),
        ("办公室电话87654321", "办公室电话****4321"),
        ("Call 8765432 after 5pm", "Call ***5432 after 5pm"),
        ("电话8765432转12", "电话***5432转12"),
        ("订单已发，电话 8765 4321", "订单已发，电话 **** 4321"),
        ("座机：５８７６ ３１９０", "座机：**** ３１９０"),
        ("8765 4321 / 8765 4322", "**** 4321 / **** 4322"),
        ("座机 8765 4321，手机 138 9041 7762", "座机 **** 4321，手机 138 **** 7762"),
    ],
)
def test_local_numbers_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        # Dates and amounts.
        "20261205",
        "电话 20261205",
        "2026 1205",
        "12,345,678.00",
        "87654321.00",
        "金额 8765432元",
        "¥8765432",
        "$ 8765 4321",
        "增长 8765 4321%",
        "年营收 35000000",
        # Numbers labelled as something else, or unbroken runs nothing calls a phone.
        "订单 87654321",
        "订单号：8765 4321",
        "订单 SO 8765 4321",
        "Order no. 8765-4321",
        "Invoice 8765 4321",
        "#87654321",
        "QQ 87654321",
        "工单 T-000123 已关闭 87654321",
        "电话已打过，订单 87654321",
        "2345678",
        # Too short or starting with what no local number starts with.
        "876 543",
        "1234 5678",
        "0765 4321",
        # Parts of longer numbers.
        "SO-2026-8765 4321",
        "8765 4321-12",
        "12 8765 4321",
    ],
)
def test_what_is_no_local_number_is_left_as_typed(text):
    assert mask_numbers_in_text(text) == text


# Local numbers in a list: 、 and the full-width comma list numbers, they do not join one number
# to another, so each listed number is masked as it would be alone.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话 8765 4321，8765 4322", "电话 **** 4321，**** 4322"),
        ("电话 8765 4321、8765 4322", "电话 **** 4321、**** 4322"),
        ("座机 8765-4321、2345-6789", "座机 ****-4321、****-6789"),
        ("电话 87654321、87654322", "电话 ****4321、****4322"),
        ("手机 138 9041 7762，座机 8765 4321", "手机 138 **** 7762，座机 **** 4321"),
    ],
)
def test_local_numbers_in_a_list_are_each_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


# Two numbers joined by a dash that read as a range (years, round hundreds) are no landline;
# other dashed pairs still are, whichever half is the larger.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("合作 2019-2023", "合作 2019-2023"),
        ("2019-2023 合作", "2019-2023 合作"),
        ("每月销量 3000-5000", "每月销量 3000-5000"),
        ("时间 2000-2200", "时间 2000-2200"),
        ("员工 800-1200", "员工 800-1200"),
        ("电话 2345-6789", "电话 ****-6789"),
        ("电话 2019-2123", "电话 ****-2123"),
        ("电话 3000-3050", "电话 ****-3050"),
        ("电话 5000-3000", "电话 ****-3000"),
        ("电话 2019 2023", "电话 **** 2023"),
        ("电话 30005000", "电话 ****5000"),
    ],
)
def test_ranges_are_no_local_numbers(text, masked):
    assert mask_numbers_in_text(text) == masked


# An amount in a currency named in words before it, as one in ¥ or $ is left as typed.
@pytest.mark.parametrize(
    "text",
    ["RMB 8765 4321", "人民币 8765 4321", "USD 8765-4321", "美元 2345 6789", "报价 CNY 87654321"],
)
def test_amounts_after_a_currency_word_are_left_as_typed(text):
    assert mask_numbers_in_text(text) == text


# An 18-character resident ID number is found spaced as phone numbers are, with tabs, dots,
# slashes or 、, or wrapped once at the end of a line, and keeps its first and last character.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证 110105\t19491231\t002X", "身份证 1*****\t********\t***X"),
        ("身份证 110105.19491231.002X", "身份证 1*****.********.***X"),
        ("身份证 110105/19491231/002X", "身份证 1*****/********/***X"),
        ("身份证 110105、19491231、002X", "身份证 1*****、********、***X"),
        ("身份证 110105 19491231\n002X", "身份证 1***** ********\n***X"),
        ("身份证 110105\n19491231002X", "身份证 1*****\n***********X"),
        # Its birth date and serial are no mobile (198 9123 1002) to mask in part.
        ("身份证 110105\t19891231\t0028", "身份证 1*****\t********\t***8"),
        # A wrong check character, or the old 15 digits spaced so: no resident ID number.
        ("身份证 110105\t19491231\t0021", "身份证 110105\t19491231\t0021"),
        ("邮编 200120、310104、123", "邮编 200120、310104、123"),
    ],
)
def test_resident_id_numbers_in_pieces_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


# A local number spaced as a full-width input method spaces it (the ideographic space), or with
# a tab or a no-break space, is grouped as one with a plain space is.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话 8765\u30004321", "电话 ****\u30004321"),
        ("座机：８７６５\u3000４３２１", "座机：****\u3000４３２１"),
        ("电话 8765\t4321", "电话 ****\t4321"),
        ("电话 8765\u00a04321", "电话 ****\u00a04321"),
        ("订单号 8765\u30004321", "订单号 8765\u30004321"),
        ("2026\u30001205", "2026\u30001205"),
    ],
)
def test_local_numbers_spaced_with_other_blanks_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


# An area code right before a mobile makes no landline of the mobile's first digits (no local
# number starts with 1), which would show the mobile's hidden middle.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("0891 138 9041 7762", "0891 138 **** 7762"),
        ("拉萨 0891 138 9041 7762", "拉萨 0891 138 **** 7762"),
        ("0891 138\n9041 7762", "0891 138\n**** 7762"),
        ("0891/234/5678", "0891/***/5678"),
    ],
)
def test_an_area_code_before_a_mobile_takes_none_of_it(text, masked):
    assert mask_numbers_in_text(text) == masked


# A number wrapped at a line's end in a quoted email (a customer's reply quoting the desk's
# message) is found as one wrapped in the text itself is.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("> 手机 138 9041\n> 7762", "> 手机 138 ****\n> 7762"),
        (">> 手机 138-9041-\n>> 7762", ">> 手机 138-****-\n>> 7762"),
        ("> 办公室 021-\n> 5876 3190", "> 办公室 021-\n> 5*** 3190"),
        ("> 第 12\n> 13 页", "> 第 12\n> 13 页"),
    ],
)
def test_numbers_wrapped_in_a_quoted_email_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


# A mobile typed with a Chinese input method's punctuation between its groups (the full-width
# comma or full stop it types for "," and ".", the colon, the semicolon) is one number when
# grouped as mobiles are, 3+4+4 with the same mark twice; a list of numbers is not.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机 138，9041，7762", "手机 138，****，7762"),
        ("手机 138。9041。7762 请回电", "手机 138。****。7762 请回电"),
        ("138：9041：7762", "138：****：7762"),
        ("138；9041；7762", "138；****；7762"),
        ("手机 138， 9041， 7762", "手机 138， ****， 7762"),
        ("手机 １３８，９０４１，７７６２", "手机 １３８，****，７７６２"),
        ("mobile 138,9041,7762", "mobile 138,****,7762"),
        ("座机 8765 4321，手机 138，9041，7762", "座机 **** 4321，手机 138，****，7762"),
    ],
)
def test_mobiles_split_by_full_width_punctuation_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        # Lists: more than three numbers, other marks between them, other groupings.
        "138，9041，7762，5000",
        "12，138，9041，7762",
        "138，9041、7762",
        "138，90417762",
        "1389，041，7762",
        # Labelled as something else, or amounts by a unit or decimals after them.
        "数量 138，9041，7762",
        "单价 138，9041，7762",
        "138，9041，7762元",
        "138，9041，7762.50",
    ],
)
def test_numbers_listed_with_punctuation_are_left_as_typed(text):
    assert mask_numbers_in_text(text) == text


# A text with old Mac line endings ends its lines with a lone carriage return: a number wrapped
# at one is found as one wrapped at a line feed is.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机 138 9041\r7762", "手机 138 ****\r7762"),
        ("138\r9041\r7762", "138\r****\r7762"),
        ("办公室 021 5876\r3190", "办公室 021 5***\r3190"),
        ("身份证 110105 19491231\r002X", "身份证 1***** ********\r***X"),
    ],
)
def test_numbers_wrapped_at_a_lone_carriage_return_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


# A landline written with its country code (+86 21, 0086 21: no trunk 0 before the area code)
# is found wrapped once or over several lines, as one written with 0 is.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Tel +86 21 5876\n3190", "Tel +86 21 5***\n3190"),
        ("+86 10 6234\n5678", "+86 10 6***\n5678"),
        ("+86-21-\n5876-\n3190", "+86-21-\n5***-\n3190"),
        ("+86 755\n8888\n1234", "+86 755\n****\n1234"),
        ("+8621\n5876\n3190", "+8621\n5***\n3190"),
        ("0086 21\n5876\n3190", "0086 21\n5***\n3190"),
        ("+86 (21)\n5876\n3190", "+86 (21)\n5***\n3190"),
    ],
)
def test_landlines_with_the_country_code_wrapped_over_lines_are_masked(text, masked):
    assert mask_numbers_in_text(text) == masked


# A range of price points written with a dash (2999-3999), as one of round hundreds is, reads
# as typed; a number grouped with a space, or a dashed pair of any other shape, is still
# masked as a landline without its area code could be (6234 5678, 5000 0000).
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("价位 2999-3999", "价位 2999-3999"),
        ("4999-5999 的机型", "4999-5999 的机型"),
        ("售价 2599-3299", "售价 2599-3299"),
        ("电话 6234-5678", "电话 ****-5678"),
        ("6234 5678", "**** 5678"),
        ("3999-2999", "****-2999"),
        ("2999-3998", "****-3998"),
        ("2999 3999", "**** 3999"),
        ("5000 0000", "**** 0000"),
    ],
)
def test_ranges_of_price_points_are_no_local_numbers(text, masked):
    assert mask_numbers_in_text(text) == masked
