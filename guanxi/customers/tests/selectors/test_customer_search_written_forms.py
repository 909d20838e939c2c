"""Queries written otherwise than the customer was saved: in traditional characters that have
two simplified forms, pinyin with ü, company names with another legal form or none. Run on the
real search index of the database under test, as the other selector tests."""

import pytest

from guanxi.customers.selectors import customer_list_for_user, organisations_named
from guanxi.customers.services import customer_create

CASES = {
    # OpenCC simplifies 鍾 to 钟 alone and in most names, but to 锺 in 鍾馗; whichever way a name
    # was saved or is typed, the other form is found too
    "鍾": {"鍾馗", "鍾偉", "钟伟明"},
    "钟": {"鍾馗", "鍾偉", "钟伟明"},
    "锺": {"鍾馗", "鍾偉", "钟伟明"},
    "钟馗": {"鍾馗"},
    "鍾偉": {"鍾偉", "钟伟明"},
    # a fragment of 張乾坤 typed in traditional characters (張乾 alone converts to 张干)
    "張乾": {"張乾坤"},
    "张乾": {"張乾坤"},
    "乾坤": {"張乾坤"},
    "張干": set(),
    # ü typed as such, with a tone mark, as v (as input methods have it, and pinyin is stored),
    # as u, or as yu (as passports write it)
    "lü": {"吕芳", "罗军"},  # lu as well, as a name saved in Latin letters (Lü) is stored
    "lǚ fāng": {"吕芳"},
    "lüfang": {"吕芳"},
    "lvfang": {"吕芳"},
    "lufang": {"吕芳"},
    "lyu fang": {"吕芳"},
    "Nü": {"女娲"},
    "luo": {"罗军"},
    # a company name typed with another legal form, or none
    "华瑞贸易公司": {"张伟明"},
    "华瑞有限公司": {"张伟明"},
    "上海華瑞貿易股份有限公司": {"张伟明"},
    "Pacific Rim Trading Co., Ltd.": {"Pacific Rim Trading Ltd.", "Li Lei"},
    "pacific rim limited": {"Pacific Rim Trading Ltd.", "Li Lei"},
    "Pacific Inc": {"Pacific Rim Trading Ltd.", "Li Lei"},
    # only legal forms: looked for as they are
    "有限公司": {"张伟明"},
    "ltd": {"Pacific Rim Trading Ltd.", "Li Lei"},
    "co ltd": set(),
}


@pytest.fixture
def world(company):
    def create(**data):
        return customer_create(actor=company.admin, data=data)

    pacific = create(name="Pacific Rim Trading Ltd.", party_type="organization")
    create(name="Li Lei", organization_id=pacific.pk)
    create(name="张伟明", company="上海华瑞贸易有限公司")
    for name in ("鍾馗", "鍾偉", "钟伟明", "張乾坤", "吕芳", "女娲", "罗军"):
        create(name=name)


@pytest.mark.parametrize(("query", "expected"), CASES.items())
def test_a_query_finds_its_customers_however_it_is_written(company, world, query, expected):
    found = customer_list_for_user(company.admin, filters={"q": query})
    assert set(found.values_list("name", flat=True)) == expected


def test_organisations_are_named_with_their_legal_form(company, world):
    data = {"name": "Pacific Rim Trading", "party_type": "organization"}
    customer_create(actor=company.admin, data=data)
    named = organisations_named(company.admin, "Pacific Rim Trading Co., Ltd.")
    assert named == []
    named = organisations_named(company.admin, "PACIFIC RIM TRADING LTD.")
    assert [c.name for c in named] == ["Pacific Rim Trading Ltd."]
