"""Search keys: names, pinyin, phones, emails and codes as index tokens; queries as
FTS5 / tsquery expressions. Pure functions, plus naughty queries against both databases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.search.keys import (
    SearchDoc,
    code_tokens,
    email_tokens,
    fts5_expression,
    normalize,
    phone_digits,
    phone_tokens,
    query_terms,
    text_tokens,
    tsquery_expression,
)

BLNS = json.loads(Path("/work/shared/testdata/blns.json").read_text(encoding="utf-8"))
SAFE_TOKEN = re.compile(r"^[a-z0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")


def _matches(doc_tokens: str, q: str) -> bool:
    """What the index does with a query: every group has an alternative among the tokens."""
    tokens = doc_tokens.split()
    for term in query_terms(q):
        for group in term.groups:
            if not any(
                any(t.startswith(tok) if prefix else t == tok for t in tokens)
                for tok, prefix in group
            ):
                return False
    return bool(query_terms(q))


# ------------------------------------------------------------------ names and pinyin


def test_person_name_pinyin_and_initials():
    tokens = text_tokens("王建国")
    assert "wangjianguo" in tokens
    assert "wjg" in tokens
    assert "jianguo" in tokens  # the given name alone
    assert "jg" in tokens
    assert {"王", "建", "国", "王建", "建国"} <= set(tokens)


def test_polyphonic_place_name():
    # 重 is zhong in most words, chong in 重庆: the phrase dictionary must win.
    tokens = text_tokens("重庆长安汽车股份有限公司")
    assert any(t.startswith("chongqing") for t in tokens)
    assert any(t.startswith("cqca") for t in tokens)
    assert not any(t.startswith("zhongqing") for t in tokens)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("王建国", "wangjianguo"),
        ("王建国", "wjg"),
        ("王建国", "jianguo"),
        ("王建国", "wangj"),
        ("王建国", "建国"),
        ("王建国", "王"),
        ("杭州海康威视数字技术股份有限公司", "海康威视"),
        ("杭州海康威视数字技术股份有限公司", "hkws"),
        ("杭州海康威视数字技术股份有限公司", "haikang"),
        ("杭州海康威视数字技术股份有限公司", "海康 数字"),
        ("重庆长安汽车股份有限公司", "chongqing"),
        ("重庆长安汽车股份有限公司", "changan"),
        ("ABC科技有限公司", "abc"),
        ("ABC科技有限公司", "ＡＢＣ"),
        ("ABC科技有限公司", "abc 科技"),
    ],
)
def test_name_queries_match(name, query):
    assert _matches(SearchDoc(title=name, names=[name]).tokens(), query)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("王建国", "wjh"),
        ("王建国", "建华"),
        ("王建国", "lijianguo"),
        ("杭州海康威视数字技术股份有限公司", "海威"),  # not neighbours
        ("ABC科技有限公司", "abd"),
    ],
)
def test_name_queries_do_not_match(name, query):
    assert not _matches(SearchDoc(title=name, names=[name]).tokens(), query)


def test_cjk_bigrams():
    tokens = text_tokens("华为技术")
    assert {"华为", "为技", "技术"} <= set(tokens)
    assert "华技" not in tokens
    terms = query_terms("为技术")
    assert [tok for group in terms[0].groups for tok, _p in group] == ["为技", "技术"]


def test_full_width_and_case_are_normalised():
    assert normalize("ＡＢＣ　Ｄｅｆ") == "abc def"
    assert text_tokens("ＡＢＣ") == text_tokens("abc")


def test_long_names_keep_the_index_small():
    name = "中国石油天然气股份有限公司" * 3
    tokens = text_tokens(name)
    assert max(len(t) for t in tokens) <= 8 * 6 + 1  # PINYIN_SPAN syllables of ≤6 letters
    assert len(tokens) < 400


# ------------------------------------------------------------------ phones, emails, codes


def test_phone_suffix_tokens():
    tokens = phone_tokens("+8613812345678")
    assert tokens[0] == "13812345678"
    assert {f"p{'13812345678'[-n:]}" for n in range(4, 12)} <= set(tokens)
    assert "p678" not in tokens  # fewer than 4 digits is not a phone search


def test_landline_and_extension_digits():
    assert phone_digits("+861012345678") == "01012345678"
    assert phone_digits("+8613812345678") == "13812345678"
    assert phone_digits("+861012345678;ext=123") == "01012345678"
    tokens = phone_tokens("+861012345678;ext=123")
    assert "p5678" in tokens  # the last digits of the number, not of the extension
    assert "p8123" not in tokens
    assert phone_digits("+86 138-1234-5678") == "13812345678"
    assert phone_digits("0086 138 1234 5678") == "13812345678"
    assert phone_tokens("12") == []


@pytest.mark.parametrize(
    ("phone", "query"),
    [
        ("+8613812345678", "5678"),
        ("+8613812345678", "12345678"),
        ("+8613812345678", "13812345678"),
        ("+8613812345678", "1381234"),  # a prefix
        ("+861012345678", "01012345678"),
        ("+861012345678;ext=123", "5678"),
    ],
)
def test_phone_queries_match(phone, query):
    assert _matches(SearchDoc(title="x", phones=[phone]).tokens(), query)


def test_phone_queries_do_not_match_the_middle():
    tokens = SearchDoc(title="x", phones=["+8613812345678"]).tokens()
    assert not _matches(tokens, "2345")  # neither a suffix nor a prefix
    assert not _matches(tokens, "5679")


def test_email_tokens():
    tokens = email_tokens("Wang.JG@Hik-Vision.com")
    assert tokens[0] == "ewangjghikvisioncom"
    assert "wang" in tokens
    assert email_tokens("not an email") == []
    doc = SearchDoc(title="x", emails=["wang.jg@hik-vision.com"]).tokens()
    assert _matches(doc, "wang.jg@hik-vision.com")
    assert _matches(doc, "wang.jg@hik")
    assert _matches(doc, "wang")
    assert not _matches(doc, "li@hik-vision.com")


def test_credit_code_tokens():
    assert code_tokens("91350100M000100Y43") == ["91350100m000100y43"]
    doc = SearchDoc(title="x", codes=["91350100M000100Y43"]).tokens()
    assert _matches(doc, "91350100M000100Y43")
    assert _matches(doc, "91350100m000")
    assert code_tokens("") == []


def test_doc_tokens_are_unique_and_safe():
    doc = SearchDoc(
        title="王建国",
        names=["王建国", "王建国"],
        phones=["+8613812345678"],
        emails=["a.b@c.com"],
        codes=["91350100M000100Y43"],
    )
    tokens = doc.tokens().split()
    assert len(tokens) == len(set(tokens))
    assert all(SAFE_TOKEN.match(t) for t in tokens)


# ------------------------------------------------------------------ query expressions


def test_query_terms_kinds():
    (term,) = query_terms("5678")
    assert term.groups == ((("p5678", False), ("5678", True)),)
    (term,) = query_terms("12")
    assert term.groups == ((("12", True),),)
    (term,) = query_terms("wjg")
    assert term.groups == ((("wjg", True),),)
    (term,) = query_terms("a.b@c.com")
    assert term.groups == ((("eabccom", True),),)
    (term,) = query_terms("华")
    assert term.groups == ((("华", False),),)
    assert query_terms("") == []
    assert query_terms("   ") == []
    assert query_terms("*") == []
    assert query_terms("@") == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(20)))) == 8


def test_fts5_and_tsquery_expressions():
    terms = query_terms("海康威视 wjg 5678")
    assert fts5_expression(terms) == (
        '"海康" AND "康威" AND "威视" AND "wjg"* AND ("p5678" OR "5678"*)'
    )
    assert tsquery_expression(terms) == "海康 & 康威 & 威视 & wjg:* & (p5678 | 5678:*)"


@given(st.text(max_size=60))
def test_expressions_only_contain_safe_tokens(q):
    terms = query_terms(q)
    for term in terms:
        for group in term.groups:
            for tok, _prefix in group:
                assert tok
                assert '"' not in tok and "'" not in tok
                assert not re.search(r"[\s&|!():*\\]", tok)


@pytest.mark.parametrize("q", BLNS, ids=lambda s: ascii(s)[:30])
def test_naughty_strings_make_safe_expressions(q):
    terms = query_terms(q)
    fts = fts5_expression(terms)
    tsq = tsquery_expression(terms)
    for term in terms:
        for group in term.groups:
            for tok, _prefix in group:
                assert '"' not in tok
                assert not re.search(r"[\s&|!():*\\']", tok)
    assert (fts == "") == (tsq == "") == (terms == [])


# ------------------------------------------------------------------ against the database

# A few hundred naughty strings, each a real full-text query: sample to keep the suite fast
# (every string is checked without the database above).
DB_SAMPLE = [*BLNS[::3], "\u0661\u0662\u0663\u0664", "²³⁴⁵", "᧚᧛᧜᧝", "p1234", "a:*", "!x", "'&'"]


@pytest.mark.django_db
def test_naughty_queries_never_raise_in_the_database(org):
    from crm.customers.services import customer_create
    from crm.search.selectors import search

    customer_create(
        actor=org.zhang_wei,
        data={"name": "上海测试科技有限公司"},
        contacts=[{"name": "王建国", "mobile": "13812345678", "email": "wjg@example.com"}],
    )
    for q in DB_SAMPLE:
        hits = search(actor=org.zhang_wei, q=q)
        assert isinstance(hits, list), q
    assert search(actor=org.zhang_wei, q="wjg")
