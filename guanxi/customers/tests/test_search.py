"""The search document and query parsing on their own, without a database."""

import importlib
import re
import time

import pytest

from guanxi.customers.search import (
    HAN_WINDOW,
    MAX_HAN_FORMS,
    MAX_QUERY_TERMS,
    MAX_TAILS,
    MAX_TOKEN,
    ORGANISATION_MARK,
    build_search_text,
    contiguity_checks,
    other_spellings,
    parse_query,
    postgres_tsquery,
    sqlite_match,
    with_organisation_marks,
    without_legal_forms,
)


def _document(**fields) -> list[str]:
    """The search text of a customer of ``fields``, split; its phones may be given as numbers
    alone, each then displayed as it is stored."""
    fields = {
        "name": "",
        "company": "",
        "emails": [],
        "tags": [],
        "person": False,
        **fields,
        "phones": [(p, p) if isinstance(p, str) else p for p in fields.get("phones", [])],
    }
    return build_search_text(**fields).split(" ")


def _is_mark(token: str) -> bool:
    return token.startswith(("#", "~"))


def _tokens(**fields) -> list[str]:
    """The tokens of a customer of ``fields``, without the marks its document ends with."""
    return [token for token in _document(**fields) if not _is_mark(token)]


def _marks(**fields) -> list[str]:
    return [token for token in _document(**fields) if _is_mark(token)]


def _is_prefix_of_a_token(fragment: str, tokens: list[str]) -> bool:
    return any(token.startswith(fragment) for token in tokens)


# --- the document ----------------------------------------------------------------------------


def test_every_fragment_of_a_chinese_name_is_a_prefix_with_its_pinyin_and_initials():
    tokens = _tokens(name="张伟明")
    for start in range(3):
        for end in range(start + 1, 4):
            assert _is_prefix_of_a_token("张伟明"[start:end], tokens), "张伟明"[start:end]
    for pinyin in ("zhangweiming", "zhangwei", "zhang", "weiming", "wei", "ming", "zwm", "zw"):
        assert _is_prefix_of_a_token(pinyin, tokens), pinyin
    assert not _is_prefix_of_a_token("mingwei", tokens)


@pytest.mark.parametrize(
    ("name", "everyday", "surname", "initials"),
    [
        ("曾伟", "cengwei", "zengwei", "zw"),
        ("单田芳", "dantianfang", "shantianfang", "stf"),
        ("仇伟", "chouwei", "qiuwei", "qw"),
        ("翟伟", "diwei", "zhaiwei", "zw"),
        ("區美玲", "qumeiling", "oumeiling", "oml"),
    ],
)
def test_a_person_is_found_by_either_reading_of_their_surname(name, everyday, surname, initials):
    person = _tokens(name=name, person=True)
    # The name's pinyin and initials with the surname reading: two tokens, nothing else.
    assert set(person) - set(_tokens(name=name)) == {surname, initials}
    for pinyin in (everyday, surname, surname[:4], initials):
        assert _is_prefix_of_a_token(pinyin, person), pinyin


def test_surname_readings_are_only_for_people_and_the_first_character():
    # An organisation, a surname character further in, a name read as a surname already.
    assert "zengji" not in _tokens(name="曾记茶餐厅")
    assert not {"zengwei", "zw"} & set(_tokens(name="张曾伟", person=True))
    assert set(_tokens(name="王伟", person=True)) == set(_tokens(name="王伟"))


def test_every_two_characters_together_are_a_token_pinyin_pairs_only_for_the_own_name():
    own = _tokens(name="上海华瑞贸易有限公司")
    as_company = _tokens(name="x", company="上海华瑞贸易有限公司")
    pairs = {"上海", "海华", "华瑞", "瑞贸", "贸易", "易有", "有限", "限公", "公司"}
    assert pairs <= set(own) and pairs <= set(as_company)
    assert {"shanghai", "huarui"} <= set(own)
    assert not {"shanghai", "huarui", "youxian"} & set(as_company)
    # Pinyin is matched by prefix, and every pinyin fragment still prefixes a suffix's pinyin.
    for fragment in ("shanghai", "huarui", "youxian"):
        assert _is_prefix_of_a_token(fragment, as_company), fragment
    # Characters in an email address too, though they are not split into suffixes.
    assert {"张伟", "公司"} <= set(_tokens(name="x", emails=["张伟@公司.cn"]))


