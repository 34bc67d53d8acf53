"""The cleaning rules on real messy samples (the issue's, the articles', common legacy data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.core.errors import ValidationFailed
from crm.imports.cleaning import (
    company_name_tidy,
    date_parse,
    emails_clean,
    level_match,
    person_name_clean,
    phones_clean,
    regions_clean,
)
from crm.imports.regions import region_clean

ON = {"rules": {}, "company_suffix": "keep"}
TESTDATA = Path("/work/shared/testdata")

# ---------------------------------------------------------------- person names


@pytest.mark.parametrize(
    ("raw", "name", "title", "salutation"),
    [
        ("王先生", "王", "", "先生"),
        ("张总", "张", "总", ""),
        ("李女士", "李", "", "女士"),
        ("陈小姐", "陈", "", "小姐"),
        ("王建国先生", "王建国", "", "先生"),
        ("李建国经理", "李建国", "经理", ""),
        ("周总监", "周", "总监", ""),
        ("赵老师", "赵", "老师", ""),
        ("陈工", "陈", "工", ""),
        ("老李", "李", "", "老李"),
        ("小王", "王", "", "小王"),
        ("刘姐", "刘", "", "刘姐"),
        ("欧阳总", "欧阳", "总", ""),
        ("张三(采购部)", "张三", "采购部", ""),
        ("张三（采购部）", "张三", "采购部", ""),
        ("Mr. John Smith", "John Smith", "", "Mr."),
        # real names that only look like titles stay names
        ("李立工", "李立工", "", ""),
        ("张开", "张开", "", ""),
        ("欧阳娜娜", "欧阳娜娜", "", ""),
        ("阿布都·热合曼", "阿布都·热合曼", "", ""),
        ("王 建 国", "王 建 国", "", ""),
    ],
)
def test_person_names(raw, name, title, salutation):
    p = person_name_clean(raw, ON)
    assert (p.name, p.title, p.salutation, p.review) == (name, title, salutation, "")


@pytest.mark.parametrize(
    "raw",
    [
        "那个做建材的老李",
        "王某",
        "他朋友介绍的张总",
        "13812341234",
        "张三丰大侠客",
        "卖钢材的老周头",
    ],
)
def test_descriptions_are_flagged_not_accepted(raw):
    p = person_name_clean(raw, ON)
    assert p.review and raw[:10] in p.review


def test_surname_only_is_reported():
    p = person_name_clean("王先生", ON)
    assert any("只有姓氏" in m for m in p.messages)
    assert any("先生" in m for m in p.messages)


@pytest.mark.parametrize("raw", ["无", "不详", "-", "N/A", "  "])
def test_placeholders_are_empty(raw):
    assert person_name_clean(raw, ON).name == ""


def test_rule_off_keeps_the_name():
    p = person_name_clean("王先生", {"rules": {"person_names": False}})
    assert p.name == "王先生" and not p.review


def test_extra_titles():
    assert person_name_clean("李会计", ON).name == "李"
    assert person_name_clean("李主播", ON, extra_titles=("主播",)).name == "李"


# ---------------------------------------------------------------- company names


@pytest.mark.parametrize(
    ("raw", "name", "branch"),
    [
        ("杭州 海康威视 数字技术 股份有限公司", "杭州海康威视数字技术股份有限公司", ""),
        ("ＡＢＣ科技有限公司", "ABC科技有限公司", ""),
        ("阿里巴巴（中国）有限公司", "阿里巴巴(中国)有限公司", ""),
        ("阿里巴巴【中国】有限公司", "阿里巴巴(中国)有限公司", ""),
        ("华为技术有限公司（北京分公司）", "华为技术有限公司(北京分公司)", "北京分公司"),
        ("华为技术有限公司北京分公司", "华为技术有限公司(北京分公司)", "北京分公司"),
        ("招商银行股份有限公司 （深圳分行）", "招商银行股份有限公司(深圳分行)", "深圳分行"),
        ("Acme  Co., Ltd.", "Acme Co., Ltd.", ""),
    ],
)
def test_company_names(raw, name, branch):
    c = company_name_tidy(raw, ON)
    assert (c.name, c.branch) == (name, branch)
    if name != raw:
        assert c.messages


def test_company_suffix_policy():
    assert (
        company_name_tidy("杭州某某有限责任公司", {"company_suffix": "youxian"}).name
        == "杭州某某有限公司"
    )
    assert (
        company_name_tidy("杭州某某有限公司", {"company_suffix": "youxian_zeren"}).name
        == "杭州某某有限责任公司"
    )
    assert (
        company_name_tidy("杭州某某股份有限公司", {"company_suffix": "youxian_zeren"}).name
        == "杭州某某股份有限公司"
    )
    assert company_name_tidy("杭州某某有限责任公司", ON).name == "杭州某某有限责任公司"
    # the branch keeps its own name; the policy applies to the company
    c = company_name_tidy("某某有限责任公司（上海分公司）", {"company_suffix": "youxian"})
    assert c.name == "某某有限公司(上海分公司)"


def test_company_name_required():
    with pytest.raises(ValidationFailed):
        company_name_tidy("   ", ON)


# ---------------------------------------------------------------- phones


def test_phone_with_wechat_note():
    p = phones_clean([("手机", "13812341234(微信同号)")], ON)
    assert p.mobile == "+8613812341234"
    assert p.mobile_raw == "13812341234"
    assert p.wechat == "13812341234"
    assert p.notes == ["手机：微信同号"]


def test_masked_number_is_reported_not_imported():
    p = phones_clean([("手机", "138xxxx1234(微信同号)")], ON)
    assert p.mobile == "" and p.wechat == ""
    assert p.invalid == ["138xxxx1234"]
    assert any("138xxxx1234" in m for m in p.messages)


def test_no_number_only_a_note():
    p = phones_clean([("电话", "电话不通,建议邮件联系")], ON)
    assert (p.mobile, p.phone) == ("", "")
    assert p.notes == ["电话不通,建议邮件联系"]
    assert any("没有号码" in m for m in p.messages)


def test_several_numbers_in_one_cell():
    p = phones_clean([("电话", "0571-88886666转8001 / 13912341234、13712341234")], ON)
    assert p.phone == "+8657188886666;ext=8001"
    assert p.mobile == "+8613912341234"
    assert p.others == ["+8613712341234"]
    assert any("其他电话" in n for n in p.notes)


@pytest.mark.parametrize(
    ("raw", "mobile", "phone"),
    [
        ("138 1234 5678", "+8613812345678", ""),
        ("138-1234-5678", "+8613812345678", ""),
        ("+86 138 1234 5678", "+8613812345678", ""),
        ("0086-13812345678", "+8613812345678", ""),
        ("(0755)86001234", "", "+8675586001234"),
        ("021-6288 8888", "", "+862162888888"),
        ("400-800-8888", "", "+864008008888"),
        ("手机：13812345678 座机：010-12345678", "+8613812345678", "+861012345678"),
        ("１３８１２３４５６７８", "+8613812345678", ""),
    ],
)
def test_phone_formats(raw, mobile, phone):
    p = phones_clean([("电话", raw)], ON)
    assert (p.mobile, p.phone, p.invalid) == (mobile, phone, [])


@pytest.mark.parametrize("raw", ["1381234", "12345", "138123456789999"])
def test_invalid_numbers(raw):
    p = phones_clean([("手机", raw)], ON)
    assert p.mobile == "" and p.invalid


def test_wechat_id_in_phone_cell():
    p = phones_clean([("手机", "13812345678 微信：zhang_san88")], ON)
    assert p.mobile == "+8613812345678" and p.wechat == "zhang_san88"


# ---------------------------------------------------------------- regions


@pytest.mark.parametrize(
    ("province", "city", "address", "want"),
    [
        ("北京市", "", "", ("北京", "")),
        ("广东省深圳市", "", "", ("广东", "深圳")),
        ("广东省", "深圳市", "", ("广东", "深圳")),
        ("深圳", "", "", ("广东", "深圳")),
        ("", "深圳市", "", ("广东", "深圳")),
        ("内蒙古自治区", "呼和浩特市", "", ("内蒙古", "呼和浩特")),
        ("广西壮族自治区", "南宁", "", ("广西", "南宁")),
        ("新疆维吾尔自治区", "伊犁哈萨克自治州", "", ("新疆", "伊犁")),
        ("", "延边朝鲜族自治州", "", ("吉林", "延边")),
        ("吉林省", "吉林市", "", ("吉林", "吉林")),
        ("青海", "海南藏族自治州", "", ("青海", "海南")),
        ("江苏", "昆山市", "", ("江苏", "昆山")),
        ("", "", "浙江省杭州市西湖区文三路 90 号", ("浙江", "杭州")),
        ("", "", "上海市浦东新区张江路", ("上海", "上海")),
        ("香港", "", "", ("香港", "")),
        ("浙江", "杭州", "", ("浙江", "杭州")),
    ],
)
def test_regions(province, city, address, want):
    r = regions_clean(province, city, address, ON)
    assert (r.province, r.city) == want


def test_region_problems_are_reported():
    assert region_clean("火星", "").messages
    assert any("不属于" in m for m in region_clean("浙江", "深圳").messages)
    assert region_clean("浙江", "杭州").messages == []


# ---------------------------------------------------------------- emails


def test_emails():
    e = emails_clean(["ZHANG@Example.COM; li@example.com", "bad@@mail"], ON)
    assert e.email == "zhang@example.com"
    assert e.others == ["li@example.com"]
    assert e.invalid == ["bad@@mail"]
    assert any("bad@@mail" in m for m in e.messages)


def _validator_cases() -> list[tuple[str, bool]]:
    """(address, valid) from python-email-validator's own test cases."""
    cases = json.loads((TESTDATA / "email_validator_cases.json").read_text(encoding="utf-8"))
    out = []
    for case in cases:
        address = case.get("input")
        if (
            isinstance(address, str)
            and address.strip()
            and not any(c in address for c in ";,，；")
            and not any(c.isspace() for c in address)
        ):
            out.append((address, case.get("test", "").startswith("test_email_valid")))
    return out


def test_email_validator_cases():
    """Every case is either imported or reported (never both, never a crash); the valid ones
    of the validator's own tests are imported."""
    for address, valid in _validator_cases():
        try:
            address.encode("utf-8")
        except UnicodeEncodeError:
            continue  # a lone surrogate: no file can carry it
        e = emails_clean([address], ON)
        assert bool(e.email) != bool(e.invalid), address
        if valid and address.isascii() and "@" in address and '"' not in address:
            assert e.email, address


# ---------------------------------------------------------------- small values


@pytest.mark.parametrize(
    "raw",
    [
        "2024-01-02",
        "2024/1/2",
        "2024年1月2日",
        "20240102",
        "2024.01.02",
        "45293",
        "2024-01-02 10:30",
    ],
)
def test_dates(raw):
    import datetime as dt

    assert date_parse(raw) == dt.date(2024, 1, 2)


def test_levels():
    levels = ["A", "B", "C"]
    assert level_match("a", levels) == "A"
    assert level_match("B级", levels) == "B"
    assert level_match("C类客户", levels) == "C"
    assert level_match("VIP", levels) is None
    assert level_match("", levels) == ""
