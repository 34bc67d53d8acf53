"""Duplicate matching: name parts, blocking keys, scoring rules, batch lookups against the DB."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.customers.models import Contact, Customer
from crm.customers.normalize import company_name_key, credit_code_check_char
from crm.dedupe.blocking import keys_sync
from crm.dedupe.keys import (
    blocking_keys,
    initials_of,
    name_parts,
    pinyin_of,
    probe_keys,
    short_of,
)
from crm.dedupe.matching import (
    Candidate,
    Side,
    Signals,
    customer_candidates,
    pair_score,
    rows_candidates,
    side_from_row,
)
from crm.dedupe.models import CustomerKey
from crm.dedupe.regions import region_strip


def code(n: int) -> str:
    first17 = f"91330100{n:09d}"
    return first17 + credit_code_check_char(first17)


def cust(name: str, **kw) -> Customer:
    return Customer.objects.create(name=name, name_key=company_name_key(name), **kw)


def row(name: str = "", **kw) -> dict:
    return {"name": name, "credit_code": "", "phones": [], "emails": [], "industry": "", **kw}


# ------------------------------------------------------------------ pure parts


@pytest.mark.parametrize(
    ("name", "core", "short", "province", "city"),
    [
        ("杭州海康威视数字技术股份有限公司", "海康威视数字技术", "海康威视", "浙江", "杭州"),
        ("浙江省杭州市西湖电子科技有限公司", "西湖电子科技", "西湖", "浙江", "杭州"),
        ("海康威视数字技术(杭州)有限公司", "海康威视数字技术", "海康威视", "浙江", "杭州"),
        ("ＡＣＭＥ Co., Ltd.", "acme", "acme", "", ""),
        ("北京", "北京", "北京", "", ""),
        ("华为技术有限公司(北京分公司)", "华为技术", "华为", "", ""),
    ],
)
def test_name_parts(name, core, short, province, city):
    parts = name_parts(name)
    assert (parts.core, parts.short, parts.province, parts.city) == (core, short, province, city)


def test_branch_kept_but_region_bracket_is_not_a_branch():
    assert name_parts("华为技术有限公司(北京分公司)").branch == "北京分公司"
    assert name_parts("海康威视(杭州)有限公司").branch == ""


def test_region_strip_keeps_two_characters():
    assert region_strip("北京大学") == ("大学", "北京", "北京")
    assert region_strip("上海")[0] == "上海"


def test_short_name_strips_trade_words_repeatedly():
    assert short_of("西湖网络信息技术") == "西湖"
    assert short_of("科技") == ""  # nothing left that names a company
    assert short_of("字节跳动") == "字节跳动"


def test_pinyin_is_toneless_and_meets_traditional_characters():
    assert pinyin_of("海康威视") == "haikangweishi"
    assert pinyin_of("華為") == pinyin_of("华为") == "huawei"
    assert initials_of("海康威视") == "hkws"
    assert pinyin_of("abc123") == "abc123"


def test_blocking_keys_file_city_and_province():
    parts = name_parts("杭州西湖电子科技有限公司")
    assert blocking_keys(parts) == ["p:浙江|xihudianzikeji", "c:杭州|西湖", "r:浙江|西湖"]
    # no region in the name: the customer's fields
    parts = name_parts("西湖电子科技有限公司")
    assert blocking_keys(parts, province="浙江", city="") == [
        "p:浙江|xihudianzikeji",
        "q:浙江|西湖",
    ]
    assert blocking_keys(parts) == ["p:*|xihudianzikeji"]


def test_probe_keys_read_city_or_province_blocks_and_province_only_customers():
    with_city = name_parts("杭州西湖电子科技")
    assert probe_keys(with_city) == [
        "p:浙江|xihudianzikeji",
        "p:*|xihudianzikeji",
        "c:杭州|西湖",
        "q:浙江|西湖",
    ]
    no_city = name_parts("西湖电子科技")
    assert probe_keys(no_city, province="浙江") == [
        "p:浙江|xihudianzikeji",
        "p:*|xihudianzikeji",
        "r:浙江|西湖",
        "q:浙江|西湖",
    ]
    # nothing known about the place: every province's block of the same core
    assert len([k for k in probe_keys(no_city) if k.startswith("p:")]) == 1 + 34


# ------------------------------------------------------------------ scoring rules


def score(a: dict, b: dict, signals: Signals | None = None):
    return pair_score(side_from_row(a), side_from_row(b), signals or Signals())


def test_suffix_only_difference_is_a_strong_candidate():
    s, reasons, exact, auto = score(row("杭州西湖科技有限公司"), row("杭州西湖科技"))
    assert s == 95
    assert "名称相同" in reasons[0]
    assert not exact
    assert auto


def test_region_prefix_difference():
    s, reasons, _exact, auto = score(row("杭州西湖科技有限公司"), row("西湖科技有限公司"))
    assert s == 90
    assert "地区前缀" in reasons[0]
    assert not auto  # name keys differ: a person decides


def test_homophone_meets_by_pinyin():
    s, reasons, _e, _a = score(row("杭州海康威视科技"), row("杭州海康维视科技"))
    assert s == 85
    assert "拼音" in reasons[0]


def test_same_short_name_other_trade_is_a_weak_candidate():
    s, reasons, _e, auto = score(row("杭州西湖电子科技"), row("杭州西湖信息技术"))
    assert 60 <= s < 85
    assert any("简称相同" in r for r in reasons)
    assert not auto


def test_short_name_abbreviated():
    s, reasons, _e, _a = score(row("杭州西湖电子科技"), row("杭州西湖"))
    assert s >= 82
    assert "更完整" in reasons[0]


def test_same_short_name_different_credit_codes_never_auto():
    a = row("杭州西湖科技有限公司", credit_code=code(1))
    b = row("杭州西湖科技", credit_code=code(2))
    s, reasons, exact, auto = score(a, b)
    assert s <= 60
    assert "统一社会信用代码不同" in reasons
    assert not exact
    assert not auto


def test_same_short_name_different_industries_never_auto():
    a = row("杭州西湖科技有限公司", industry="电子")
    b = row("杭州西湖科技", industry="化工")
    s, reasons, _e, auto = score(a, b)
    assert s == 80
    assert "行业不同" in reasons
    assert not auto


def test_different_provinces_or_cities_lower_the_score():
    s, reasons, _e, auto = score(row("西湖科技", province="浙江"), row("西湖科技", province="广东"))
    assert s == 65
    assert "省份不同" in reasons
    assert not auto
    # same core, two cities of one province: a weak candidate
    s, reasons, _e, auto = score(row("杭州西湖科技"), row("宁波西湖科技"))
    assert s == 70
    assert "城市不同" in reasons
    assert not auto


def test_credit_code_is_exact():
    a = row("杭州西湖科技", credit_code=code(1))
    b = row("完全不同的名字", credit_code=code(1))
    s, reasons, exact, auto = score(a, b, Signals(credit=True))
    assert (s, exact, auto) == (100, True, True)
    assert reasons[0] == "统一社会信用代码相同"


def test_phone_is_exact_and_auto_only_with_a_similar_name():
    signals = Signals(phones={"+8613812345678"})
    s, reasons, exact, auto = score(row("西湖科技"), row("西湖科技有限公司"), signals)
    assert (s, exact, auto) == (95, True, True)
    s, reasons, exact, auto = score(row("西湖科技"), row("东方电缆"), signals)
    assert (s, exact, auto) == (75, True, False)
    assert reasons == ["联系人电话相同：+8613812345678", "名称差异较大"]


def test_unrelated_names_score_low():
    s, _r, _e, _a = score(row("杭州西湖科技"), row("深圳腾讯计算机系统"))
    assert s < 50


def test_scoring_is_symmetric():
    a = row("杭州西湖电子科技", industry="电子", province="浙江")
    b = row("西湖电子", industry="", province="")
    assert score(a, b)[0] == score(b, a)[0]


def test_side_from_row_normalises_phones_emails_province():
    side = side_from_row(
        row(
            "x",
            phones=["138 1234 5678", "+8613912345678", "不是号码"],
            emails=[" Wang@Example.CN ", "nope"],
            province="浙江省",
        )
    )
    assert side.phones == {"+8613812345678", "+8613912345678"}
    assert side.emails == {"wang@example.cn"}
    assert side.province == "浙江"
    assert isinstance(side, Side)


# ------------------------------------------------------------------ against the database


@pytest.mark.django_db
def test_customer_candidates_finds_each_kind():
    hz = cust("杭州西湖科技有限公司", credit_code=code(1), industry="电子", province="浙江")
    other = cust("宁波东方电缆股份有限公司", province="浙江")
    Contact.objects.create(customer=other, name="王", mobile="+8613812345678", email="w@dfdl.cn")
    homophone = cust("杭州海康维视科技有限公司", province="浙江")
    deleted = cust("杭州西湖科技", province="浙江")
    Customer.objects.filter(pk=deleted.pk).update(deleted_at="2024-01-01T00:00:00Z")

    rows = [
        row("杭州西湖科技"),  # name key
        row("随便", credit_code=code(1)),  # credit code
        row("另一个名字", phones=["13812345678"]),  # phone (raw)
        row("东方电缆", emails=["W@dfdl.cn"]),  # email + name
        row("杭州海康威视科技"),  # pinyin
        row("深圳腾讯计算机系统"),  # nothing
        row(""),  # empty row
    ]
    result = customer_candidates(rows)
    assert [c.customer_id for c in result[0]] == [hz.pk]  # the deleted one is not offered
    assert result[0][0].score == 95
    # the credit code is the legal identity: a renamed company still merges
    assert result[1][0] == Candidate(
        hz.pk, 100.0, ["统一社会信用代码相同", "名称差异较大"], True, True
    )
    assert result[2][0].customer_id == other.pk and result[2][0].exact
    assert result[3][0].customer_id == other.pk and result[3][0].score >= 75
    assert result[4][0].customer_id == homophone.pk
    assert result[5] == []
    assert result[6] == []


@pytest.mark.django_db
def test_candidates_see_customers_created_and_renamed_after_the_first_sync():
    keys_sync()
    a = cust("杭州西湖电子科技有限公司", province="浙江")
    assert [
        c.customer_id for c in customer_candidates([row("西湖电子科技", province="浙江")])[0]
    ] == [a.pk]
    # rename through the update path the services use (auto_now bumps updated_at)
    a.name = "杭州东方明珠信息技术有限公司"
    a.name_key = company_name_key(a.name)
    a.save()
    assert customer_candidates([row("西湖电子科技", province="浙江")])[0] == []
    found = customer_candidates([row("东方明珠信息", province="浙江")])[0]
    assert [c.customer_id for c in found] == [a.pk]
    assert set(CustomerKey.objects.filter(customer=a).values_list("key", flat=True)) == {
        "p:浙江|dongfangmingzhuxinxijishu",
        "c:杭州|东方明珠",
        "r:浙江|东方明珠",
    }


@pytest.mark.django_db
def test_limit_and_order():
    best = cust("杭州西湖光电有限公司", industry="电子").pk
    for trade in ("电子科技", "信息技术", "网络", "软件", "数据", "智能装备"):
        cust(f"杭州西湖{trade}有限公司")
    found = customer_candidates([row("杭州西湖光电科技", industry="电子")], limit=3)[0]
    assert len(found) == 3
    assert best in [c.customer_id for c in found]
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert all(not c.auto_merge_ok for c in found)


@pytest.mark.django_db
def test_a_strong_candidate_skips_the_weak_short_name_blocks():
    same = cust("杭州西湖科技有限公司").pk
    cust("杭州西湖信息技术有限公司")
    found = customer_candidates([row("杭州西湖科技")])[0]
    assert [c.customer_id for c in found] == [same]


@pytest.mark.django_db
def test_batch_uses_a_fixed_number_of_queries():
    for i in range(30):
        cust(f"杭州品牌{i:02d}科技有限公司", credit_code=code(i))
    keys_sync()
    rows = [
        row(f"杭州品牌{i:02d}科技", credit_code=code(i), phones=["13812345678"]) for i in range(300)
    ]
    with CaptureQueriesContext(connection) as ctx:
        result = customer_candidates(rows)
    assert len(result) == 300
    assert result[0][0].exact
    assert len(ctx.captured_queries) < 20


def test_rows_candidates_within_a_file():
    rows = [
        row("杭州西湖科技有限公司", phones=["13812345678"]),
        row("深圳腾讯计算机系统"),
        row("杭州西湖科技"),
        row("另一家", phones=["+8613812345678"]),
        row("西湖科技", province="浙江"),
    ]
    result = rows_candidates(rows)
    assert result[0] == [] and result[1] == []
    assert [c.index for c in result[2]] == [0]
    assert result[3][0].index == 0 and result[3][0].exact
    assert 0 in [c.index for c in result[4]]