def test_two_han_characters_are_looked_up_whole_everything_else_by_prefix():
    assert postgres_tsquery(parse_query("宏达")) == "'宏达'"
    # As are four digits (see test_the_first_four_digits_of_longer_tokens_are_tokens).
    assert postgres_tsquery(parse_query("5678")) == "'5678'"
    assert sqlite_match(parse_query("5678 zhang")) == '"5678" AND "zhang"*'
    assert postgres_tsquery(parse_query("567")) == "'567':*"
    assert postgres_tsquery(parse_query("56789")) == "('56789':* | ('5678' & '6789'))"
    assert postgres_tsquery(parse_query("宏达科技")) == "'宏达科技':*"
    assert postgres_tsquery(parse_query("宏 zhang")) == "'宏':* & 'zhang':*"
    # Han runs are also looked for as typed (see the test of 张乾 below).
    assert sqlite_match(parse_query("張偉")) == '("张伟" OR "張偉")'


def test_traditional_characters_are_stored_simplified():
    tokens = _tokens(name="張偉明", company="臺灣電子有限公司")
    assert "张伟明" in tokens and "台湾电子有限公司" in tokens
    assert not any(ch in token for token in tokens for ch in "張偉臺灣電")


def test_latin_name_words_are_also_run_together_but_company_words_are_not():
    tokens = _tokens(name="Zhang  WEI", company="Pacific Rim Trading Co., Ltd.")
    assert {"zhang", "wei", "zhangwei", "pacific", "rim", "trading", "co", "ltd"} <= set(tokens)
    assert "pacificrimtradingcoltd" not in tokens


def test_words_joined_by_punctuation_give_the_whole_and_the_pieces():
    tokens = _tokens(name="Jean-Luc O'Brien", external_id="ERP-2024-0001")
    assert {"jean-luc", "jean", "luc", "o", "brien", "jeanlucobrien"} <= set(tokens)
    assert {"erp-2024-0001", "erp", "2024", "0001"} <= set(tokens)


def test_mixed_han_and_latin_words_are_split_into_runs():
    tokens = _tokens(name="x", tags=["VIP客户", "展会2025"])
    assert {"vip", "客户", "kehu", "展会", "zhanhui", "2025"} <= set(tokens)


def test_the_first_four_digits_of_longer_tokens_are_tokens():
    tokens = _document(
        name="3511号店 x2024y",
        phones=["+8613812345678"],
        emails=["61501234@qq.com", "wei@6150abc.cn"],
        tags=["2024年会"],
        external_id="1234567",
    )
    assert {"3511", "6150", "1234", "2024"} <= set(tokens)
    # Once each, and none from digits that do not start a token (x2024y) or from fewer than four.
    assert len(tokens) == len(set(tokens))
    assert "x202" not in tokens and "202" not in tokens


def test_phone_numbers_give_their_digits_and_runs_of_four():
    digits = "8613812345678"
    tokens = _tokens(name="x", phones=["+8613812345678"])
    runs = [digits[start : start + 4] for start in range(len(digits) - 3)]
    assert tokens == ["x", digits, *runs]
    # Longer fragments are not suffixes: they are matched through the runs (see the queries).
    assert not _is_prefix_of_a_token("13812345678", tokens)
    assert _tokens(name="x", phones=["+86110"]) == ["x", "86110", "8611", "6110"]
    assert _tokens(name="x", phones=["110"]) == ["x", "110"]


def test_email_addresses_give_the_address_local_part_domain_and_pieces():
    tokens = _tokens(name="x", emails=["Zhang.Wei_88+crm@163.com"])
    assert {"zhang.wei_88+crm@163.com", "zhang.wei_88+crm", "163.com"} <= set(tokens)
    assert {"zhang", "wei", "88", "crm"} <= set(tokens)
    assert "com" not in tokens  # the domain is not cut into pieces


def test_email_addresses_give_the_local_part_and_the_domain_from_each_piece_on():
    tokens = _tokens(name="x", emails=["li.wei_88@mail.pacific-rim.com.cn"])
    assert {"wei_88", "88"} <= set(tokens)
    assert {"pacific-rim.com.cn", "rim.com.cn"} <= set(tokens)
    # Not a registry suffix or top-level domain, which nearly every customer would have.
    assert not {"com.cn", "cn", "com"} & set(tokens)
    assert "163.com" in _tokens(name="x", emails=["zhang@163.com"])
    assert not {"com", "co.uk", "uk"} & set(_tokens(name="x", emails=["a.b@example.co.uk"]))


