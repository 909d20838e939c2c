"""Searching the knowledge base in Chinese and English, and the token arithmetic the similar-case
suggestions rank by."""

import pytest

from guanxi.knowledge import search
from guanxi.knowledge.selectors import articles_for_user
from guanxi.knowledge.services import article_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(company):
    refund = article_create(
        actor=company.agent,
        data={
            "title": "退款迟迟不到账",
            "problem": "客户申请退款后两周，银行卡仍未收到。",
            "solution": "请财务重新发起退款；银行处理需三个工作日。",
        },
    )
    installer = article_create(
        actor=company.agent,
        data={
            "title": "安装师傅迟到",
            "problem": "上门安装的师傅没有按约定时间到。",
            "solution": "致电调度中心改约，并补偿一张优惠券。",
        },
    )
    printer = article_create(
        actor=company.agent,
        data={
            "title": "Refund delayed after a returned printer",
            "problem": "The customer returned the printer but the REFUND has not arrived.",
            "cause": "Returns are only refunded once the warehouse has checked them.",
            "solution": "Ask the warehouse to confirm the return, then finance pays within a day.",
        },
    )
    return {"refund": refund, "installer": installer, "printer": printer}


def _found(user, query):
    return set(articles_for_user(user, query=query).values_list("title", flat=True))


def test_a_two_character_fragment_finds_chinese_articles(company, articles):
    # 迟迟 and 到账 stand inside the title, 款迟 across two words of it.
    assert _found(company.rep, "迟迟") == {"退款迟迟不到账"}
    assert _found(company.rep, "款迟") == {"退款迟迟不到账"}
    assert _found(company.rep, "到账") == {"退款迟迟不到账"}
    # Both articles say 迟 (late); only one says 师傅 (the installer).
    assert _found(company.rep, "师傅") == {"安装师傅迟到"}
    assert _found(company.rep, "迟到") == {"安装师傅迟到"}


def test_pinyin_and_traditional_characters_find_chinese_articles(company, articles):
    assert _found(company.rep, "tuikuan") == {"退款迟迟不到账"}
    assert _found(company.rep, "shifu") == {"安装师傅迟到"}
    assert _found(company.rep, "到賬") == {"退款迟迟不到账"}  # traditional 賬 is 账


def test_english_words_match_by_prefix_whatever_their_case(company, articles):
    assert _found(company.rep, "refu") == {"Refund delayed after a returned printer"}
    assert _found(company.rep, "WAREHOUSE") == {"Refund delayed after a returned printer"}
    # Every word must match: no article is about a refunded scanner.
    assert _found(company.rep, "refund scanner") == set()
    assert _found(company.rep, "printer 退款") == set()


def test_a_query_with_nothing_searchable_finds_nothing(company, articles):
    assert _found(company.rep, "!!! ???") == set()
    assert _found(company.rep, "") == {a.title for a in articles.values()}


def test_search_in_the_middle_of_a_token_does_not_match(company, articles):
    # "und" is inside "refund", not the start of any word.
    assert _found(company.rep, "und") == set()


# --- the token arithmetic, no database needed -------------------------------------------------


def test_probe_tokens_are_the_pairs_and_words_of_the_text():
    probes = search.probe_tokens("退款到账 The refund has not arrived")
    assert "退款" in probes and "款到" in probes and "到账" in probes
    assert "refund" in probes and "arrived" in probes
    assert "the" not in probes and "has" not in probes  # too common to tell cases apart
    assert not any(p.startswith("tuikuan") for p in probes)  # no pinyin suffixes
    assert len(search.probe_tokens("字" * 5000 + "词" * 5000)) <= search.MAX_PROBES


def test_similar_texts_score_higher_than_unrelated_ones():
    def features(text):
        return search.features(search.build_search_text(text))

    complaint = features("退款还没到账，已经两周了")
    assert search.similarity(complaint, features("退款一直没到账")) > 0.15
    assert search.similarity(complaint, features("安装师傅迟到了三个小时")) == 0
    assert search.similarity(complaint, complaint) == pytest.approx(1.0)
    assert search.similarity(complaint, frozenset()) == 0
    english = features("Refund not received after two weeks")
    assert search.similarity(english, features("The refund has not been received")) > (
        search.similarity(english, features("The installer was three hours late"))
    )