def test_an_address_of_many_pieces_gives_a_few_tails_not_one_for_each():
    address = ".".join("abcdefghijklmnopqrst") + "@" + ".".join("abcdefghijklmnopqrst") + ".cn"
    tokens = _tokens(name="x", emails=[address])
    assert len(tokens) == 1 + 3 + 20 + 2 * MAX_TAILS
    assert "b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t" in tokens


def test_words_joined_by_apostrophes_are_also_run_together():
    for apostrophe in "'’":
        tokens = _tokens(name=f"Sean O{apostrophe}Brien", company=f"L{apostrophe}Oreal")
        assert {"sean", "o", "brien", "obrien", "loreal", "seanobrien"} <= set(tokens)
    # The modifier letter apostrophe is a letter to Unicode, so the word is also kept whole.
    assert {"oʼbrien", "obrien"} <= set(_tokens(name="OʼBrien"))
    assert "xian" in _tokens(name="x", tags=["Xi'an"])
    assert "张伟" not in _tokens(name="张'伟")  # Han characters are not words joined up


def test_external_ids_are_also_run_together_from_each_part_on():
    tokens = _tokens(name="x", external_id="ERP-2024-0001")
    assert {"erp-2024-0001", "erp", "2024", "0001", "erp20240001", "20240001"} <= set(tokens)
    assert {"erp20240001", "20240001"} <= set(_tokens(name="x", external_id="ERP 2024/0001"))
    assert {"erp20240001", "20240001"} <= set(_tokens(name="x", external_id="ERP20240001"))
    assert _tokens(name="x", external_id="ERP") == ["x", "erp"]
    # A long id made of many parts gives a few of its tails, not one for every part.
    many = _tokens(name="x", external_id="-".join("abcdefghijklmnopqrst"))
    assert len(many) == 1 + 1 + 20 + MAX_TAILS


@pytest.mark.parametrize(
    ("written", "also"),
    [
        ("Müller", {"mueller"}),
        ("MÜLLER", {"mueller"}),
        ("Mu\u0308ller", {"mueller"}),  # the umlaut as a combining mark
        ("Jürgen Schröder", {"juergen", "schroeder", "juergenschroeder"}),
        ("Søren", {"soren", "soeren"}),
        ("Åsa", {"aasa"}),
        ("Ærø", {"aero"}),
        ("Łukasz", {"lukasz"}),
    ],
)
def test_letters_keyboards_lack_are_also_stored_spelled_without_them(written, also):
    tokens = set(_tokens(name=written, company=written, tags=[written]))
    assert also <= tokens
    assert len(build_search_text(name=written, **_EMPTY)) < 3 * len(written) + 40


_EMPTY = {"company": "", "phones": [], "emails": [], "tags": [], "person": True}


def test_only_names_with_such_letters_get_other_spellings():
    assert other_spellings("Müller 张伟") == ["mueller 张伟"]
    assert other_spellings("Straße") == []  # folding makes it strasse already
    assert other_spellings("Zhang Wei") == other_spellings("García") == []
    assert _tokens(name="Mueller") == ["mueller"]


def test_tokens_are_unique_bounded_and_made_only_of_characters_both_databases_keep():
    tokens = _tokens(
        name="张伟明 Zhang Wei 張偉明",
        company="上海华瑞贸易有限公司 / Pacific (Rim) & Co.",
        phones=["+8613812345678", "+862162345678"],
        emails=["zhang.wei@163.com", "o'brien!x@example.com"],
        tags=["VIP", "重点客户", 'a"b', "c*d:e", "Søren O’Brien"],
        external_id="ERP/2024#1",
    )
    assert len(tokens) == len(set(tokens))
    marks = _marks(
        phones=["+8613812345678", "+862162345678"],
        tags=["2024/#1", "~2025"],
        external_id="ERP/2024#1",
    )
    assert marks, "the marks are checked too"
    for token in [*tokens, *marks]:
        assert token and len(token) <= MAX_TOKEN
        # SQLite's FTS5 "ascii" tokenizer splits on any other ASCII character but those it is
        # told to keep (migrations 0002 and 0013); PostgreSQL would keep it. Either way the two
        # would disagree, so none may occur. The marks alone start with # or ~, which no field
        # keeps.
        word = token[1:] if token in marks else token
        assert re.fullmatch(r"[^\x00-\x2a\x2c\x2f\x3a-\x3f\x5b-\x5e\x60\x7b-\x7f]+", word), token
    assert {token[0] for token in marks} == {"#", "~"}


def test_a_very_long_name_does_not_make_a_huge_document():
    name = "张伟明赵钱孙李周吴郑王" * 20  # 200 characters, the longest name allowed
    text = build_search_text(name=name, company="", phones=[], emails=[], tags=[], person=True)
    assert len(text) < 20_000
    assert all(len(token) <= MAX_TOKEN for token in text.split(" "))
    assert _is_prefix_of_a_token("郑王张伟", text.split(" "))


def test_a_persons_organisation_gives_marks_not_tokens():
    document = _document(
        name="李雷",
        company="Plainview 华瑞",
        organisation="华瑞贸易 Zephyrine 20240001 有限公司",
        person=True,
    )
    tokens = [t for t in document if not _is_mark(t)]
    marks = [t[len(ORGANISATION_MARK) :] for t in document if t.startswith(ORGANISATION_MARK)]
    assert "zephyrine" not in tokens and "贸易" not in tokens and "2024" not in tokens
    assert {"zephyrine", "华瑞贸易", "贸易", "huaruimaoyi", "hrmy", "20240001", "2024"} <= set(
        marks
    )
    assert {"#20240001", "#2024"} <= set(marks)  # its digits, for a masked searcher
    # The person's own words stay tokens, and are not marked again.
    assert {"plainview", "华瑞", "huarui"} <= set(tokens)
    assert "华瑞" not in marks and "huarui" not in marks
    # The company name's tokens, as the person's company held them before: no pinyin pairs.
    assert "瑞贸" in marks and "ruimao" not in marks
    assert marks.index("zephyrine") < marks.index("#20240001")  # the digits' marks last
    before = _document(name="李雷", company="Plainview 华瑞 华瑞贸易 Zephyrine 20240001 有限公司")
    moved = set(before) - {t for t in document if not t.startswith(ORGANISATION_MARK)}
    assert {ORGANISATION_MARK + t for t in moved} == {
        t for t in document if t.startswith(ORGANISATION_MARK)
    }


def test_a_query_also_looks_among_the_organisation_marks_as_it_looks_among_tokens():
    terms = [("华瑞",), ("zephy",), ("5678",), ("~l5678", "#5678"), ("138", "#138")]
    assert with_organisation_marks(terms) == [
        ("华瑞", "~o华瑞"),
        ("zephy", "~ozephy"),
        ("5678", "~o5678"),
        ("~l5678", "#5678", "~o#5678"),  # a phone's mark is a phone's alone
        ("138", "#138", "~o138", "~o#138"),
    ]
    assert postgres_tsquery(with_organisation_marks(terms[:3])) == (
        "('华瑞' | '~o华瑞') & ('zephy':* | '~ozephy':*) & ('5678' | '~o5678')"
    )
    # A number dialled with its prefix can only be a phone's; a long one is a mark's prefix.
    assert postgres_tsquery(with_organisation_marks(parse_query("0157"))) == (
        "('0157' | ('8615' & '6157') | '~o0157')"
    )
    assert postgres_tsquery(with_organisation_marks(parse_query("13812345"))) == (
        "('13812345':* | ('1381' & '3812' & '8123' & '1234' & '2345') | '~o13812345':*)"
    )


def test_empty_customer_has_an_empty_document():
    empty = {"company": "", "emails": [], "person": True}
    assert build_search_text(name="", phones=[], tags=[], **empty) == ""
    assert (
        build_search_text(name="!!!", phones=[("", "")], tags=[""], **{**empty, "company": " "})
        == ""
    )


def test_the_migrations_build_what_the_application_builds():
    # 0002 built every customer's tokens; 0005, 0012 and 0013 add those of later rules, so
    # together they must give the application's tokens (in another order: a search text is a
    # set).
    rebuild = importlib.import_module("guanxi.customers.migrations.0002_search_index")
    additions = importlib.import_module(
        "guanxi.customers.migrations.0005_spelling_and_separator_tokens"
    )
    heads = importlib.import_module("guanxi.customers.migrations.0012_four_digit_heads")
    marks = importlib.import_module("guanxi.customers.migrations.0013_marks_for_masked_search")
    records = [
        {"name": "张伟明", "company": "上海华瑞贸易有限公司", "phones": ["+8613812345678"]},
        {"name": "Zhang Wei", "company": "Pacific Rim Trading Co., Ltd.", "tags": ["VIP客户"]},
        {"name": "張偉", "emails": ["Zhang.Wei_88+crm@163.com"], "external_id": "ERP-2024-1"},
        {"name": "Jean-Luc O'Brien", "phones": ["+14155551234", "+86110"], "tags": ["a b"]},
        {"name": "重庆长城银行行长" * 3, "company": "Ｆｕｌｌ　Ｗｉｄｔｈ", "emails": ["a@b@c"]},
        {"name": "Jürgen Müller-Lüdenscheid", "company": "Søren’s Ærø Bakery", "tags": ["Åsa"]},
        {"name": "Müller 张伟@公司.cn", "emails": ["li.wei_88@mail.pacific-rim.com.cn"]},
        {"name": "x", "emails": ["o'brien.jr@a-b.example.co.uk", "a.張偉@x.cn"]},
        {
            "name": "x",
            "emails": [".".join("abcdefghijkl") + "@" + "-".join("abcdefghijkl") + ".cn"],
        },
        {"name": "x", "external_id": "ERP 2024/0001", "tags": ["Xi'an", "Łódź"]},
        {"name": "OʼHara", "external_id": "-".join("abcdefghijklmnopqrst") + "O'Hara"},
        {"name": "x", "emails": ["61501234@qq.com", "a@6150x.cn"], "external_id": "1234567"},
        *_MARKED_RECORDS,
    ]
    for record in records:
        fields = {
            "name": "",
            "company": "",
            "phones": [],
            "emails": [],
            "tags": [],
            "external_id": None,
            **record,
        }
        before = rebuild.search_text(**fields).split()
        added = additions.new_tokens(**{k: v for k, v in fields.items() if k != "phones"})
        joined = " ".join(dict.fromkeys([*before, *added]))
        migrated = heads.with_heads(joined) or joined
        fields["phones"] = [(number, number) for number in fields["phones"]]
        migrated = marks._with_marks(migrated, fields) or migrated
        # 0002 predates the surname readings: it made what a non-person gets now.
        expected = build_search_text(**fields, person=False).split()
        assert set(migrated.split()) == set(expected), record


# Records whose marks are made by every rule: digits starting the tokens of each field, in
# other spellings, addresses and ids, long and cut, phones long, short, with an extension and
# of no country.
_MARKED_RECORDS = [
    {"name": "88 Müller 2024x", "company": "3M 中国", "tags": ["ø7 tag", "9号"]},
    {"name": "x", "emails": ["61501234@qq.com", "a.0012@b-0013.example.com", "x@9.cn"]},
    {"name": "x", "external_id": "ERP-2024-0012", "tags": ["1" * 80]},
    {"name": "x", "external_id": "2024/07/１２３４５", "company": "１２３ Ltd"},
    {"name": "x", "phones": ["+8613812345678", "+862162345678", "+861012345", "+999123456789"]},
]


@pytest.mark.parametrize("record", _MARKED_RECORDS)
def test_the_marks_migration_gives_stored_customers_the_applications_text(record):
    # Order included: a customer saved after the migration and one migrated read the same.
    migration = importlib.import_module("guanxi.customers.migrations.0013_marks_for_masked_search")
    fields = {"name": "", "company": "", "emails": [], "tags": [], "external_id": None, **record}
    fields["phones"] = [(number, number) for number in fields.get("phones", [])]
    fields["phones"].append(("+862162345678", "+86 21 6234 5678 ext. 12"))
    document = build_search_text(**fields, person=True)
    before = " ".join(token for token in document.split() if not _is_mark(token))
    assert migration._with_marks(before, fields) == document
    assert migration._with_marks(document, fields) is None  # nothing more a second time
    assert migration._without_marks(document, fields) == before


# --- queries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("张伟", [("张伟",)]),
        ("  Zhang   WEI ", [("zhang",), ("wei",)]),
        ("Ｚｈāng", [("zhang",)]),
        ("張偉", [("张伟", "張偉")]),
        # OpenCC converts by phrase: 乾 alone becomes 干, in 乾坤 it stays, so a fragment of
        # 张乾坤 is looked for as typed too.
        ("张乾", [("张干", "张乾")]),
        ("張乾 abc", [("张干", "張乾", "张乾"), ("abc",)]),
        # 鍾 has two simplified forms, 钟 and 锺 (鍾馗 is stored as 锺馗): each is looked for
        ("鍾", [("钟", "鍾", "锺")]),
        ("钟馗", [("钟馗", "锺馗")]),
        ("张伟abc", [("张伟",), ("abc",)]),
        ("zhang.wei@163.com", [("zhang.wei@163.com",)]),
        ("@163.com", [("163.com", "163com")]),
        ("Co., Ltd.", [("co",), ("ltd",)]),
        ("5678", [("5678",)]),
        ("138-1234", [("1381234", "138-1234")]),
        ("+86 138 1234 5678", [("8613812345678",)]),
        ("138 1234 5678", [("13812345678",)]),
        ("(021) 6234-5678", [("02162345678", "862162345678", "2162345678")]),
        # national format with an area code: the country code in place of the trunk 0
        ("0755-2345", [("07552345", "867552345", "0755-2345")]),
        ("(0755) 2345", [("07552345", "867552345")]),
        ("0755", [("0755", "86755")]),
        ("01", [("01",)]),
        ("0086 138 1234 5678", [("008613812345678", "8613812345678")]),
        # four digits starting 00 are a number's last four, not a dialled 00 and two digits of
        # a country code: 81 alone is the start of millions of indexed runs
        ("0081", [("0081",)]),
        ("008613", [("008613", "8613")]),
        ("+86", [("86",)]),
        ("张伟 5678", [("张伟",), ("5678",)]),
        ("tel:138-1234", [("tel",), ("1381234", "138-1234")]),
        # words with digits and punctuation (ids) are also looked for run together
        ("erp-2024-0001", [("erp-2024-0001", "erp20240001")]),
        ("ERP.2024.0001", [("erp.2024.0001", "erp20240001")]),
        ("wei_88", [("wei_88", "wei88")]),
        # hyphenated words word by word, or whole (a domain is a token as a whole)
        ("Pacific-Rim", [("pacific", "pacific-rim"), ("rim", "pacific-rim")]),
        ("pacific-rim.com", [("pacific", "pacific-rim.com"), ("rim.com", "pacific-rim.com")]),
        # words joined by an apostrophe, apart or run together (as stored, and as OBrien is)
        ("xi'an", [("xi",), ("an", "xian")]),
        ("O’Brien", [("o",), ("brien", "obrien")]),
        (
            "d'artagnan-smith",
            [("d",), ("artagnan", "dartagnan", "artagnan-smith"), ("smith", "artagnan-smith")],
        ),
        # pinyin with tone numbers, without them; not anything else with digits
        ("zhang1wei3", [("zhang1wei3", "zhangwei")]),
        ("lv3 fang1", [("lv3", "lv"), ("fang1", "fang")]),
        ("lu:3", [("lu", "lv"), ("3",)]),
        ("vip2 a1 b2b x11", [("vip2",), ("a1",), ("b2b",), ("x11",)]),
        # letters keyboards lack, also spelled out; not spelled-out letters read back
        ("Müller", [("muller", "mueller")]),
        ("søren", [("søren", "soren", "soeren")]),
        ("Straße", [("strasse",)]),
        ("mueller", [("mueller",)]),
        ("zhang zhang", [("zhang",)]),
        # ü, folded to u, or written yu, is also looked for as stored pinyin has it: v
        ("lǚ", [("lu", "lv")]),
        ("Lyu Fang", [("lyu", "lv"), ("fang",)]),
        # (and ü spelled out as German does, too)
        ("nüe", [("nue", "nve", "nuee", "nvee")]),
        ("luo nuan lv", [("luo",), ("nuan",), ("lv",)]),
    ],
)
def test_query_terms(query, terms):
    assert parse_query(query) == terms


@pytest.mark.parametrize(
    "query",
    ["", "   ", "'", '"', "'\"*:&|!()", "***", "- . @ _ +", "&&", "\\", "\x00", "\u3000"],
)
def test_queries_with_nothing_to_search_for_have_no_terms(query):
    assert parse_query(query) == []


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("华瑞贸易有限公司", [("华瑞贸易",)]),
        ("上海華瑞集團", [("上海华瑞", "上海華瑞集團")]),
        ("华瑞股份有限公司 zhang", [("华瑞",), ("zhang",)]),
        ("Pacific Rim Trading Co., Ltd.", [("pacific",), ("rim",), ("trading",)]),
        ("ACME Inc. LLC", [("acme",)]),
        # nothing but legal forms, or too little left: as typed
        ("有限公司", [("有限公司",)]),
        ("宏公司", [("宏公司",)]),
        ("Co., Ltd.", [("co",), ("ltd",)]),
    ],
)
def test_legal_forms_of_company_names_are_left_out(query, terms):
    assert without_legal_forms(parse_query(query)) == terms
    # Taken off while the query is read, the traditional form typed loses its legal form too.
    if query == "上海華瑞集團":
        terms = [("上海华瑞", "上海華瑞")]
    assert without_legal_forms(parse_query(query, legal_forms=False)) == terms


def test_operators_and_quotes_never_reach_the_query_syntax():
    terms = parse_query("a\"b OR c'd NOT e* NEAR(f) x:y \\z")
    for term in terms:
        for text in term:
            assert not set(text) & set("\"'*():\\ "), text
    # Words like OR and NOT stay words, quoted as such.
    assert ("or",) in terms and ("not",) in terms
    assert '"or"*' in sqlite_match(terms)
    assert "'or':*" in postgres_tsquery(terms)


def test_long_queries_are_cut():
    assert len(parse_query(" ".join(f"w{i}" for i in range(50)))) == MAX_QUERY_TERMS
    assert parse_query("x" * 300) == [("x" * MAX_TOKEN,)]
    assert parse_query("张" * 40) == [("张" * HAN_WINDOW,)]
    # a run of characters with two simplified forms each is looked for in a few of them
    (term,) = parse_query("鍾" * 40)
    assert term[:2] == ("钟" * HAN_WINDOW, "鍾" * HAN_WINDOW)
    assert len(term) == 2 + MAX_HAN_FORMS - 1


def test_long_words_take_time_in_proportion_to_their_length():
    """Text pasted into a search or an organisation box, or saved in a long field, is read in
    one pass: a word of 40,000 letters took about a minute (words joined by apostrophes were
    looked for from each of its letters), and 60,000 words joined by apostrophes ten seconds
    (each joined up afresh from the first)."""
    # The processor time this process spends (1.2 s for the second text), not the time on the
    # clock, which other work on a busy machine stretches past any limit.
    for text in ("x" * 40_000, "o'" * 60_000):
        started = time.process_time()
        parse_query(text)
        build_search_text(name="x", company=text, phones=[], emails=[], tags=[], person=False)
        assert time.process_time() - started < 3, text[:10]


def test_database_queries_quote_every_text():
    terms = [("张伟",), ("1381234", "138-1234"), ("5678",)]
    assert postgres_tsquery(terms) == (
        "'张伟' & ('1381234':* | ('1381' & '3812' & '8123' & '1234') | '138-1234':*) & '5678'"
    )
    assert sqlite_match(terms) == (
        '"张伟" AND ("1381234"* OR ("1381" AND "3812" AND "8123" AND "1234")'
        ' OR "138-1234"*) AND "5678"'
    )
    # Only a number long enough to be matched by its runs needs its digits checked in place.
    assert contiguity_checks(terms) == [("1381234", "138-1234")]


def test_a_number_dialled_with_its_prefix_is_looked_for_by_its_runs_alone():
    # 0157 is also +86 157 in national format: as the prefix 86157 it would be the start of
    # every whole number beginning so (tens of thousands of index entries with a million
    # customers); its runs are two entries that find the same numbers.
    terms = parse_query("0157")
    assert postgres_tsquery(terms) == "('0157' | ('8615' & '6157'))"
    assert sqlite_match(terms) == '("0157" OR ("8615" AND "6157"))'
    assert contiguity_checks(terms) == [("0157", "86157")]
    # Four digits once the prefix is off are a run of their own, looked up whole.
    assert postgres_tsquery(parse_query("021")) == "('021':* | '8621')"
    assert sqlite_match(parse_query("0086 1381")) == (
        '("00861381"* OR ("0086" AND "0861" AND "8613" AND "6138" AND "1381")'
        ' OR ("8613" AND "6138" AND "1381"))'
    )


def test_quotes_are_escaped_should_one_ever_reach_the_query():
    assert postgres_tsquery([("a'b\\c",)]) == "'a''b\\\\c':*"
    assert sqlite_match([('a"b',)]) == '"a""b"*'
